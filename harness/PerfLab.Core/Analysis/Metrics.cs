using PerfLab.Core.LoadGen;
using PerfLab.Core.Suites;

namespace PerfLab.Core.Analysis;

/// <summary>A metric the lab reports: its name, unit and which direction is better.</summary>
public sealed record MetricInfo(string Name, string Unit, bool HigherIsBetter, string Description);

/// <summary>The per-query metrics and how each is derived from the raw query records.</summary>
public static class Metrics
{
    public static readonly MetricInfo Latency = new("latency", "ns", false, "completion − scheduled issue time (end to end, includes the path into the Realm)");
    public static readonly MetricInfo Ttft = new("ttft", "ns", false, "first token − scheduled issue time");
    public static readonly MetricInfo Tpot = new("tpot", "ns", false, "(completion − first token) / (tokens − 1)");
    public static readonly MetricInfo IssueLag = new("issue_lag", "ns", false, "actual − scheduled issue time: the load generator's own error");
    public static readonly MetricInfo Inside = new("inside", "ns", false, "service time as the agent measured it inside the Realm");
    public static readonly MetricInfo Throughput = new("throughput", "tokens/s", true, "tokens per second over equal-count windows of completions (offline)");

    public static readonly MetricInfo OpCost = new("op_cost", "ns", false, "cost of one operation of a native microbenchmark, empty loop subtracted");
    public static readonly MetricInfo Bandwidth = new("bandwidth", "bytes/s", true, "bytes moved per second by a native microbenchmark");

    public static readonly IReadOnlyList<MetricInfo> All = [Latency, Ttft, Tpot, IssueLag, Inside, Throughput, OpCost, Bandwidth];

    /// <summary>Windows the offline run is cut into so its throughput has a distribution, not a single number.</summary>
    public const int ThroughputWindows = 20;

    public static MetricInfo ByName(string name) => All.First(m => m.Name == name);

    /// <summary>
    /// Whether a metric says something about the SUT in this scenario. Offline latency and TTFT only say where a
    /// query stood in a queue that was filled at once, so offline is judged on throughput and TPOT, as MLPerf does.
    /// </summary>
    public static bool IsGateable(ScenarioKind kind, string metric) => metric switch
    {
        "throughput" => kind == ScenarioKind.Offline,
        "latency" or "ttft" => kind != ScenarioKind.Offline,
        "tpot" or "op_cost" or "bandwidth" => true,
        _ => false,
    };

    /// <summary>The values of every metric this scenario yields, from completed queries only.</summary>
    public static Dictionary<string, double[]> FromRecords(IReadOnlyList<QueryRecord> records, ScenarioKind kind)
    {
        var done = records.Where(r => r.IsComplete).ToArray();
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
