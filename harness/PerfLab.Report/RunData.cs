using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using CsvHelper;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Results;
using PerfLab.Core.Statistics;
using PerfLab.Core.Suites;
using PerfLab.Lab.Results;

namespace PerfLab.Report;

/// <summary>Something wrong with one file of a run folder: the file and what is wrong; the report goes on without it.</summary>
public sealed record ReportProblem(string File, string What)
{
    public override string ToString() => $"{File}: {What}";
}

/// <summary>A cell's result as summary.json records it.</summary>
public sealed record CellResultData(
    string Validity, IReadOnlyList<string>? Reasons, bool Compliant, string? NonCompliantReason, long QueriesIssued, long QueriesCompleted,
    double DurationS, double QueriesPerS, double TokensPerS, IReadOnlyDictionary<string, DistributionSummary>? Metrics);

/// <summary>One cell of a run, from summary.json with its Realm settings and limits from manifest.json.</summary>
public sealed record CellData(
    string Id, string Workload, string Scenario, string ScenarioKind, string Platform, string RealmId, string Evidence, string Status,
    string? Reason, string? BaselineCell, bool IsBaseline, IReadOnlyDictionary<string, double>? PhasesMs, CellResultData? Result,
    IReadOnlyList<Overhead>? Overheads, CapacityResult? Capacity)
{
    /// <summary>page_size, rsi_batch, mpam, co_tenant… as the suite expanded them (empty when the manifest is unreadable).</summary>
    public IReadOnlyDictionary<string, string> Realm { get; init; } = new Dictionary<string, string>();
    /// <summary>The scenario's latency limits in ns by metric (latency, ttft, tpot), when it has any.</summary>
    public IReadOnlyDictionary<string, double> LimitsNs { get; init; } = new Dictionary<string, double>();
    /// <summary>The workload's parameters as the suite gave them (a microbenchmark's <c>case</c>, a model's preset…).</summary>
    public IReadOnlyDictionary<string, string> WorkloadParameters { get; init; } = new Dictionary<string, string>();

    public string Setting(string key) => Realm.TryGetValue(key, out var v) ? v : "?";

    /// <summary>False for a vm cell under TCG (evidence emulated): a functional check, never a timing (DESIGN's platforms table).</summary>
    public bool IsTiming => !(Platform == "vm" && Evidence == "emulated");
}

/// <summary>
/// Everything a report needs from one run folder, read from the folder alone. A missing or corrupt file is recorded as a
/// problem naming the file and what is wrong, and the rest is still read: a report shows what it can.
/// </summary>
public sealed class RunData
{
    public required string Folder { get; init; }
    public required string RunId { get; init; }
    public string Suite { get; init; } = "?";
    public string Description { get; init; } = "";
    public string State { get; init; } = "unknown";
    public bool Interrupted { get; init; }
    public string? StartedUtc { get; init; }
    public string? EndedUtc { get; init; }
    public IReadOnlyDictionary<string, string> Host { get; init; } = new Dictionary<string, string>();
    public IReadOnlyList<CellData> Cells { get; init; } = [];
    /// <summary>Per cell, per metric, the raw values (ns) from samples.csv; micro cells' values from micro_samples.csv.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, double[]>> Samples { get; init; } = new Dictionary<string, IReadOnlyDictionary<string, double[]>>();
    public IReadOnlyList<ReportProblem> Problems { get; init; } = [];
    public string? GateMarkdown { get; init; }
    /// <summary>The confidence of the overhead intervals: the suite's gate confidence (null when the manifest is unreadable).</summary>
    public double? GateConfidence { get; init; }
    /// <summary>Cells the suite planned that the run never recorded (it stopped before them).</summary>
    public IReadOnlyList<string> NotRun { get; init; } = [];

    /// <summary>"complete", "interrupted" (Ctrl-C, recorded as such) or "incomplete" (the run stopped without saying why).</summary>
    public string StateWord => Interrupted ? "interrupted" : State == "running" ? "incomplete (the run stopped before it finished; a crash or a kill)" : State;

    public string HostLabel => Host.TryGetValue("hostname", out var h) ? $"{h} ({(Host.TryGetValue("cpu_model", out var c) ? c : "?")})" : "unknown host";

    public static RunData Load(string folder)
    {
        folder = Path.GetFullPath(folder);
        if (!Directory.Exists(folder)) throw new ResultsFormatException($"{folder}: no such run folder; give results/runs/<run-id>");
        var problems = new List<ReportProblem>();
        var manifestPath = Path.Combine(folder, RunFolder.ManifestFile);
        var manifest = ReadJson(manifestPath, problems);
        var summary = ReadJson(Path.Combine(folder, RunFolder.SummaryJson), problems);

        var realms = new Dictionary<string, Dictionary<string, string>>();
        var limits = new Dictionary<string, Dictionary<string, double>>();
        var parameters = new Dictionary<string, Dictionary<string, string>>();
        foreach (var c in manifest?["expanded_cells"]?.AsArray() ?? [])
        {
            if (c?["id"]?.GetValue<string>() is not { } id) continue;
            realms[id] = (c["realm"] as JsonObject ?? []).ToDictionary(kv => kv.Key, kv => kv.Value?.ToString() ?? "");
            parameters[id] = (c["workload_parameters"] as JsonObject ?? []).ToDictionary(kv => kv.Key, kv => kv.Value?.ToString() ?? "");
            var l = new Dictionary<string, double>();
            foreach (var (metric, key) in new[] { ("latency", "latency_limit"), ("ttft", "ttft_limit"), ("tpot", "tpot_limit") })
                if (c["scenario_settings"]?[key]?["value"] is JsonValue v && v.TryGetValue<double>(out var ns)) l[metric] = ns;
            limits[id] = l;
        }

        var cells = new List<CellData>();
        if (summary?["cells"] is JsonArray arr)
        {
            for (var i = 0; i < arr.Count; i++)
            {
                try
                {
                    var cell = arr[i].Deserialize<CellData>(RunFolder.Json) ?? throw new JsonException("null cell");
                    cells.Add(cell with
                    {
                        Realm = realms.GetValueOrDefault(cell.Id) ?? [],
                        LimitsNs = limits.GetValueOrDefault(cell.Id) ?? [],
                        WorkloadParameters = parameters.GetValueOrDefault(cell.Id) ?? [],
                    });
                }
                catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
                {
                    problems.Add(new(Path.Combine(folder, RunFolder.SummaryJson), $"cells[{i}] cannot be read ({e.Message}); that cell is left out"));
                }
            }
        }
        else if (summary is not null)
            problems.Add(new(Path.Combine(folder, RunFolder.SummaryJson), "has no cells array"));
        // Cells the manifest planned but the summary never recorded: an interrupted or crashed run stopped before them.
        var recorded = cells.Select(c => c.Id).ToHashSet();
        var notRun = realms.Keys.Where(id => !recorded.Contains(id)).ToList();

        var samples = ReadSamples(folder, problems);
        foreach (var (cell, metrics) in ReadMicro(folder, problems)) samples[cell] = metrics;

        string S(string key) => manifest?[key]?.GetValue<string>() ?? "";
        var host = (manifest?["host"] as JsonObject ?? []).ToDictionary(kv => kv.Key, kv => kv.Value?.ToString() ?? "");
        var gatePath = Path.Combine(folder, "gate.md");
        var data = new RunData
        {
            Folder = folder,
            RunId = manifest?["run_id"]?.GetValue<string>() ?? summary?["run_id"]?.GetValue<string>() ?? Path.GetFileName(folder),
            Suite = manifest?["suite"]?["name"]?.GetValue<string>() ?? summary?["suite"]?.GetValue<string>() ?? "?",
            Description = manifest?["suite"]?["description"]?.GetValue<string>() ?? "",
            State = manifest is null ? "unknown (no readable manifest)" : S("state"),
            Interrupted = manifest?["interrupted"]?.GetValue<bool>() ?? false,
            StartedUtc = manifest?["started_utc"]?.GetValue<string>(),
            EndedUtc = manifest?["ended_utc"]?.GetValue<string>(),
            Host = host,
            Cells = cells,
            Samples = samples.ToDictionary(kv => kv.Key, kv => kv.Value),
            Problems = problems,
            GateMarkdown = File.Exists(gatePath) ? File.ReadAllText(gatePath) : null,
            NotRun = notRun,
            GateConfidence = manifest?["suite"]?["gate"]?["confidence"]?.GetValue<double>(),
        };
        return data;
    }

    private static JsonNode? ReadJson(string path, List<ReportProblem> problems)
    {
        if (!File.Exists(path)) { problems.Add(new(path, "missing")); return null; }
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) ?? throw new JsonException("empty document");
        }
        catch (JsonException e)
        {
            problems.Add(new(path, $"not valid JSON ({e.Message}); reported without it"));
            return null;
        }
    }

    private static Dictionary<string, IReadOnlyDictionary<string, double[]>> ReadSamples(string folder, List<ReportProblem> problems)
    {
        var path = Path.Combine(folder, RunFolder.SamplesFile);
        var result = new Dictionary<string, IReadOnlyDictionary<string, double[]>>();
        if (!File.Exists(path)) { problems.Add(new(path, "missing; no latency distributions can be drawn")); return result; }
        var byCell = new Dictionary<string, (ScenarioKind Kind, List<QueryRecord> Records)>();
        var line = 1;
        try
        {
            using var reader = CsvReader.FromFile(path, new CsvReaderOptions { FormatProvider = CultureInfo.InvariantCulture });
            foreach (var row in reader.GetRecords<SampleRow>())
            {
                line++;
                if (!byCell.TryGetValue(row.Cell, out var entry))
                    byCell[row.Cell] = entry = (ScenarioNames.All.GetValueOrDefault(row.Scenario), []);
                entry.Records.Add(new QueryRecord
                {
                    Id = row.QueryId, SampleIndex = row.SampleIndex, ScheduledNs = row.ScheduledNs, IssuedNs = row.IssuedNs,
                    FirstTokenNs = row.FirstTokenNs, CompletedNs = row.CompletedNs, Tokens = row.Tokens, InsideNs = row.InsideNs,
                });
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Rows before the bad one are kept: a run killed mid-write leaves a torn last line, not a useless file.
            problems.Add(new(path, $"unreadable from line {line + 1} ({e.GetType().Name}: {e.Message.Split('\n')[0]}); the {line - 1} rows before it are used"));
        }
        foreach (var (cell, (kind, records)) in byCell)
            result[cell] = PerfLab.Core.Analysis.Metrics.FromRecords(records, kind);
        return result;
    }

    private static Dictionary<string, IReadOnlyDictionary<string, double[]>> ReadMicro(string folder, List<ReportProblem> problems)
    {
        var path = Path.Combine(folder, RunFolder.MicroSamplesFile);
        var result = new Dictionary<string, IReadOnlyDictionary<string, double[]>>();
        if (!File.Exists(path)) return result;
        try
        {
            using var reader = CsvReader.FromFile(path, new CsvReaderOptions { FormatProvider = CultureInfo.InvariantCulture });
            foreach (var g in reader.GetRecords<MicroSampleRow>().ToList().GroupBy(r => r.Cell))
                result[g.Key] = g.GroupBy(r => r.Metric).ToDictionary(m => m.Key, m => m.Select(r => r.Value).ToArray());
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            problems.Add(new(path, $"cannot be read as microbenchmark samples ({e.Message.Split('\n')[0]}); microbenchmark distributions left out"));
        }
        return result;
    }
}
