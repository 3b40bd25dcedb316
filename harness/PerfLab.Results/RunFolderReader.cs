using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using CsvHelper;
using PerfLab.Core.Analysis;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Suites;
using PerfLab.Results.Schema;

namespace PerfLab.Results;

/// <summary>How a reader meets a damaged file: the gate wants all or nothing, a report shows what it can.</summary>
public enum ReadMode
{
    /// <summary>Any problem is an error (ResultsFormatException naming every problem): verdicts are never drawn from part of a run.</summary>
    Strict,
    /// <summary>A missing or corrupt file, section or row becomes a named problem and the rest is read.</summary>
    Tolerant,
}

/// <summary>The one reader of a run folder (see RunFolderWriter for what it holds).</summary>
public static class RunFolderReader
{
    public static RunData Read(string folder, ReadMode mode)
    {
        folder = Path.GetFullPath(folder);
        if (!Directory.Exists(folder)) throw new ResultsFormatException($"{folder}: no such run folder; give results/runs/<run-id>");
        var problems = new List<ReadProblem>();
        var manifestPath = Path.Combine(folder, RunFiles.Manifest);
        var manifest = ReadManifest(manifestPath, problems);
        var summaryPath = Path.Combine(folder, RunFiles.SummaryJson);
        var summary = ReadJson(summaryPath, problems);

        var requested = manifest?.ExpandedCells.ToDictionary(c => c.Id) ?? [];
        var cells = new List<CellData>();
        if (summary?["cells"] is JsonArray arr)
        {
            for (var i = 0; i < arr.Count; i++)
            {
                var s = Part<CellSummary>(arr[i], summaryPath, $"cells[{i}]", problems, "that cell is left out");
                if (s is { Id: not null }) cells.Add(new CellData(Checked(s, summaryPath, i, problems), requested.GetValueOrDefault(s.Id)));
                else if (s is not null) problems.Add(new(summaryPath, $"cells[{i}] has no id; that cell is left out"));
            }
        }
        else if (summary is not null)
            problems.Add(new(summaryPath, "has no cells array"));
        // Cells the manifest planned but the summary never recorded: an interrupted or crashed run stopped before them.
        var recorded = cells.Select(c => c.Id).ToHashSet();
        var notRun = requested.Keys.Where(id => !recorded.Contains(id)).ToList();

        var launches = ReadSamples(folder, problems);
        foreach (var (cell, metrics) in ReadMicro(folder, problems)) launches[cell] = metrics;
        var samples = launches.ToDictionary(kv => kv.Key, kv => (IReadOnlyDictionary<string, double[]>)kv.Value.ToDictionary(
            m => m.Key, m => m.Value.Values.SelectMany(v => v).ToArray()));

        var gatePath = Path.Combine(folder, RunFiles.Gate);
        var data = new RunData
        {
            Folder = folder,
            RunId = manifest?.RunId ?? summary?["run_id"]?.GetValue<string>() ?? Path.GetFileName(folder),
            Manifest = manifest,
            Suite = manifest?.Suite.Name ?? "?",
            Description = manifest?.Suite.Description ?? "",
            State = manifest is null ? "unknown (no readable manifest)" : manifest.State.ToString().ToLowerInvariant(),
            Interrupted = manifest?.Interrupted ?? false,
            StartedUtc = manifest?.StartedUtc,
            EndedUtc = manifest?.EndedUtc,
            Host = manifest?.Host is { } h ? Flatten(h) : new Dictionary<string, string>(),
            Cells = cells,
            Samples = samples,
            LaunchSamples = launches.ToDictionary(kv => kv.Key, kv => (IReadOnlyDictionary<string, IReadOnlyDictionary<int, double[]>>)kv.Value),
            Problems = problems,
            GateMarkdown = File.Exists(gatePath) ? File.ReadAllText(gatePath) : null,
            NotRun = notRun,
        };
        if (mode == ReadMode.Strict && problems.Count > 0)
            throw new ResultsFormatException(string.Join("; ", problems.Select(p => p.ToString())));
        return data;
    }

    /// <summary>A cell whose metric lacks an estimate (a null median: a hand-edited or damaged file) keeps its other metrics.</summary>
    private static CellSummary Checked(CellSummary s, string file, int index, List<ReadProblem> problems)
    {
        if (s.Result?.Metrics is not { } metrics) return s;
        var broken = metrics.Where(kv => kv.Value is null || kv.Value.Median is null || kv.Value.P90 is null || kv.Value.P99 is null
                                         || !double.IsFinite(kv.Value.Median.Value)).Select(kv => kv.Key).ToList();
        if (broken.Count == 0) return s;
        foreach (var m in broken) problems.Add(new(file, $"cells[{index}].result.metrics.{m}: an estimate is missing or not a number; that metric is left out"));
        return s with { Result = s.Result with { Metrics = metrics.Where(kv => !broken.Contains(kv.Key)).ToDictionary() } };
    }

    private static Dictionary<string, string> Flatten(HostEnvironment h) =>
        (JsonSerializer.SerializeToNode(h, RunFiles.Json) as JsonObject ?? []).ToDictionary(kv => kv.Key, kv => kv.Value?.ToString() ?? "");

    /// <summary>The manifest whole, or section by section when one section is damaged (the rest still counts).</summary>
    /// <summary>A run folder's manifest, whole, or a ResultsFormatException naming what is wrong with it.</summary>
    public static RunManifest ReadManifest(string folder)
    {
        var path = Path.Combine(Path.GetFullPath(folder), RunFiles.Manifest);
        if (!Directory.Exists(folder)) throw new ResultsFormatException($"{folder}: no such run folder; give results/runs/<run-id>");
        var problems = new List<ReadProblem>();
        var m = ReadManifest(path, problems);
        if (m is null || problems.Count > 0)
            throw new ResultsFormatException(problems.Count > 0 ? string.Join("; ", problems.Select(p => p.ToString())) : $"{path}: unreadable");
        return m;
    }

    private static RunManifest? ReadManifest(string path, List<ReadProblem> problems)
    {
        var node = ReadJson(path, problems);
        if (node is null) return null;
        var schema = node["schema"] is JsonValue v && v.TryGetValue<int>(out var n) ? n : 0;
        if (!RunFiles.ReadableSchemas.Contains(schema))
        {
            problems.Add(new(path, $"schema {schema}, this PerfLab reads schemas {string.Join(" and ", RunFiles.ReadableSchemas.Order())}; read it with the PerfLab that wrote it"));
            return null;
        }
        try { return node.Deserialize<RunManifest>(RunFiles.Json); }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException or FormatException) { }
        var suite = Part<SuiteRecord>(node["suite"], path, "suite", problems, "the suite's name and gate settings are unknown")
                    ?? new SuiteRecord("?", "", "", 0, "?", 0, null, "");
        var expanded = Parts<RequestedCell>(node["expanded_cells"], path, "expanded_cells", problems);
        var cells = Parts<CellRecord>(node["cells"], path, "cells", problems);
        var host = Part<HostEnvironment>(node["host"], path, "host", problems, "the host is unknown");
        var state = Part<RunState?>(node["state"], path, "state", problems, "read as running") ?? RunState.Running;
        var interrupted = Part<bool?>(node["interrupted"], path, "interrupted", problems, "read as false") ?? false;
        return new RunManifest(schema, Part<string>(node["run_id"], path, "run_id", problems, "the folder's name is used") ?? Path.GetFileName(Path.GetDirectoryName(path)!),
            Part<string>(node["started_utc"], path, "started_utc", problems, "unknown") ?? "", Part<string>(node["ended_utc"], path, "ended_utc", problems, "unknown"),
            interrupted, state, suite, expanded, host, null, new Dictionary<string, string>(), cells, []);
    }

    private static List<T> Parts<T>(JsonNode? node, string file, string where, List<ReadProblem> problems) where T : class
    {
        var list = new List<T>();
        if (node is not JsonArray arr) { problems.Add(new(file, $"{where}: missing or not a list")); return list; }
        for (var i = 0; i < arr.Count; i++)
            if (Part<T>(arr[i], file, $"{where}[{i}]", problems, "left out") is { } t) list.Add(t);
        return list;
    }

    private static T? Part<T>(JsonNode? node, string file, string where, List<ReadProblem> problems, string consequence)
    {
        try
        {
            var t = node is null ? default : node.Deserialize<T>(RunFiles.Json);
            if (t is null && node is not null) problems.Add(new(file, $"{where}: null; {consequence}"));
            return t;
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException or FormatException)
        {
            problems.Add(new(file, $"{where} cannot be read ({e.Message.Split('\n')[0]}); {consequence}"));
            return default;
        }
    }

    private static JsonNode? ReadJson(string path, List<ReadProblem> problems)
    {
        if (!File.Exists(path)) { problems.Add(new(path, "missing")); return null; }
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) ?? throw new JsonException("empty document");
        }
        catch (JsonException e)
        {
            problems.Add(new(path, $"not valid JSON ({e.Message}); read without it"));
            return null;
        }
    }

    /// <summary>Per cell, per metric, launch number → its values (a file from before launches: launch 1).</summary>
    private static Dictionary<string, Dictionary<string, IReadOnlyDictionary<int, double[]>>> ReadSamples(string folder, List<ReadProblem> problems)
    {
        var path = Path.Combine(folder, RunFiles.Samples);
        var result = new Dictionary<string, Dictionary<string, IReadOnlyDictionary<int, double[]>>>();
        if (!File.Exists(path)) { problems.Add(new(path, "missing; the run recorded no queries")); return result; }
        var byLaunch = new Dictionary<(string Cell, int Launch), (ScenarioKind Kind, List<QueryRecord> Records)>();
        var line = 1;
        try
        {
            using var reader = CsvReader.FromFile(path, new CsvReaderOptions { FormatProvider = CultureInfo.InvariantCulture });
            foreach (var row in reader.GetRecords<SampleRow>())
            {
                line++;
                if (!byLaunch.TryGetValue((row.Cell, row.Launch), out var entry))
                    byLaunch[(row.Cell, row.Launch)] = entry = (ScenarioNames.All.GetValueOrDefault(row.Scenario), []);
                entry.Records.Add(row.ToRecord());
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Rows before the bad one are kept: a run killed mid-write leaves a torn last line, not a useless file.
            problems.Add(new(path, $"unreadable from line {line + 1} ({e.GetType().Name}: {e.Message.Split('\n')[0]}); the {line - 1} rows before it are used"));
        }
        foreach (var g in byLaunch.OrderBy(kv => kv.Key.Launch).GroupBy(kv => kv.Key.Cell))
        {
            var metrics = new Dictionary<string, SortedDictionary<int, double[]>>();
            foreach (var (key, (kind, records)) in g)
                foreach (var (metric, values) in Metrics.FromRecords(records, kind))
                {
                    if (!metrics.TryGetValue(metric, out var byLaunch2)) metrics[metric] = byLaunch2 = [];
                    byLaunch2[key.Launch] = values;
                }
            result[g.Key] = metrics.ToDictionary(kv => kv.Key, kv => (IReadOnlyDictionary<int, double[]>)kv.Value);
        }
        return result;
    }

    private static Dictionary<string, Dictionary<string, IReadOnlyDictionary<int, double[]>>> ReadMicro(string folder, List<ReadProblem> problems)
    {
        var path = Path.Combine(folder, RunFiles.MicroSamples);
        var result = new Dictionary<string, Dictionary<string, IReadOnlyDictionary<int, double[]>>>();
        if (!File.Exists(path)) return result;
        try
        {
            using var reader = CsvReader.FromFile(path, new CsvReaderOptions { FormatProvider = CultureInfo.InvariantCulture });
            foreach (var g in reader.GetRecords<MicroSampleRow>().ToList().GroupBy(r => r.Cell))
                result[g.Key] = g.GroupBy(r => r.Metric).ToDictionary(m => m.Key,
                    m => (IReadOnlyDictionary<int, double[]>)new SortedDictionary<int, double[]>(m.GroupBy(r => r.Launch).ToDictionary(l => l.Key, l => l.Select(r => r.Value).ToArray())));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            problems.Add(new(path, $"cannot be read as microbenchmark samples ({e.Message.Split('\n')[0]}); microbenchmark distributions left out"));
        }
        return result;
    }
}
