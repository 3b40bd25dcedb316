using PerfLab.Core.LoadGen;
using PerfLab.Core.Results;
using PerfLab.Core.Suites;
using PerfLab.Results.Schema;

namespace PerfLab.Results;

/// <summary>Something wrong with one file of a run folder: the file and what is wrong.</summary>
public sealed record ReadProblem(string File, string What)
{
    public override string ToString() => $"{File}: {What}";
}

/// <summary>A run folder or baseline file that cannot be read: names the file and what is wrong with it.</summary>
public sealed class ResultsFormatException(string message) : Exception(message);

/// <summary>One cell of a run as its reader sees it: its summary (summary.json) and what the suite asked of it (manifest.json).</summary>
public sealed class CellData(CellSummary summary, RequestedCell? requested)
{
    public CellSummary Summary { get; } = summary;
    public RequestedCell? Requested { get; } = requested;

    public string Id => Summary.Id;
    public string Workload => Summary.Workload;
    public string Scenario => Summary.Scenario;
    public string ScenarioKind => Summary.ScenarioKind;
    public string Platform => Summary.Platform;
    public string RealmId => Summary.RealmId;
    public string Evidence => Summary.Evidence;
    /// <summary>The evidence with its source: "emulated (calibration profile kvm-pvm-measured)".</summary>
    public string EvidenceLabel => EvidenceSource.Label(Summary.Evidence, Summary.EvidenceSource);
    public string Status => Summary.Status;
    public string? Reason => Summary.Reason;
    public string? BaselineCell => Summary.BaselineCell;
    public bool IsBaseline => Summary.IsBaseline;
    public RealmPhases PhasesMs => Summary.PhasesMs ?? new RealmPhases();
    public CellResultData? Result => Summary.Result;
    public IReadOnlyList<Overhead> Overheads => Summary.Overheads ?? [];
    public CapacityResult? Capacity => Summary.Capacity;
    public string? Disturbed => Summary.Disturbed;

    /// <summary>page_size, rsi_batch, mpam, co_tenant… as the suite expanded them (empty when the manifest is unreadable).</summary>
    public IReadOnlyDictionary<string, string> Realm => Requested?.Realm.ByKey() ?? new Dictionary<string, string>();
    /// <summary>The scenario's latency limits in ns by metric (latency, ttft, tpot), when it has any.</summary>
    public IReadOnlyDictionary<string, double> LimitsNs => Requested?.LimitsNs() ?? new Dictionary<string, double>();
    /// <summary>The workload's parameters as the suite gave them (a microbenchmark's <c>case</c>, a model's preset…).</summary>
    public IReadOnlyDictionary<string, string> WorkloadParameters => Requested?.WorkloadParameters ?? new Dictionary<string, string>();

    public string Setting(string key) => Realm.TryGetValue(key, out var v) ? v : "?";

    /// <summary>False for a vm cell under TCG (evidence emulated): a functional check, never a timing (DESIGN's platforms table).</summary>
    public bool IsTiming => !(Platform == PerfLab.Core.Suites.Platform.Vm.Name() && Evidence == PerfLab.Core.Suites.Evidence.Emulated.Name());
}

/// <summary>Everything read from one run folder: manifest, cells, samples by cell and metric, and what could not be read.</summary>
public sealed class RunData
{
    public required string Folder { get; init; }
    public required string RunId { get; init; }
    public RunManifest? Manifest { get; init; }
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
    /// <summary>The same values kept apart by launch (launch number → values, in order): what intervals over launches and the gate need.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, IReadOnlyDictionary<int, double[]>>> LaunchSamples { get; init; } =
        new Dictionary<string, IReadOnlyDictionary<string, IReadOnlyDictionary<int, double[]>>>();
    public IReadOnlyList<ReadProblem> Problems { get; init; } = [];
    public string? GateMarkdown { get; init; }
    /// <summary>The confidence of the overhead intervals: the suite's gate confidence (null when the manifest is unreadable).</summary>
    public double? GateConfidence => Manifest?.Suite.Gate?.Confidence;
    /// <summary>Cells the suite planned that the run never recorded (it stopped before them).</summary>
    public IReadOnlyList<string> NotRun { get; init; } = [];

    /// <summary>"complete", "interrupted" (Ctrl-C, recorded as such) or "incomplete" (the run stopped without saying why).</summary>
    public string StateWord => Interrupted ? "interrupted"
        : State != "running" ? State
        : Manifest?.InProgress is { } at
            ? $"incomplete (perflab stopped during launch {at.Launch} of {at.Cell}, started {at.StartedUtc}: a crash or a kill; " +
              $"{LaunchSamples.GetValueOrDefault(at.Cell)?.GetValueOrDefault("latency")?.GetValueOrDefault(at.Launch)?.Length ?? 0} of its queries were kept)"
            : "incomplete (the run stopped before it finished; a crash or a kill)";

    public string HostLabel => Host.TryGetValue("hostname", out var h) ? $"{h} ({(Host.TryGetValue("cpu_model", out var c) ? c : "?")})" : "unknown host";
}
