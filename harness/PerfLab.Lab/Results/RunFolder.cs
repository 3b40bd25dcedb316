using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using CsvHelper;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Results;
using PerfLab.Core.Suites;
using PerfLab.Core.Units;
using PerfLab.Lab.Hosts;

namespace PerfLab.Lab.Results;

/// <summary>
/// One run's folder, results/runs/&lt;UTC timestamp&gt;-&lt;suite&gt;/, written as the run goes: samples are appended
/// and flushed per cell, the manifest and summaries are rewritten atomically after every cell, so a crash or
/// Ctrl-C leaves a valid folder with everything finished so far. A folder is never reused or overwritten.
/// </summary>
public sealed class RunFolder : IDisposable
{
    public const int SchemaVersion = 1;
    public const string ManifestFile = "manifest.json", SamplesFile = "samples.csv", SummaryCsv = "summary.csv", SummaryJson = "summary.json",
        MicroSamplesFile = "micro_samples.csv", CapacitySamplesFile = "capacity_samples.csv";

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private readonly CsvWriter _samples;
    private readonly List<CellResult> _cells = [];
    private readonly JsonObject _manifest;
    private readonly Suite _suite;

    public string Path { get; }
    public string RunId { get; }

    private RunFolder(string path, string runId, Suite suite, HostEnvironment host, IReadOnlyList<string> cellsSkippedUpFront)
    {
        Path = path;
        RunId = runId;
        _suite = suite;
        _samples = CsvWriter.ToFile(System.IO.Path.Combine(path, SamplesFile), new CsvWriterOptions { FormatProvider = CultureInfo.InvariantCulture });
        _samples.WriteHeader<SampleRow>();
        _samples.Flush();
        _manifest = new JsonObject
        {
            ["schema"] = SchemaVersion,
            ["run_id"] = runId,
            ["started_utc"] = DateTime.UtcNow.ToString("O"),
            ["ended_utc"] = null,
            ["interrupted"] = false,
            ["state"] = "running",
            ["suite"] = new JsonObject
            {
                ["name"] = suite.Name, ["path"] = suite.SourcePath, ["description"] = suite.Description, ["seed"] = suite.Seed,
                ["profile"] = suite.Profile.ToString().ToLowerInvariant(), ["agent_timeout_s"] = suite.AgentTimeout.Seconds,
                ["gate"] = JsonSerializer.SerializeToNode(suite.Gate, Json), ["source"] = suite.SourceText,
            },
            ["expanded_cells"] = new JsonArray(suite.Cells.Select(c => (JsonNode)Requested(c)).ToArray()),
            ["host"] = JsonSerializer.SerializeToNode(host, Json),
            ["virtualization"] = host.VirtualizationKind,
            ["packages"] = JsonSerializer.SerializeToNode(PackageVersions(), Json),
            ["cells"] = new JsonArray(),
            ["skipped_up_front"] = new JsonArray(cellsSkippedUpFront.Select(s => (JsonNode)JsonValue.Create(s)!).ToArray()),
        };
        WriteManifest();
    }

    /// <summary>Creates a new folder under <paramref name="runsDir"/>; if the name is taken, a suffix is added, never reused.</summary>
    public static RunFolder Create(string runsDir, Suite suite, HostEnvironment host, IReadOnlyList<string>? skippedUpFront = null)
    {
        Directory.CreateDirectory(runsDir);
        var baseId = $"{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}-{suite.Name}";
        for (var i = 1; ; i++)
        {
            var id = i == 1 ? baseId : $"{baseId}-{i}";
            var path = System.IO.Path.Combine(runsDir, id);
            try
            {
                // CreateDirectory succeeds on an existing folder, so claim the name with a marker file instead.
                Directory.CreateDirectory(path);
                using (new FileStream(System.IO.Path.Combine(path, ".claimed"), FileMode.CreateNew)) { }
                return new RunFolder(path, id, suite, host, skippedUpFront ?? []);
            }
            catch (IOException) when (i < 1000) { }
        }
    }

    private static JsonObject Requested(Cell c) => new()
    {
        ["id"] = c.Id, ["workload"] = c.Workload.Name, ["workload_kind"] = c.Workload.Kind,
        ["workload_parameters"] = JsonSerializer.SerializeToNode(c.Workload.Parameters, Json),
        ["scenario"] = c.Scenario.Name, ["scenario_kind"] = c.Scenario.Kind.Name(),
        ["scenario_settings"] = JsonSerializer.SerializeToNode(c.Scenario, Json),
        ["realm"] = JsonSerializer.SerializeToNode(new Dictionary<string, object>
        {
            ["platform"] = c.Realm.Platform.Name(), ["page_size"] = c.Realm.PageSize.ToShort(), ["huge_backing"] = c.Realm.Backing.Name(),
            ["rsi_batch"] = c.Realm.RsiBatch.ToShort(), ["mpam"] = c.Realm.Mpam.ToShort(), ["vcpus"] = c.Realm.Vcpus,
            ["memory"] = c.Realm.Memory.ToShort(), ["pinning"] = c.Realm.Pinning.ToShort(), ["co_tenant"] = c.Realm.CoTenant,
        }, Json),
        ["is_baseline"] = c.IsBaseline, ["baseline_cell"] = c.BaselineId,
    };

    public static Dictionary<string, string> PackageVersions()
    {
        string V(Assembly a) => a.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? a.GetName().Version?.ToString() ?? "?";
        // Named by a type of each, so an assembly not loaded yet is still reported.
        Assembly[] ours = [typeof(Perfolizer.Mathematics.QuantileEstimators.HarrellDavisQuantileEstimator).Assembly, typeof(Pragmastat.Sample).Assembly,
            typeof(YamlDotNet.RepresentationModel.YamlStream).Assembly, typeof(CsvWriter).Assembly, typeof(Spectre.Console.AnsiConsole).Assembly];
        var result = ours.ToDictionary(a => a.GetName().Name!, V);
        if (AppDomain.CurrentDomain.GetAssemblies().FirstOrDefault(a => a.GetName().Name == "System.CommandLine") is { } cl) result[cl.GetName().Name!] = V(cl);
        result["PerfLab"] = V(typeof(RunFolder).Assembly);
        result[".NET"] = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription;
        return result;
    }

    /// <summary>Appends the cell's raw queries to samples.csv and flushes them to disk.</summary>
    public void AppendSamples(Cell cell, IReadOnlyList<QueryRecord> records)
    {
        var row = new SampleRow { Cell = cell.Id, Scenario = cell.Scenario.Kind.Name() };
        foreach (var r in records)
        {
            row.QueryId = r.Id; row.SampleIndex = r.SampleIndex; row.ScheduledNs = r.ScheduledNs; row.IssuedNs = r.IssuedNs;
            row.FirstTokenNs = r.FirstTokenNs; row.CompletedNs = r.CompletedNs; row.Tokens = r.Tokens; row.InsideNs = r.InsideNs;
            _samples.WriteRecord(row);
        }
        _samples.Flush();
    }

    private CsvWriter? _micro;
    private readonly Dictionary<string, CsvWriter> _capacity = new();

    /// <summary>Appends one capacity-search probe's raw queries to cells/&lt;cell&gt;/capacity_samples.csv: no probe's data is thrown away.</summary>
    public void AppendCapacitySamples(Cell cell, int probe, double targetQps, IReadOnlyList<QueryRecord> records)
    {
        if (!_capacity.TryGetValue(cell.Id, out var w))
        {
            var dir = System.IO.Path.Combine(Path, "cells", cell.Id);
            Directory.CreateDirectory(dir);
            _capacity[cell.Id] = w = CsvWriter.ToFile(System.IO.Path.Combine(dir, CapacitySamplesFile), new CsvWriterOptions { FormatProvider = CultureInfo.InvariantCulture });
            w.WriteHeader<CapacitySampleRow>();
        }
        var row = new CapacitySampleRow { Probe = probe, TargetQps = targetQps };
        foreach (var r in records)
        {
            row.QueryId = r.Id; row.ScheduledNs = r.ScheduledNs; row.IssuedNs = r.IssuedNs;
            row.FirstTokenNs = r.FirstTokenNs; row.CompletedNs = r.CompletedNs; row.Tokens = r.Tokens;
            w.WriteRecord(row);
        }
        w.Flush();
    }

    /// <summary>Appends a microbenchmark cell's samples to micro_samples.csv and keeps wsbench's raw line (ticks, counter frequency).</summary>
    public void AppendMicroSamples(Cell cell, string metric, IReadOnlyList<double> values, string rawJson)
    {
        if (_micro is null)
        {
            _micro = CsvWriter.ToFile(System.IO.Path.Combine(Path, MicroSamplesFile), new CsvWriterOptions { FormatProvider = CultureInfo.InvariantCulture });
            _micro.WriteHeader<MicroSampleRow>();
        }
        var row = new MicroSampleRow { Cell = cell.Id, Metric = metric };
        for (var i = 0; i < values.Count; i++)
        {
            row.Index = i;
            row.Value = values[i];
            _micro.WriteRecord(row);
        }
        _micro.Flush();
        var dir = System.IO.Path.Combine(Path, "cells", cell.Id);
        Directory.CreateDirectory(dir);
        if (rawJson.Length > 0) WriteAtomic(System.IO.Path.Combine(dir, "wsbench.json"), rawJson + "\n");
    }

    /// <summary>Records a finished cell: its MLPerf-style summary, then manifest and summaries rewritten in place.</summary>
    public void AddCell(CellResult result, string sutName)
    {
        _cells.Add(result);
        var dir = System.IO.Path.Combine(Path, "cells", result.Cell.Id);
        Directory.CreateDirectory(dir);
        WriteAtomic(System.IO.Path.Combine(dir, "mlperf_log_summary.txt"), MlperfSummary.Format(result, sutName));
        ((JsonArray)_manifest["cells"]!).Add(new JsonObject
        {
            ["id"] = result.Cell.Id, ["status"] = result.StatusWord, ["reason"] = result.Reason, ["evidence"] = result.Evidence.Name(),
            ["effective_scenario"] = JsonSerializer.SerializeToNode(result.Effective, Json),
            ["effective_realm"] = JsonSerializer.SerializeToNode(result.EffectiveRealm, Json),
            ["phases_ms"] = JsonSerializer.SerializeToNode(result.PhasesMs, Json),
            ["stderr_tail"] = result.StderrTail,
        });
        WriteManifest();
        WriteSummaries();
    }

    public void Finish(bool interrupted)
    {
        _manifest["ended_utc"] = DateTime.UtcNow.ToString("O");
        _manifest["interrupted"] = interrupted;
        _manifest["state"] = interrupted ? "interrupted" : "complete";
        WriteManifest();
        WriteSummaries();
    }

    public IReadOnlyList<CellResult> Cells => _cells;

    private void WriteManifest() => WriteAtomic(System.IO.Path.Combine(Path, ManifestFile), _manifest.ToJsonString(Json));

    private void WriteSummaries()
    {
        var rows = SummaryRows.From(_cells).ToList();
        var tmp = System.IO.Path.Combine(Path, SummaryCsv + ".tmp");
        using (var w = CsvWriter.ToFile(tmp, new CsvWriterOptions { FormatProvider = CultureInfo.InvariantCulture }))
        {
            w.WriteHeader<SummaryRow>();
            foreach (var r in rows) w.WriteRecord(r);
        }
        File.Move(tmp, System.IO.Path.Combine(Path, SummaryCsv), overwrite: true);
        WriteAtomic(System.IO.Path.Combine(Path, SummaryJson), JsonSerializer.Serialize(new
        {
            schema = SchemaVersion, run_id = RunId, suite = _suite.Name, cells = _cells.Select(SummaryRows.ToJson),
        }, Json));
    }

    /// <summary>Write to a temporary file and rename: readers never see half a file.</summary>
    public static void WriteAtomic(string path, string text)
    {
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, overwrite: true);
    }

    public void Dispose()
    {
        _samples.Dispose();
        _micro?.Dispose();
        foreach (var w in _capacity.Values) w.Dispose();
    }
}
