using System.Globalization;
using System.Text.Json;
using CsvHelper;
using PerfLab.Core.Analysis;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Results;
using PerfLab.Core.Suites;
using PerfLab.Results.Schema;

namespace PerfLab.Results;

/// <summary>
/// The one writer of a run folder, results/runs/&lt;UTC timestamp&gt;-&lt;suite&gt;/, written as the run goes: samples are
/// appended and flushed as they come, the manifest and summaries are rewritten atomically after every cell, so a crash
/// or Ctrl-C leaves a valid folder with everything finished so far. A folder is never reused or overwritten.
/// </summary>
public sealed class RunFolderWriter : IDisposable
{
    private readonly FileStream _samplesFile;
    private readonly CsvWriter _samples;
    /// <summary>Held while this writer lives: a second writer (a resume while the run still runs) is refused, a dead one's lock is gone.</summary>
    private readonly FileStream _lock;
    private readonly List<CellResult> _launches = [];
    /// <summary>Per cell, per metric, each ok launch's values in launch order.</summary>
    private readonly Dictionary<string, Dictionary<string, List<double[]>>> _values = new();
    private readonly Dictionary<string, CsvWriter> _capacity = new();
    private CsvWriter? _micro;
    private FileStream? _microFile;
    private readonly List<FileStream> _capacityFiles = [];
    private RunManifest _manifest;
    private readonly Suite _suite;
    private readonly int _repetitions;

    public string Path { get; }
    public string RunId { get; }

    /// <param name="lockStream">the folder's lock, already held: nothing in the folder is touched before it is</param>
    private RunFolderWriter(string path, string runId, Suite suite, int repetitions, RunManifest manifest, FileStream lockStream)
    {
        Path = path;
        RunId = runId;
        _suite = suite;
        _repetitions = repetitions;
        _lock = lockStream;
        try
        {
            (_samplesFile, _samples) = OpenAppending<SampleRow>(System.IO.Path.Combine(path, RunFiles.Samples));
        }
        catch
        {
            _lock.Dispose();
            throw;
        }
        _manifest = manifest;
        WriteManifest();
    }

    private static FileStream Lock(string folder)
    {
        // Read access is enough for the lock (.NET takes flock(LOCK_EX) for FileShare.None), and it does not fail on a
        // read-only disk, whose own error then comes from the first real write, named.
        try { return new FileStream(System.IO.Path.Combine(folder, RunFiles.Lock), FileMode.OpenOrCreate, FileAccess.Read, FileShare.None); }
        catch (IOException e) when (e.HResult == unchecked((int)0x80070020) || e.Message.Contains("being used by another process", StringComparison.Ordinal))
        {
            throw new ResultsFormatException($"{folder}: another perflab process is writing this run (it holds {RunFiles.Lock}); wait for it or stop it first");
        }
    }

    /// <summary>A CSV opened for appending, with its header written when the file is new or empty (a resumed run's files go on).</summary>
    private static (FileStream, CsvWriter) OpenAppending<T>(string file) where T : class
    {
        var stream = new FileStream(file, FileMode.Append, FileAccess.Write, FileShare.Read);
        var w = CsvWriter.Create(stream, new CsvWriterOptions { FormatProvider = CultureInfo.InvariantCulture }, leaveOpen: true);
        if (stream.Length == 0)
        {
            w.WriteHeader<T>();
            w.Flush();
        }
        return (stream, w);
    }

    /// <summary>Creates a new folder under <paramref name="runsDir"/>; if the name is taken, a suffix is added, never reused.</summary>
    public static RunFolderWriter Create(string runsDir, Suite suite, HostEnvironment? host, IReadOnlyDictionary<string, string> packages,
        IReadOnlyList<string>? skippedUpFront = null, DateTime? nowUtc = null, int? repetitions = null, ShardRecord? shard = null,
        IReadOnlyList<ShardRecord>? mergedFrom = null, IReadOnlyList<string>? crossHostBaselines = null)
    {
        Directory.CreateDirectory(runsDir);
        var baseId = $"{nowUtc ?? DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}-{suite.Name}" + (shard is { } sh ? $"-shard{sh.Index}of{sh.Count}" : "")
                     + (mergedFrom is { Count: > 0 } ? "-merged" : "");
        for (var i = 1; ; i++)
        {
            var id = i == 1 ? baseId : $"{baseId}-{i}";
            var path = System.IO.Path.Combine(runsDir, id);
            try
            {
                // CreateDirectory succeeds on an existing folder, so claim the name with a marker file instead.
                Directory.CreateDirectory(path);
                using (new FileStream(System.IO.Path.Combine(path, ".claimed"), FileMode.CreateNew)) { }
                var launches = repetitions ?? suite.Repetitions;
                var manifest = new RunManifest(RunFiles.SchemaVersion, id, DateTime.UtcNow.ToString("O"), null, false, RunState.Running,
                    new SuiteRecord(suite.Name, suite.SourcePath, suite.Description, suite.Seed, suite.Profile.ToString().ToLowerInvariant(),
                        suite.AgentTimeout.Seconds, suite.Gate, suite.SourceText) { CalibrationProfile = suite.CalibrationProfile, Repetitions = launches },
                    suite.Cells.Select(RequestedCell.Of).ToList(), host, host?.VirtualizationKind, packages, [], skippedUpFront ?? [])
                {
                    Shard = shard, MergedFrom = mergedFrom ?? [], CrossHostBaselines = crossHostBaselines ?? [],
                };
                return new RunFolderWriter(path, id, suite, launches, manifest, Lock(path));
            }
            catch (IOException) when (i < 1000) { }
        }
    }

    private static CsvWriter Csv(string file) => CsvWriter.ToFile(file, new CsvWriterOptions { FormatProvider = CultureInfo.InvariantCulture });

    /// <summary>
    /// Opens a run whose process died or was interrupted, to finish it, under its lock: the launches the manifest recorded are read back
    /// (each kept its result in launch.json), and the rows of the launch that was cut short are moved out of samples.csv,
    /// micro_samples.csv and capacity_samples.csv into abandoned_samples.csv beside them (kept, never judged), so the
    /// launch runs again from its start. The caller decides which launches remain.
    /// </summary>
    public static RunFolderWriter Resume(string folder, Suite suite)
    {
        // The lock first: a second perflab that moved rows out of samples.csv while the first still appends to it would
        // take the running launch's queries away from it. Then the manifest as it is now, under the lock.
        var lockStream = Lock(folder);
        try { return Resume(folder, suite, lockStream); }
        catch
        {
            lockStream.Dispose();
            throw;
        }
    }

    private static RunFolderWriter Resume(string folder, Suite suite, FileStream lockStream)
    {
        var manifest = RunFolderReader.ReadManifest(folder);
        var recorded = manifest.Cells.Select(c => (c.Id, c.Launch)).ToHashSet();
        var results = new List<(CellResult Result, IReadOnlyDictionary<string, double[]>? Values)>();
        foreach (var rec in manifest.Cells)
        {
            var cell = suite.Cells.FirstOrDefault(c => c.Id == rec.Id)
                ?? throw new ResultsFormatException($"{folder}: the manifest records cell {rec.Id}, which its own suite does not expand to");
            var file = System.IO.Path.Combine(RunFiles.LaunchDir(folder, rec.Id, rec.Launch, manifest.Suite.Repetitions), RunFiles.LaunchResult);
            LaunchFile? lf;
            try { lf = File.Exists(file) ? JsonSerializer.Deserialize<LaunchFile>(File.ReadAllText(file), RunFiles.Json) : null; }
            catch (JsonException e) { throw new ResultsFormatException($"{file}: not a launch record ({e.Message}); this run cannot be resumed"); }
            if (lf?.Result is null)
                throw new ResultsFormatException($"{file}: missing; a run written before PerfLab kept each launch's result cannot be resumed, run its suite again");
            results.Add((lf.Result with { Cell = cell, Launch = rec.Launch }, lf.Values));
        }
        MoveAbandoned(System.IO.Path.Combine(folder, RunFiles.Samples), recorded, cellColumn: true, null);
        MoveAbandoned(System.IO.Path.Combine(folder, RunFiles.MicroSamples), recorded, cellColumn: true, null);
        var cellsDir = System.IO.Path.Combine(folder, "cells");
        if (Directory.Exists(cellsDir))
            foreach (var dir in Directory.GetDirectories(cellsDir))
                MoveAbandoned(System.IO.Path.Combine(dir, RunFiles.CapacitySamples), recorded, cellColumn: false, System.IO.Path.GetFileName(dir));

        var resumed = manifest with
        {
            State = RunState.Running, Interrupted = false, EndedUtc = null, InProgress = null,
            ResumedUtc = [.. manifest.ResumedUtc, DateTime.UtcNow.ToString("O")],
        };
        var w = new RunFolderWriter(folder, manifest.RunId, suite, manifest.Suite.Repetitions, resumed, lockStream);
        foreach (var (result, values) in results)
        {
            w._launches.Add(result);
            if (values is null || result.Status != CellStatus.Ok) continue;
            if (!w._values.TryGetValue(result.Cell.Id, out var byMetric)) w._values[result.Cell.Id] = byMetric = new();
            foreach (var (metric, v) in values)
            {
                if (!byMetric.TryGetValue(metric, out var list)) byMetric[metric] = list = [];
                list.Add(v);
            }
        }
        return w;
    }

    /// <summary>
    /// Rewrites a samples file without the rows of launches the manifest never recorded, appending those rows to
    /// abandoned_samples.csv in the same folder (their own header first): a killed launch's queries are kept, apart.
    /// Cell ids are [A-Za-z0-9._-] and the launch a number, so the first fields need no CSV unquoting.
    /// </summary>
    private static void MoveAbandoned(string file, IReadOnlySet<(string, int)> recorded, bool cellColumn, string? cellId)
    {
        if (!File.Exists(file)) return;
        var lines = File.ReadAllLines(file);
        if (lines.Length <= 1) return;
        var header = lines[0].Split(',');
        var launchAt = Array.IndexOf(header, "launch");
        if (launchAt < 0) return;
        var keep = new List<string> { lines[0] };
        var gone = new List<string>();
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split(',', Math.Max(launchAt, cellColumn ? 1 : 0) + 2);
            var cell = cellColumn ? f[0] : cellId!;
            var ok = f.Length > launchAt && int.TryParse(f[launchAt], NumberStyles.Integer, CultureInfo.InvariantCulture, out var launch) && recorded.Contains((cell, launch));
            (ok ? keep : gone).Add(line);
        }
        if (gone.Count == 0) return;
        var abandoned = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(file)!, RunFiles.AbandonedSamples);
        File.AppendAllLines(abandoned, (File.Exists(abandoned) ? [] : new[] { "file," + lines[0] }).Concat(gone.Select(g => System.IO.Path.GetFileName(file) + "," + g)));
        WriteAtomic(file, string.Join('\n', keep) + "\n");
    }

    /// <summary>Appends one launch's raw queries to samples.csv and flushes them to disk, but for those already written while it ran.</summary>
    public void AppendSamples(Cell cell, int launch, IReadOnlyList<QueryRecord> records, IReadOnlySet<long>? alreadyWritten = null)
    {
        lock (_samples)
        {
            var row = new SampleRow { Cell = cell.Id, Launch = launch, Scenario = cell.Scenario.Kind.Name() };
            foreach (var r in records)
            {
                if (alreadyWritten?.Contains(r.Id) == true) continue;
                row.Set(r);
                _samples.WriteRecord(row);
            }
            _samples.Flush();
            // On disk, not only in the page cache, before the launch is recorded as done: a crash of the host then loses
            // at most the launch in progress. One fsync a launch.
            _samplesFile.Flush(flushToDisk: true);
        }
    }

    /// <summary>
    /// Appends the queries of a running launch that completed since the last call (their ids are added to
    /// <paramref name="written"/>) and flushes them: a crash of perflab loses at most the queries since the last call.
    /// </summary>
    public void AppendCompleted(Cell cell, int launch, QueryLog log, HashSet<long> written, ref long lowWater)
    {
        lock (_samples)
        {
            var row = new SampleRow { Cell = cell.Id, Launch = launch, Scenario = cell.Scenario.Kind.Name() };
            var count = log.Count;
            var any = false;
            for (var id = lowWater; id < count; id++)
            {
                if (written.Contains(id) || !log.TryReadCompleted(id, out var r)) continue;
                row.Set(r);
                _samples.WriteRecord(row);
                written.Add(id);
                any = true;
            }
            while (lowWater < count && written.Contains(lowWater)) lowWater++;
            if (any) _samples.Flush();
        }
    }

    /// <summary>Marks a launch as in progress in the manifest, so the reader of a run whose process died can say where it died.</summary>
    public void BeginLaunch(Cell cell, int launch)
    {
        _manifest = _manifest with { InProgress = new LaunchInProgress(cell.Id, launch, DateTime.UtcNow.ToString("O")) };
        WriteManifest();
    }

    /// <summary>Appends one capacity-search probe's raw queries to cells/&lt;cell&gt;/capacity_samples.csv: no probe's data is thrown away.</summary>
    public void AppendCapacitySamples(Cell cell, int launch, int probe, double targetQps, IReadOnlyList<QueryRecord> records)
    {
        if (!_capacity.TryGetValue(cell.Id, out var w))
        {
            var dir = RunFiles.CellDir(Path, cell.Id);
            Directory.CreateDirectory(dir);
            var (file, writer) = OpenAppending<CapacitySampleRow>(System.IO.Path.Combine(dir, RunFiles.CapacitySamples));
            _capacityFiles.Add(file);
            _capacity[cell.Id] = w = writer;
        }
        var row = new CapacitySampleRow { Launch = launch, Probe = probe, TargetQps = targetQps };
        foreach (var r in records)
        {
            row.Set(r);
            w.WriteRecord(row);
        }
        w.Flush();
    }

    /// <summary>Appends a microbenchmark cell's samples to micro_samples.csv and keeps the benchmark's raw output beside them.</summary>
    public void AppendMicroSamples(Cell cell, int launch, string metric, IReadOnlyList<double> values, string rawJson)
    {
        if (_micro is null) (_microFile, _micro) = OpenAppending<MicroSampleRow>(System.IO.Path.Combine(Path, RunFiles.MicroSamples));
        var row = new MicroSampleRow { Cell = cell.Id, Launch = launch, Metric = metric };
        for (var i = 0; i < values.Count; i++)
        {
            row.Index = i;
            row.Value = values[i];
            _micro.WriteRecord(row);
        }
        _micro.Flush();
        _microFile!.Flush(flushToDisk: true);
        var dir = RunFiles.LaunchDir(Path, cell.Id, launch, _repetitions);
        Directory.CreateDirectory(dir);
        if (rawJson.Length > 0) WriteAtomic(System.IO.Path.Combine(dir, "wsbench.json"), rawJson + "\n");
    }

    /// <summary>
    /// Records a finished launch: its MLPerf-style summary (one LoadGen run each), then manifest and summaries rewritten in
    /// place. Its metric values are kept so every cell's combined figures and overheads come from the launches recorded so
    /// far, whatever order they ran in.
    /// </summary>
    public void AddLaunch(CellResult result, string sutName, Dictionary<string, double[]>? values = null)
    {
        _launches.Add(result);
        if (values != null && result.Status == CellStatus.Ok)
        {
            if (!_values.TryGetValue(result.Cell.Id, out var byMetric)) _values[result.Cell.Id] = byMetric = new();
            foreach (var (metric, v) in values)
            {
                if (!byMetric.TryGetValue(metric, out var list)) byMetric[metric] = list = [];
                list.Add(v);
            }
        }
        var dir = RunFiles.LaunchDir(Path, result.Cell.Id, result.Launch, _repetitions);
        Directory.CreateDirectory(dir);
        WriteAtomic(System.IO.Path.Combine(dir, RunFiles.MlperfSummary), MlperfSummary.Format(result, sutName));
        // The launch's own result, so a resumed run combines it with the launches still to come exactly as if it had
        // never stopped. The cell is the suite's and is not repeated.
        WriteAtomic(System.IO.Path.Combine(dir, RunFiles.LaunchResult), JsonSerializer.Serialize(
            new LaunchFile(RunFiles.SchemaVersion, result.Cell.Id, result.Launch, result with { Cell = null! },
                result.Status == CellStatus.Ok ? values : null), RunFiles.Json));
        _manifest = _manifest with { Cells = [.. _manifest.Cells, CellRecord.Of(result)], InProgress = null };
        WriteManifest();
        WriteSummaries();
    }

    private readonly object _auditLock = new();
    private long _auditSeq = -1;
    private string _auditHead = Core.Attestation.AuditLog.Genesis;

    /// <summary>
    /// Appends one event to the run's audit log (attestation, verification, model load, a Realm's lifecycle) and moves the
    /// head. A resumed run continues the chain after checking what is there; a log already broken is not appended to.
    /// </summary>
    public void Audit(string evt, IReadOnlyDictionary<string, string> fields)
    {
        lock (_auditLock)
        {
            var log = System.IO.Path.Combine(Path, RunFiles.Audit);
            if (_auditSeq < 0)
            {
                var lines = File.Exists(log) ? File.ReadAllLines(log) : [];
                var check = Core.Attestation.AuditLog.Verify(lines);
                if (!check.Intact) throw new InvalidDataException($"{log}: {check.Why}; not appending to a broken audit log");
                (_auditSeq, _auditHead) = (lines.Length, check.Head!);
            }
            var (line, hash) = Core.Attestation.AuditLog.Entry(_auditSeq, _auditHead, DateTime.UtcNow, evt, fields);
            using (var f = new FileStream(log, FileMode.Append, FileAccess.Write, FileShare.Read))
            {
                var bytes = System.Text.Encoding.UTF8.GetBytes(line + "\n");
                f.Write(bytes);
                f.Flush(flushToDisk: true);
            }
            (_auditSeq, _auditHead) = (_auditSeq + 1, hash);
            WriteAtomic(System.IO.Path.Combine(Path, RunFiles.AuditHead), hash + "\n");
        }
    }

    public void Finish(bool interrupted)
    {
        _manifest = _manifest with
        {
            EndedUtc = DateTime.UtcNow.ToString("O"), Interrupted = interrupted, State = interrupted ? RunState.Interrupted : RunState.Complete,
        };
        WriteManifest();
        WriteSummaries();
    }

    /// <summary>Every cell recorded so far, its launches combined, with its overheads against its baseline cell.</summary>
    public IReadOnlyList<CellResult> Cells =>
        OverheadAnalysis.Apply(LaunchAggregation.Combine(_launches, _values, _suite.Gate.Confidence), _values, _suite.Gate.Confidence);

    /// <summary>Every launch recorded so far, as it ran.</summary>
    public IReadOnlyList<CellResult> Launches => _launches;

    private void WriteManifest() => WriteAtomic(System.IO.Path.Combine(Path, RunFiles.Manifest), JsonSerializer.Serialize(_manifest, RunFiles.Json));

    private void WriteSummaries()
    {
        var cells = Cells;
        var tmp = System.IO.Path.Combine(Path, RunFiles.SummaryCsv + ".tmp");
        using (var w = Csv(tmp))
        {
            w.WriteHeader<SummaryRow>();
            foreach (var r in SummaryRows.From(cells)) w.WriteRecord(r);
        }
        File.Move(tmp, System.IO.Path.Combine(Path, RunFiles.SummaryCsv), overwrite: true);
        WriteAtomic(System.IO.Path.Combine(Path, RunFiles.SummaryJson),
            JsonSerializer.Serialize(new SummaryDocument(RunFiles.SchemaVersion, RunId, _suite.Name, cells.Select(CellSummary.Of).ToList()), RunFiles.Json));
    }

    /// <summary>Write to a temporary file and rename: readers never see half a file.</summary>
    /// <remarks>
    /// The temporary file is synced to disk before the rename, so a crash leaves the old file or the new one, never an
    /// empty one; if the write fails (a full or read-only disk) the temporary file is removed, not left behind.
    /// </remarks>
    public static void WriteAtomic(string path, string text)
    {
        var tmp = path + ".tmp";
        try
        {
            using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                var bytes = System.Text.Encoding.UTF8.GetBytes(text);
                f.Write(bytes);
                f.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>
    /// Closes the CSV writers. Every row was flushed when it was appended, so a writer that cannot close (the disk filled
    /// or went read-only) loses nothing more, and its error must not replace the one that stopped the run.
    /// </summary>
    public void Dispose()
    {
        foreach (var d in new IDisposable?[] { _samples, _samplesFile, _micro, _microFile }.Concat(_capacity.Values).Concat(_capacityFiles).Append(_lock))
        {
            try { d?.Dispose(); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }
}
