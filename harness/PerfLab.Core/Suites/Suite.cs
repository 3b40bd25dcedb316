using PerfLab.Core.Units;

namespace PerfLab.Core.Suites;

public enum ScenarioKind { SingleStream, Server, Offline }

/// <summary>Whether durations and counts meet MLPerf's minimums. A ci profile runs but is marked non-compliant.</summary>
public enum RunProfile { Ci, Full }

public static class ScenarioNames
{
    public static readonly IReadOnlyDictionary<string, ScenarioKind> All = new Dictionary<string, ScenarioKind>
    {
        ["single-stream"] = ScenarioKind.SingleStream, ["server"] = ScenarioKind.Server, ["offline"] = ScenarioKind.Offline,
    };

    public static string Name(this ScenarioKind k) => All.First(kv => kv.Value == k).Key;
}

/// <summary>A workload as the suite names it: its kind and its validated parameters (passed verbatim to the agent).</summary>
public sealed record WorkloadSpec(string Name, WorkloadKind Kind, IReadOnlyDictionary<string, string> Parameters)
{
    public double GetDouble(string key) => double.Parse(Parameters[key], System.Globalization.CultureInfo.InvariantCulture);
    public int GetInt(string key) => (int)GetDouble(key);
    public string GetString(string key) => Parameters[key];
}

/// <summary>Requested scenario settings (MLPerf TestSettings). The effective ones are recorded per cell after the run.</summary>
public sealed record ScenarioSpec(
    string Name,
    ScenarioKind Kind,
    double? TargetQps,
    Nanoseconds MinDuration,
    Nanoseconds MaxDuration,
    int MinQueryCount,
    Nanoseconds? LatencyLimit,
    Nanoseconds? TtftLimit,
    Nanoseconds? TpotLimit,
    double TargetPercentile,
    double EarlyStoppingConfidence)
{
    /// <summary>Set for a server scenario with <c>qps: search</c>: the cell searches its capacity; TargetQps is then per probe.</summary>
    public LoadGen.CapacitySearchSpec? Search { get; init; }

    /// <summary>
    /// The sweep this scenario is one rate of (type: sweep), or null. A sweep is a list of server scenarios, each a cell
    /// of its own with its own launches, drawn together as throughput against each user's tokens/s.
    /// </summary>
    public string? Sweep { get; init; }

    /// <summary>Serve every sample of the performance set once, in turn, before drawing at random (a warm-up's coverage).</summary>
    public bool CoverEverySample { get; init; }
}

/// <summary>
/// Gate settings: the practical threshold and the confidence of the significance test. The threshold is
/// relative, with optional absolute floors: a 10 % change of a 150 µs TTFT is 15 µs, within the scheduling jitter
/// of a shared host, and should not fail a build. The floor for per-query times (latency, TTFT) is ThresholdAbsNs;
/// per-token times (TPOT) have their own, ThresholdAbsPerTokenNs (0: the relative threshold alone): a 50 µs floor
/// over a ~200 µs TPOT would widen its threshold to ±25 % and hide a real +20 % regression.
/// </summary>
public sealed record GateSpec(double ThresholdPct, double Confidence, IReadOnlyList<string> Metrics, double ThresholdAbsNs = 0)
{
    public double ThresholdAbsPerTokenNs { get; init; }

    /// <summary>
    /// κ, how far apart two runs of the same build sit beyond what their launches predict, as a multiple of the launch
    /// spread (Statistics.Launches.Ratio). A run's launches share its minutes on the host, so they cannot show the host's
    /// slower drift; the gate compares runs made at different times and adds it. Measured with <c>perflab drift</c>.
    /// </summary>
    public double RunDrift { get; init; } = DefaultRunDrift;

    /// <summary>
    /// `perflab drift` over back-to-back runs of the gate end-to-end suite (5 launches, 8 metrics) on a 2-vCPU AMD EPYC
    /// bhyve guest, 2026-11-28: 12 quiet runs gave κ 0.39–1.13, pooled 0.78; 10 runs beside a CPU hog 0.37–1.79, pooled
    /// 0.92. Rounded up: a gate that understates drift calls the host's slow minutes a regression.
    /// </summary>
    public const double DefaultRunDrift = 1.0;

    /// <summary>The absolute floor that applies to a metric, in its unit (0: none).</summary>
    public double FloorFor(Analysis.MetricInfo metric) => metric.Floor switch
    {
        Analysis.FloorKind.PerQuery => ThresholdAbsNs,
        Analysis.FloorKind.PerToken => ThresholdAbsPerTokenNs,
        _ => 0,
    };

    public static readonly IReadOnlyList<string> AllMetrics = Analysis.Metrics.Gated.Select(m => m.Name).ToList();
    public static readonly GateSpec Default = new(5, 0.99, AllMetrics);
}

/// <summary>One point of the matrix: one RealmConfig × one workload × one scenario.</summary>
public sealed record Cell(string Id, WorkloadSpec Workload, ScenarioSpec Scenario, RealmConfig Realm, bool IsBaseline)
{
    /// <summary>The id of the cell this one is compared with for overhead (same workload and scenario), if any.</summary>
    public string? BaselineId { get; init; }
}

/// <summary>A validated suite with its matrix expanded.</summary>
public sealed record Suite(
    string Name,
    string SourcePath,
    string SourceText,
    string Description,
    int Seed,
    RunProfile Profile,
    Nanoseconds AgentTimeout,
    IReadOnlyList<WorkloadSpec> Workloads,
    IReadOnlyList<ScenarioSpec> Scenarios,
    IReadOnlyList<Cell> Cells,
    GateSpec Gate)
{
    /// <summary>The world-switch cost profile cca-emulated cells apply (bench/profiles/&lt;name&gt;.yaml).</summary>
    public string CalibrationProfile { get; init; } = "kvm-pvm-measured";

    /// <summary>
    /// How many times every cell is launched, interleaved across cells (A B C A B C…). The launch is the unit of
    /// replication: the gate and the overheads judge the spread between launches, and need at least 2 a side to judge at all.
    /// </summary>
    public int Repetitions { get; init; } = DefaultRepetitions;

    /// <summary>
    /// Six: what lets the gate, comparing two runs made at different times (run drift κ = 1), regress a +10 % TPOT change
    /// 97–99 times in 100 in LaunchTests' simulation; 5 gave 93–97, 3 gave 64–80. Overheads within one run compare
    /// interleaved launches with no drift between them and do with 3, which suites that run long (the LLM ones) choose.
    /// </summary>
    public const int DefaultRepetitions = 6;

    /// <summary>How a fleet run splits the suite over hosts (perflab run --shard): see <see cref="Suites.ShardBy"/>.</summary>
    public ShardBy ShardBy { get; init; } = ShardBy.Group;

    /// <summary>What is allowed but probably not meant (a cell with no baseline cell): printed before anything runs.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
    public const int MaxRepetitions = 100;

    /// <summary>
    /// How long every launch serves its own scenario, untimed, before the measured window (MLPerf allows an untimed
    /// warm-up; LoadGen leaves it to the harness). A fresh agent runs its first seconds on unoptimised JIT code with cold
    /// caches and untouched memory: measured, the first probe of a capacity search at 100 QPS had a p99 TTFT of 24–30 ms
    /// where the same SUT, warm, kept 8–10 ms at 97 QPS, and called the search's first rate INVALID. Zero turns it off.
    /// </summary>
    public Nanoseconds Warmup { get; init; } = DefaultWarmup;
    public static readonly Nanoseconds DefaultWarmup = Nanoseconds.FromSeconds(2);

    /// <summary>
    /// The longest the warm-up goes on after Warmup while the agent's peak resident memory still grows (rounds of a second,
    /// until a round grows it by less than 1 MiB). The tiny LLM's runtime grew ~20 MB more after serving every sample
    /// once, and stopped after ~200 queries (8 s): until then an emulated Realm's fault term is early life, not steady
    /// state. A launch cut off by this cap records warmup_steady false, and the report says so. Equal to Warmup (the
    /// default, warmup_max_s absent): no rounds, warmup_steady "unchecked" — a synthetic agent's heap can grow a MiB a
    /// second for its whole run, so rounds are asked for where memory matters: the LLM suites set warmup_max_s: 30.
    /// </summary>
    public Nanoseconds WarmupMax { get; init; } = DefaultWarmup;
}
