using PerfLab.Core.LoadGen;
using PerfLab.Core.Suites;

namespace PerfLab.Core.Analysis;

/// <summary>The unit a metric's values are in; its symbol is what files and tables print.</summary>
public enum MetricUnit { Nanoseconds, TokensPerSecond, BytesPerSecond }

/// <summary>
/// Which absolute floor a time metric's gate threshold may be raised to: per-query times (latency, TTFT) and per-token
/// times (TPOT) differ by the number of tokens, so one floor for both makes the gate blind to per-token regressions.
/// </summary>
public enum FloorKind { None, PerQuery, PerToken }

/// <summary>Which scenarios a metric is judged in (by the gate and by overheads).</summary>
public enum GatedIn { Never, NotOffline, OfflineOnly, Always }

/// <summary>A metric the lab reports: its name, unit, which direction is better and where it is judged.</summary>
public sealed record MetricInfo(string Name, MetricUnit Unit, bool HigherIsBetter, string Description, GatedIn Gated = GatedIn.Never,
    FloorKind Floor = FloorKind.None)
{
    public string UnitSymbol => Unit switch
    {
        MetricUnit.Nanoseconds => "ns",
        MetricUnit.TokensPerSecond => "tokens/s",
        _ => "bytes/s",
    };

    public bool IsGatedIn(ScenarioKind kind) => Gated switch
    {
        GatedIn.Always => true,
        GatedIn.NotOffline => kind != ScenarioKind.Offline,
        GatedIn.OfflineOnly => kind == ScenarioKind.Offline,
        _ => false,
    };
}

/// <summary>The per-query metrics and how each is derived from the raw query records.</summary>
public static class Metrics
{
    // Offline latency and TTFT only say where a query stood in a queue that was filled at once, so offline is judged on
    // throughput and TPOT, as MLPerf does.
    public static readonly MetricInfo Latency = new("latency", MetricUnit.Nanoseconds, false, "completion − scheduled issue time (end to end, includes the path into the Realm)", GatedIn.NotOffline, FloorKind.PerQuery);
    public static readonly MetricInfo Ttft = new("ttft", MetricUnit.Nanoseconds, false, "first token − scheduled issue time", GatedIn.NotOffline, FloorKind.PerQuery);
    public static readonly MetricInfo Tpot = new("tpot", MetricUnit.Nanoseconds, false, "(completion − first token) / (tokens − 1)", GatedIn.Always, FloorKind.PerToken);
    public static readonly MetricInfo IssueLag = new("issue_lag", MetricUnit.Nanoseconds, false, "actual − scheduled issue time: the load generator's own error");
    public static readonly MetricInfo Inside = new("inside", MetricUnit.Nanoseconds, false, "service time as the agent measured it inside the Realm", Floor: FloorKind.PerQuery);
    public static readonly MetricInfo Throughput = new("throughput", MetricUnit.TokensPerSecond, true, "tokens per second over equal-count windows of completions (offline)", GatedIn.OfflineOnly);

    public static readonly MetricInfo OpCost = new("op_cost", MetricUnit.Nanoseconds, false, "cost of one operation of a native microbenchmark, empty loop subtracted", GatedIn.Always);
    public static readonly MetricInfo Bandwidth = new("bandwidth", MetricUnit.BytesPerSecond, true, "bytes moved per second by a native microbenchmark", GatedIn.Always);

    public static readonly IReadOnlyList<MetricInfo> All = [Latency, Ttft, Tpot, IssueLag, Inside, Throughput, OpCost, Bandwidth];

    /// <summary>The one list of metrics a gate (and an overhead) may judge; a suite's gate.metrics picks from it.</summary>
    public static readonly IReadOnlyList<MetricInfo> Gated = All.Where(m => m.Gated != GatedIn.Never).ToList();

    /// <summary>The metrics a scenario may set a latency limit on.</summary>
    public static readonly IReadOnlyList<MetricInfo> Limited = [Latency, Ttft, Tpot];

    /// <summary>Windows the offline run is cut into so its throughput has a distribution, not a single number.</summary>
    public const int ThroughputWindows = 20;

    public static MetricInfo ByName(string name) => All.FirstOrDefault(m => m.Name == name)
        ?? throw new KeyNotFoundException($"unknown metric '{name}'; metrics: {string.Join(", ", All.Select(m => m.Name))}");

    public static bool TryByName(string name, out MetricInfo metric)
    {
        metric = All.FirstOrDefault(m => m.Name == name)!;
        return metric is not null;
    }

    /// <summary>Whether a metric says something about the SUT in this scenario (see each metric's GatedIn).</summary>
    public static bool IsGateable(ScenarioKind kind, string metric) => TryByName(metric, out var m) && m.IsGatedIn(kind);

    /// <summary>The values of every metric this scenario yields, from served queries only (a failed query's time is not the SUT's).</summary>
    public static Dictionary<string, double[]> FromRecords(IReadOnlyList<QueryRecord> records, ScenarioKind kind)
    {
        var done = records.Where(r => r.IsServed).ToArray();
        var result = new Dictionary<string, double[]>
        {
            [Latency.Name] = done.Select(r => (double)r.LatencyNs).ToArray(),
            [IssueLag.Name] = done.Select(r => (double)r.IssueLagNs).ToArray(),
        };
        var ttft = done.Where(r => r.TtftNs >= 0).Select(r => (double)r.TtftNs).ToArray();
        if (ttft.Length > 0) result[Ttft.Name] = ttft;
        var tpot = done.Where(r => r.TpotNs >= 0).Select(r => (double)r.TpotNs).ToArray();
        if (tpot.Length > 0) result[Tpot.Name] = tpot;
        var inside = done.Where(r => r.InsideNs > 0).Select(r => (double)r.InsideNs).ToArray();
        if (inside.Length > 0) result[Inside.Name] = inside;
        if (kind == ScenarioKind.Offline && done.Length >= ThroughputWindows * 2)
            result[Throughput.Name] = WindowedThroughput(done);
        return result;
    }

    /// <summary>Tokens per second in consecutive equal-count windows of completions, ordered by completion time.</summary>
    public static double[] WindowedThroughput(IReadOnlyList<QueryRecord> done)
    {
        var byTime = done.OrderBy(r => r.CompletedNs).ToArray();
        var windows = new List<double>(ThroughputWindows);
        long previousEnd = byTime.Min(r => r.IssuedNs);
        for (var w = 0; w < ThroughputWindows; w++)
        {
            var from = w * byTime.Length / ThroughputWindows;
            var to = (w + 1) * byTime.Length / ThroughputWindows;
            var end = byTime[to - 1].CompletedNs;
            var tokens = 0L;
            for (var i = from; i < to; i++) tokens += Math.Max(1, byTime[i].Tokens);
            if (end > previousEnd) windows.Add(tokens / ((end - previousEnd) / 1e9));
            previousEnd = end;
        }
        return windows.ToArray();
    }
}
