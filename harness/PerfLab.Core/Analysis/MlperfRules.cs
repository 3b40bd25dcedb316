using PerfLab.Core.Statistics;
using PerfLab.Core.Suites;
using PerfLab.Core.Units;

namespace PerfLab.Core.Analysis;

/// <summary>What LoadGen judges one scenario run by: its settings, the queries it issued and their times, in ns.</summary>
/// <param name="FinalIssuedNs">when the last query was issued, from the scenario's start (single-stream's duration)</param>
/// <param name="FinalScheduledNs">when the last query was scheduled (server's duration)</param>
/// <param name="TokenMode">LoadGen's use_token_latencies: TTFT and TPOT are judged, the query latency is not</param>
public sealed record MlperfTrace(ScenarioKind Kind, double Percentile, double EarlyStoppingConfidence, long MinDurationNs, long MinQueryCount,
    long QueriesIssued, IReadOnlyList<double> LatencyNs, IReadOnlyList<double> TtftNs, IReadOnlyList<double> TpotNs,
    long FinalIssuedNs, long FinalScheduledNs, double MaxLatencyNs, double? LatencyLimitNs, double? TtftLimitNs, double? TpotLimitNs, bool TokenMode)
{
    /// <summary>When the last query issued completed, from the scenario's start (server's "completed" rate).</summary>
    public long FinalCompletedNs { get; init; }
}

/// <summary>One early-stopping result: a single-stream estimate or a server bound check, for one metric.</summary>
public sealed record EarlyStoppingResult(string Metric, double Percentile, double? LimitNs, long QueriesIssued, long NeedQueries, long? OverBound,
    long? Discarded, double? EstimateNs, bool Passed);

/// <summary>LoadGen's additional stats of one metric: min, max, mean (integer, as LoadGen divides) and nearest-rank percentiles.</summary>
public sealed record LoadGenStats(string Metric, long Min, long Max, long Mean, IReadOnlyList<(double Percentile, long ValueNs)> Percentiles)
{
    public static readonly double[] Reported = [0.50, 0.90, 0.95, 0.97, 0.99, 0.999];

    public static LoadGenStats? Of(string metric, IReadOnlyList<double> values)
    {
        if (values.Count == 0) return null;
        var v = values.Select(x => (long)x).Order().ToArray();
        long sum = 0;
        foreach (var x in v) sum += x;
        return new LoadGenStats(metric, v[0], v[^1], sum / v.Length, Reported.Select(p => (p, v[Math.Min(v.Length - 1, (int)(v.Length * p))])).ToList());
    }
}

/// <summary>LoadGen's verdict on a run, each of its conditions, the early-stopping lines, and where the suite departed from LoadGen.</summary>
public sealed record MlperfVerdict(bool Valid, bool MinDurationMet, bool MinQueriesMet, bool PerfConstraintsMet, bool EarlyStoppingMet,
    double TargetPercentileNs, IReadOnlyList<EarlyStoppingResult> EarlyStopping, IReadOnlyList<string> Reasons, IReadOnlyList<string> Departures)
{
    public IReadOnlyList<LoadGenStats> Stats { get; init; } = [];

    /// <summary>LoadGen's server rates: (samples − 1) over the last query's scheduled time, and over its completion time.</summary>
    public double? ScheduledSamplesPerSecond { get; init; }
    public double? CompletedSamplesPerSecond { get; init; }
}

/// <summary>
/// MLPerf LoadGen's validity rules (loadgen/results.cc: MinDurationMet, MinQueriesMet, PerfConstraintsMet,
/// EarlyStopping), in our own code: nearest-rank percentiles; min duration judged on the last query issued
/// (single-stream), scheduled (server) or the longest latency (offline); min queries on queries issued; server
/// performance constraints on the nearest-rank percentile (TTFT and TPOT in token mode, the query latency otherwise);
/// early stopping at LoadGen's fixed 99 % confidence. A suite setting LoadGen does not have is applied and named as a
/// departure, so the verdict is then not MLPerf-conformant.
/// </summary>
public static class MlperfRules
{
    /// <summary>
    /// How many over-limit queries a server verdict had to spare (≥ 0) or was past the limit by (&lt; 0), the tightest of
    /// its bounds: early stopping allows t while queries_issued ≥ h(t) + t, the nearest-rank percentile while fewer than
    /// n − ⌊n·p⌋ are over. Null when the verdict did not turn on over-limit queries (min duration or queries unmet).
    /// </summary>
    public static int? OverLimitMargin(MlperfVerdict v)
    {
        if (!v.MinDurationMet || !v.MinQueriesMet) return null;
        int? margin = null;
        foreach (var e in v.EarlyStopping.Where(e => e.LimitNs is not null && e.OverBound is not null))
        {
            long n = e.QueriesIssued, allowed = -1;
            while (allowed + 1 <= n && n >= Statistics.EarlyStopping.MinPassing(allowed + 1, e.Percentile) + allowed + 1) allowed++;
            allowed = Math.Min(allowed, n - (long)(n * e.Percentile) - 1);
            var m = (int)Math.Clamp(allowed - e.OverBound!.Value, int.MinValue, int.MaxValue);
            margin = margin is { } x ? Math.Min(x, m) : m;
        }
        return margin;
    }

    // "Subtract 1 from sample count since the start of the final sample represents the open end of the time range" (LoadGen).
    private static double? Rate(long samples, long untilNs) => samples > 1 && untilNs > 0 ? (samples - 1) / (untilNs / 1e9) : null;

    public static MlperfVerdict Judge(MlperfTrace r)
    {
        var reasons = new List<string>();
        var departures = new List<string>();
        var p = r.Percentile;
        var c = r.EarlyStoppingConfidence;
        if (Math.Abs(c - EarlyStopping.LoadGenConfidence) > 1e-12)
            departures.Add($"early stopping at {c:P1} confidence; LoadGen fixes {EarlyStopping.LoadGenConfidence:P0}");
        if (r.TokenMode && r.LatencyLimitNs is { } own)
        {
            departures.Add("a latency_limit in token mode: LoadGen judges only TTFT and TPOT there");
            // The lab's own check, reported beside the verdict and never part of it.
            var at = EarlyStopping.NearestRank(r.LatencyNs, r.Percentile);
            if (at > own) departures.Add($"the lab's own latency check: p{r.Percentile * 100:0.##} {Nanoseconds.Format(at)} is over the latency_limit of {Nanoseconds.Format(own)}");
        }
        if (r.Kind == ScenarioKind.Server && r.LatencyLimitNs is null && !r.TokenMode)
            departures.Add("a server scenario without a latency limit: LoadGen always has one");

        var minDuration = r.Kind switch
        {
            ScenarioKind.SingleStream => r.FinalIssuedNs >= r.MinDurationNs,
            ScenarioKind.Server => r.FinalScheduledNs >= r.MinDurationNs,
            _ => r.MaxLatencyNs >= r.MinDurationNs,
        };
        if (!minDuration)
            reasons.Add(r.Kind switch
            {
                ScenarioKind.SingleStream => $"the last query was issued at {Nanoseconds.Format(r.FinalIssuedNs)}, before min_duration_s ({Nanoseconds.Format(r.MinDurationNs)})",
                ScenarioKind.Server => $"the last query was scheduled at {Nanoseconds.Format(r.FinalScheduledNs)}, before min_duration_s ({Nanoseconds.Format(r.MinDurationNs)}); raise qps or min_queries",
                _ => $"the longest latency was {Nanoseconds.Format(r.MaxLatencyNs)}, less than min_duration_s ({Nanoseconds.Format(r.MinDurationNs)}); raise qps (the expected QPS) so more queries are planned",
            });
        var minQueries = r.QueriesIssued >= r.MinQueryCount;
        if (!minQueries) reasons.Add($"{r.QueriesIssued} queries issued, fewer than min_queries ({r.MinQueryCount})");

        var perf = true;
        var es = new List<EarlyStoppingResult>();
        switch (r.Kind)
        {
            case ScenarioKind.Server:
                // The judged metrics and their limits: TTFT and TPOT in token mode, the query latency otherwise.
                var judged = r.TokenMode
                    ? new[] { (Metrics.Ttft, r.TtftNs, r.TtftLimitNs), (Metrics.Tpot, r.TpotNs, r.TpotLimitNs) }
                    : new[] { (Metrics.Latency, r.LatencyNs, r.LatencyLimitNs) };
                foreach (var (metric, values, limit) in judged)
                {
                    if (limit is not { } l) continue;
                    if (values.Count == 0)
                    {
                        reasons.Add($"{metric.Name} has a limit but the SUT reported no {metric.Name} (does it stream tokens?)");
                        perf = false;
                        continue;
                    }
                    var at = EarlyStopping.NearestRank(values, p);
                    if (at > l)
                    {
                        perf = false;
                        reasons.Add($"{metric.Name} p{p * 100:0.##} (nearest rank) {Nanoseconds.Format(at)} is over its limit of {Nanoseconds.Format(l)}");
                    }
                    var b = EarlyStopping.Server(values, r.QueriesIssued, l, p, c);
                    es.Add(new(metric.Name, p, l, r.QueriesIssued, b.NeedQueries, b.OverBound, null, null, b.Passed));
                    if (!b.Passed)
                        reasons.Add($"early stopping on {metric.Name}: {b.OverBound} queries over {Nanoseconds.Format(l)} need at least {b.NeedQueries} queries " +
                                    $"at p{p * 100:0.##}, {r.QueriesIssued} were issued ({b.NeedQueries - r.QueriesIssued} more, all under the limit, would pass)");
                }
                break;
            case ScenarioKind.SingleStream:
                var estimated = r.TokenMode ? new[] { (Metrics.Tpot, r.TpotNs), (Metrics.Ttft, r.TtftNs) } : new[] { (Metrics.Latency, r.LatencyNs) };
                foreach (var (metric, values) in estimated)
                {
                    var e = EarlyStopping.SingleStream(values, r.QueriesIssued, p, c);
                    es.Add(new(metric.Name, p, null, r.QueriesIssued, e.NeedAtLeast, null, e.Discarded, e.EstimateNs, e.Enough));
                    if (!e.Enough) reasons.Add($"early stopping on {metric.Name}: only {r.QueriesIssued} queries issued, at least {e.NeedAtLeast} are needed for a p{p * 100:0.##} estimate");
                }
                // LoadGen also estimates the 99th percentile of single-stream latency (for multi-stream); it never decides validity.
                if (!r.TokenMode && Math.Abs(p - 0.99) > 1e-12)
                {
                    var e99 = EarlyStopping.SingleStream(r.LatencyNs, r.QueriesIssued, 0.99, c);
                    es.Add(new(Metrics.Latency.Name, 0.99, null, r.QueriesIssued, e99.NeedAtLeast, null, e99.Discarded, e99.EstimateNs, true));
                }
                break;
        }
        var earlyStopping = es.All(e => e.Passed);
        var valid = minDuration && minQueries && perf && earlyStopping;
        return new MlperfVerdict(valid, minDuration, minQueries, perf, earlyStopping, EarlyStopping.NearestRank(r.LatencyNs, p), es, reasons, departures)
        {
            ScheduledSamplesPerSecond = Rate(r.LatencyNs.Count, r.FinalScheduledNs),
            CompletedSamplesPerSecond = Rate(r.LatencyNs.Count, r.FinalCompletedNs),
            Stats = new[] { LoadGenStats.Of(Metrics.Latency.Name, r.LatencyNs), LoadGenStats.Of(Metrics.Ttft.Name, r.TtftNs), LoadGenStats.Of(Metrics.Tpot.Name, r.TpotNs) }
                .OfType<LoadGenStats>().ToList(),
        };
    }
}
