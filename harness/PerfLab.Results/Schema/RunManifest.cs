using System.Text.Json;
using System.Text.Json.Serialization;
using PerfLab.Core.Analysis;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Results;
using PerfLab.Core.Suites;
using PerfLab.Core.Units;

namespace PerfLab.Results.Schema;

/// <summary>Where a run stands: running while it goes (a folder left so died), complete, or interrupted (Ctrl-C).</summary>
public enum RunState { Running, Complete, Interrupted }

/// <summary>The suite as given: its name, file, text, seed, profile and gate settings.</summary>
public sealed record SuiteRecord(string Name, string Path, string Description, int Seed, string Profile, double AgentTimeoutS, GateSpec? Gate, string Source)
{
    public string? CalibrationProfile { get; init; }
    /// <summary>Launches per cell this run made (absent before schema 3: one).</summary>
    public int Repetitions { get; init; } = 1;
}

/// <summary>A cell's requested Realm settings, each in the suite's own words (4k, 2m, mb50, cpu0_1…).</summary>
public sealed record RealmRecord(string Platform, string PageSize, string HugeBacking, string RsiBatch, string Mpam, int Vcpus, string Memory,
    string Pinning, string CoTenant)
{
    public static RealmRecord Of(RealmConfig c) => new(c.Platform.Name(), c.PageSize.ToShort(), c.Backing.Name(), c.RsiBatch.ToShort(),
        c.Mpam.ToShort(), c.Vcpus, c.Memory.ToShort(), c.Pinning.ToShort(), c.CoTenant.Name());

    /// <summary>The settings by their suite key (page_size, rsi_batch, mpam, co_tenant…), for labels and grouping.</summary>
    public IReadOnlyDictionary<string, string> ByKey() => new Dictionary<string, string>
    {
        ["platform"] = Platform, ["page_size"] = PageSize, ["huge_backing"] = HugeBacking, ["rsi_batch"] = RsiBatch, ["mpam"] = Mpam,
        ["vcpus"] = Vcpus.ToString(System.Globalization.CultureInfo.InvariantCulture), ["memory"] = Memory, ["pinning"] = Pinning, ["co_tenant"] = CoTenant,
    };
}

/// <summary>One cell as the suite expanded it: the requested settings, written before anything runs.</summary>
public sealed record RequestedCell(string Id, string Workload, string WorkloadKind, IReadOnlyDictionary<string, string> WorkloadParameters,
    string Scenario, string ScenarioKind, ScenarioSpec? ScenarioSettings, RealmRecord Realm, bool IsBaseline, string? BaselineCell)
{
    public static RequestedCell Of(Cell c) => new(c.Id, c.Workload.Name, c.Workload.Kind.Name, c.Workload.Parameters, c.Scenario.Name,
        c.Scenario.Kind.Name(), c.Scenario, RealmRecord.Of(c.Realm), c.IsBaseline, c.BaselineId);

    /// <summary>The scenario's latency limits in ns by metric name (latency, ttft, tpot), where it sets any.</summary>
    public IReadOnlyDictionary<string, double> LimitsNs()
    {
        var l = new Dictionary<string, double>();
        if (ScenarioSettings is not { } s) return l;
        if (s.LatencyLimit is { } a) l[PerfLab.Core.Analysis.Metrics.Latency.Name] = a.Value;
        if (s.TtftLimit is { } t) l[PerfLab.Core.Analysis.Metrics.Ttft.Name] = t.Value;
        if (s.TpotLimit is { } p) l[PerfLab.Core.Analysis.Metrics.Tpot.Name] = p.Value;
        return l;
    }
}

/// <summary>One cell as it ran: status, evidence, effective scenario and Realm settings, lifecycle phases.</summary>
public sealed record CellRecord(string Id, string Status, string? Reason, string Evidence, EffectiveSettings? EffectiveScenario,
    EffectiveRealm EffectiveRealm, RealmPhases PhasesMs, string? StderrTail)
{
    /// <summary>What else the host did during the cell, and why it counts as disturbed (null: quiet, or not sampled).</summary>
    public Interference? Interference { get; init; }
    public string? Disturbed { get; init; }
    /// <summary>Which launch of the cell this record is (absent before schema 3: the only one).</summary>
    public int Launch { get; init; } = 1;

    public static CellRecord Of(CellResult r) => new(r.Cell.Id, r.StatusWord, r.Reason, r.Evidence.Name(), r.Effective, r.EffectiveRealm, r.PhasesMs, r.StderrTail)
    {
        Interference = r.Interference, Disturbed = r.Disturbed, Launch = r.Launch,
    };
}

/// <summary>
/// manifest.json: what was asked (the suite, its cells), on what (the host, package versions), and what was granted
/// (each cell's effective settings), with the run's state. Rewritten atomically after every cell.
/// </summary>
public sealed record RunManifest(
    int Schema,
    string RunId,
    string StartedUtc,
    string? EndedUtc,
    bool Interrupted,
    RunState State,
    SuiteRecord Suite,
    IReadOnlyList<RequestedCell> ExpandedCells,
    HostEnvironment? Host,
    string? Virtualization,
    IReadOnlyDictionary<string, string> Packages,
    IReadOnlyList<CellRecord> Cells,
    IReadOnlyList<string> SkippedUpFront)
{
    /// <summary>The launch running when the manifest was last written (null between launches and after the run).</summary>
    public LaunchInProgress? InProgress { get; init; }

    /// <summary>When `perflab run --resume` took the run up again after its process died or was interrupted (UTC).</summary>
    public IReadOnlyList<string> ResumedUtc { get; init; } = [];

    /// <summary>The shard of a fleet run this folder holds (null: the whole suite, on one host).</summary>
    public ShardRecord? Shard { get; init; }

    /// <summary>A merged run: the shards it was made from, each with its host, scheduler, job and node (empty: not merged).</summary>
    public IReadOnlyList<ShardRecord> MergedFrom { get; init; } = [];

    /// <summary>
    /// A merged run's cells whose baseline ran on another host: left without an overhead, or (merge --cross-host) with
    /// one computed across the two hosts as asked. One line each, naming both nodes.
    /// </summary>
    public IReadOnlyList<string> CrossHostBaselines { get; init; } = [];

    /// <summary>The cells' records are their launches: cell id → its launches' records, in launch order.</summary>
    public ILookup<string, CellRecord> LaunchesByCell => Cells.OrderBy(c => c.Launch).ToLookup(c => c.Id);
}

/// <summary>
/// One shard of a run spread over hosts: which (index of count), who ran it (scheduler: slurm, kubernetes or none; its
/// job and the node), and the cells its plan gave it. In a merged run each also names its folder, state and host.
/// </summary>
public sealed record ShardRecord(int Index, int Count, string Scheduler, string? Job, string Node, IReadOnlyList<string> Cells)
{
    public string? RunId { get; init; }
    public string? Folder { get; init; }
    public RunState? State { get; init; }
    public HostEnvironment? Host { get; init; }
    /// <summary>Why a shard's cells are missing from a merged run, and how to run them again (null: all there).</summary>
    public string? Missing { get; init; }
}

/// <summary>
/// cells/&lt;cell&gt;[/launch-&lt;k&gt;]/launch.json: one finished launch's result (its cell is the suite's, by id) and the metric
/// values it contributes, so a resumed run combines launches as if it had never stopped.
/// </summary>
public sealed record LaunchFile(int Schema, string Cell, int Launch, CellResult Result, IReadOnlyDictionary<string, double[]>? Values);

/// <summary>A launch that had started and not yet been recorded: where a run whose process died stopped.</summary>
public sealed record LaunchInProgress(string Cell, int Launch, string StartedUtc);

/// <summary>The file names and serializer settings of a run folder: one place decides them.</summary>
public static class RunFiles
{
    /// <summary>Bumped when a file's shape changes; a reader of another version says so instead of misreading.
    /// 2: summary.json's result.bounds became result.early_stopping (LoadGen's single-stream estimates and server checks);
    /// cells gained interference, disturbed and evidence_source; baselines name their host.
    /// 3: launches: manifest.json's cells are launches (with launch), samples.csv, micro_samples.csv and capacity_samples.csv
    /// gained a launch column, summaries gained launches and the spread within and between them, baselines keep each
    /// launch's values apart, and with more than one launch per cell its files are in cells/&lt;cell&gt;/launch-&lt;k&gt;/.</summary>
    public const int SchemaVersion = 3;

    /// <summary>Versions this reader understands: 1 and 2 differ only in what later versions added (read as absent; one launch).</summary>
    public static readonly IReadOnlySet<int> ReadableSchemas = new HashSet<int> { 1, 2, 3 };

    public const string Lock = ".lock", LaunchResult = "launch.json", AbandonedSamples = "abandoned_samples.csv";

    /// <summary>The run's audit log (hash-chained JSON lines) and its head hash, kept apart so a cut tail shows.</summary>
    public const string Audit = "audit.jsonl", AuditHead = "audit.head";

    public const string Manifest = "manifest.json", Samples = "samples.csv", SummaryCsv = "summary.csv", SummaryJson = "summary.json",
        MicroSamples = "micro_samples.csv", CapacitySamples = "capacity_samples.csv", MlperfSummary = "mlperf_log_summary.txt", Gate = "gate.md";

    public static string CellDir(string run, string cellId) => Path.Combine(run, "cells", cellId);

    /// <summary>Where one launch's own files go: the cell's folder when the run launches each cell once, else launch-&lt;k&gt;/ in it.</summary>
    public static string LaunchDir(string run, string cellId, int launch, int repetitions) =>
        repetitions <= 1 ? CellDir(run, cellId) : Path.Combine(CellDir(run, cellId), $"launch-{launch}");

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}
