using System.Globalization;
using System.Text;
using PerfLab.Core.Analysis;
using PerfLab.Core.Suites;
using PerfLab.Core.Units;

namespace PerfLab.Core.Results;

/// <summary>Formats a cell as the mlperf_log_summary.txt a LoadGen user recognises.</summary>
public static class MlperfSummary
{
    private const string Rule = "================================================";

    public static string Format(CellResult r, string sutName)
    {
        var sb = new StringBuilder();
        var spec = r.Cell.Scenario;
        var a = r.Analysis;
        void Line(string k, object v) => sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{k} : {v}"));
        sb.AppendLine(Rule).AppendLine("MLPerf Results Summary (PerfLab)").AppendLine(Rule);
        Line("SUT name", sutName);
        Line("Cell", r.Cell.Id);
        Line("Scenario", spec.Kind.Name());
        Line("Mode", "PerformanceOnly");
        Line("Platform", $"{r.Cell.Realm.Platform.Name()} (evidence: {r.Evidence.Name()})");
        if (a is null)
        {
            Line("Result is", r.Status == CellStatus.Skipped ? "SKIPPED" : "INVALID");
            Line("Reason", r.Reason ?? "no result");
            return sb.ToString();
        }
        switch (spec.Kind)
        {
            case ScenarioKind.SingleStream:
                Line($"{a.Percentile * 100:0.##}th percentile latency (ns)", Ns(a.Distributions.GetValueOrDefault("latency")?.P90.Value));
                Line($"Early stopping {a.Percentile * 100:0.##}th percentile estimate (ns)", Ns(a.EarlyStoppingPercentileNs));
                break;
            case ScenarioKind.Server:
                Line("Scheduled samples per second", (r.Effective?.TargetQps ?? spec.TargetQps)?.ToString("0.###", CultureInfo.InvariantCulture) ?? "–");
                if (r.Capacity is { } cap)
                {
                    Line("Capacity search", cap.CapacityQps is { } q ? $"{q.ToString("0.###", CultureInfo.InvariantCulture)} QPS VALID ({cap.Probes.Count} probes)" : "no VALID rate found");
                    Line("  Search outcome", cap.Note);
                }
                Line("Completed samples per second", a.QueriesPerSecond.ToString("0.###", CultureInfo.InvariantCulture));
                Line("Completed tokens per second", a.TokensPerSecond.ToString("0.###", CultureInfo.InvariantCulture));
                break;
            default:
                Line("Samples per second", a.QueriesPerSecond.ToString("0.###", CultureInfo.InvariantCulture));
                Line("Tokens per second", a.TokensPerSecond.ToString("0.###", CultureInfo.InvariantCulture));
                break;
        }
        Line("Result is", a.Validity.Word);
        Line("  Min duration satisfied", a.Validity.Reasons.Any(x => x.Contains("min_duration")) ? "NO" : "Yes");
        Line("  Min queries satisfied", a.Validity.Reasons.Any(x => x.Contains("min_queries")) ? "NO" : "Yes");
        Line("  Early stopping satisfied", a.Bounds.All(b => b.Passed) ? "Yes" : "NO");
        foreach (var reason in a.Validity.Reasons) Line("  Reason", reason);
        Line("Compliant", a.Validity.Compliant ? "Yes" : "NO (" + a.Validity.NonCompliantReason + ")");
        foreach (var b in a.Bounds)
            Line($"{b.Metric.ToUpperInvariant()} early stopping p{b.Percentile * 100:0.##} estimate (ns)",
                $"{Ns(b.EarlyStoppingEstimateNs)} (limit {Ns(b.LimitNs)}; {b.OverBound} of {b.N} over, {b.AllowedOverBound} allowed)");

        sb.AppendLine().AppendLine(Rule).AppendLine("Additional Stats").AppendLine(Rule);
        foreach (var (metric, d) in a.Distributions.OrderBy(kv => kv.Key))
        {
            var unit = Metrics.ByName(metric).UnitSymbol;
            Line($"{metric}: n", d.N);
            Line($"{metric}: min ({unit})", N(d.Min));
            Line($"{metric}: median ({unit})", $"{N(d.Median.Value)} [{N(d.Median.Lower)}, {N(d.Median.Upper)}]");
            Line($"{metric}: 90.00 percentile ({unit})", $"{N(d.P90.Value)} [{N(d.P90.Lower)}, {N(d.P90.Upper)}]");
            Line($"{metric}: 99.00 percentile ({unit})", $"{N(d.P99.Value)} [{N(d.P99.Lower)}, {N(d.P99.Upper)}]");
            Line($"{metric}: max ({unit})", N(d.Max));
            if (d.NoiseWarning is { } w) Line($"{metric}: WARNING", w);
        }
        sb.AppendLine().AppendLine(Rule).AppendLine("Test Parameters Used").AppendLine(Rule);
        if (r.Effective is { } e)
        {
            Line("scenario", e.Kind);
            Line("target_qps", e.TargetQps?.ToString(CultureInfo.InvariantCulture) ?? "–");
            Line("min_duration (s)", e.MinDurationS);
            Line("max_duration (s)", e.MaxDurationS);
            Line("min_query_count", e.MinQueryCount);
            Line("queries_planned", e.QueriesPlanned);
            Line("performance_sample_count", e.PerformanceSampleCount);
            Line("schedule_rng_seed", e.Seed);
            Line("wait_strategy", e.WaitStrategy);
        }
        Line("ttft_latency (ns)", Ns(spec.TtftLimit?.Value));
        Line("tpot_latency (ns)", Ns(spec.TpotLimit?.Value));
        Line("target_latency (ns)", Ns(spec.LatencyLimit?.Value));
        Line("target_latency_percentile", spec.TargetPercentile);
        Line("early_stopping_confidence", spec.EarlyStoppingConfidence);
        foreach (var (k, v) in r.EffectiveRealm.All) Line("realm." + k, v);
        return sb.ToString();
    }

    private static string Ns(double? v) => v is { } x ? ((long)x).ToString(CultureInfo.InvariantCulture) : "–";
    private static string N(double v) => double.IsNaN(v) ? "–" : v.ToString("0.###", CultureInfo.InvariantCulture);
}
