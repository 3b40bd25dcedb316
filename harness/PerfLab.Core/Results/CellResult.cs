using PerfLab.Core.Analysis;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Suites;

namespace PerfLab.Core.Results;

public enum CellStatus { Ok, Failed, Skipped, Interrupted }

/// <summary>Overhead of a cell against its baseline cell for one metric: a ratio with its interval.</summary>
public sealed record Overhead(string Metric, string BaselineCell, double Pct, double PctLower, double PctUpper)
{
    /// <summary>"launches" (the interval holds the variation between launches) or "queries" (one launch a side: it does not).</summary>
    public string Basis { get; init; } = "queries";
}

/// <summary>
/// The outcome of one cell: its status, evidence, effective settings (scenario and Realm), timed lifecycle
/// phases, and the analysis of its queries. Raw query records live in samples.csv, not here.
/// </summary>
public sealed record CellResult(
    Cell Cell,
    CellStatus Status,
    string? Reason,
    Evidence Evidence,
    EffectiveSettings? Effective,
    EffectiveRealm EffectiveRealm,
    RealmPhases PhasesMs,
    ScenarioAnalysis? Analysis,
    double? HostCpuUsPerQuery,
    string? StderrTail,
    IReadOnlyList<Overhead> Overheads)
{
    public string StatusWord => Status.ToString().ToLowerInvariant();

    /// <summary>Where the evidence comes from (the calibration profile of an emulated cell), or null for measured figures.</summary>
    public string? EvidenceSource => Results.EvidenceSource.Of(Evidence, EffectiveRealm);

    /// <summary>What else the host did during the measured window (null where it was not sampled).</summary>
    public Interference? Interference { get; init; }

    /// <summary>Why the cell is disturbed ("host busy: …"), or null: a disturbed cell is reported, never judged by the gate.</summary>
    public string? Disturbed { get; init; }

    /// <summary>A cell with no measurement: skipped before it ran, or failed at its launch.</summary>
    public static CellResult Empty(Cell cell, CellStatus status, string reason, Evidence evidence) =>
        new(cell, status, reason, evidence, null, new EffectiveRealm(), new RealmPhases(), null, null, null, []);

    /// <summary>Which launch of its cell this is (1-based); a cell's combined result carries its first launch's number.</summary>
    public int Launch { get; init; } = 1;

    /// <summary>Every launch of the cell, as its combined result lists them (empty on a single launch's own result).</summary>
    public IReadOnlyList<LaunchSummary> LaunchList { get; init; } = [];

    /// <summary>Per metric, the spread within launches and between them.</summary>
    public IReadOnlyDictionary<string, Statistics.LaunchSpread> Spread { get; init; } = new Dictionary<string, Statistics.LaunchSpread>();

    /// <summary>What the distributions' intervals are over: launches, or the queries of a single launch.</summary>
    public IntervalBasis IntervalBasis { get; init; } = IntervalBasis.QueriesOfOneLaunch;

    /// <summary>A search cell's capacity in each launch, with its spread: the capacity with its uncertainty.</summary>
    public CapacityOverLaunches? CapacitySpread { get; init; }

    /// <summary>For a <c>qps: search</c> cell: every probe and the capacity found; the analysis is that of the highest VALID probe.</summary>
    public CapacityResult? Capacity { get; init; }
}
