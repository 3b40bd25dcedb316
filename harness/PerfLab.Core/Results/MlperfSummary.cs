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
        sb.AppendLine(Rule).AppendLine("MLPerf Results Summary").AppendLine(Rule);
        Line("SUT name", sutName);
        Line("Cell", r.Cell.Id);
        Line("Scenario", spec.Kind.Name());
        Line("Mode", "PerformanceOnly");
        Line("Platform", $"{r.Cell.Realm.Platform.Name()} (evidence: {EvidenceSource.Label(r.Evidence.Name(), r.EvidenceSource)})");
        if (r.EffectiveRealm.Get(SettingSource.Host, "calibration_source") is { } source) Line("Calibration profile source", source);
        if (a is null)
        {
            Line("Result is", r.Status == CellStatus.Skipped ? "SKIPPED" : "INVALID");
            Line("Reason", r.Reason ?? "no result");
            return sb.ToString();
        }
        var m = a.Mlperf;
        string Pct0(double p) => (p * 100).ToString("F0", CultureInfo.InvariantCulture);
        switch (spec.Kind)
        {
            case ScenarioKind.SingleStream:
                Line($"{Pct0(a.Percentile)}th percentile latency (ns)", Ns(m?.TargetPercentileNs));
                break;
            case ScenarioKind.Server:
                // LoadGen's figures under LoadGen's labels; the rate asked for is the lab's own line.
                Line("Target QPS (PerfLab)", r.Effective?.TargetQps?.ToString("0.###", CultureInfo.InvariantCulture) ?? "–");
                Line("Scheduled samples per second", m?.ScheduledSamplesPerSecond?.ToString("0.###", CultureInfo.InvariantCulture) ?? "–");
                if (r.Capacity is { } cap)
                {
                    Line("Capacity search", cap.CapacityQps is { } q ? $"{q.ToString("0.###", CultureInfo.InvariantCulture)} QPS VALID ({cap.Probes.Count} probes)" : "no VALID rate found");
                    Line("  Search outcome", cap.Note);
                }
                Line("Completed samples per second", m?.CompletedSamplesPerSecond?.ToString("0.###", CultureInfo.InvariantCulture) ?? "–");
                Line("Completed tokens per second", a.TokensPerSecond.ToString("0.###", CultureInfo.InvariantCulture));
                break;
            default:
                Line("Samples per second", a.QueriesPerSecond.ToString("0.###", CultureInfo.InvariantCulture));
                Line("Tokens per second", a.TokensPerSecond.ToString("0.###", CultureInfo.InvariantCulture));
                break;
        }
        Line("Result is", a.Validity.Word);
        if (m is not null)
        {
            if (spec.Kind == ScenarioKind.Server) Line("  Performance constraints satisfied", m.PerfConstraintsMet ? "Yes" : "NO");
            Line("  Min duration satisfied", m.MinDurationMet ? "Yes" : "NO");
            Line("  Min queries satisfied", m.MinQueriesMet ? "Yes" : "NO");
            Line("  Early stopping satisfied", m.EarlyStoppingMet ? "Yes" : "NO");
        }
        if (!a.Validity.Valid)
        {
            sb.AppendLine("Recommendations:");
            foreach (var reason in a.Validity.Reasons) sb.AppendLine(" * " + reason);
        }
        if (spec.Kind != ScenarioKind.Offline && m is not null)
        {
            sb.AppendLine("Early Stopping Result:");
            foreach (var e in m.EarlyStopping)
            {
                var what = e.Metric == "latency" ? "" : e.Metric.ToUpperInvariant() + " ";
                if (e.LimitNs is { } limit)
                    sb.AppendLine(e.Passed ? $" * {what}Run successful ({e.OverBound} of {e.QueriesIssued} queries over {Ns(limit)} ns; {e.NeedQueries} needed)."
                        : $" * {what}Run unsuccessful.\n * Processed {e.QueriesIssued} queries.\n * Would need to run at least {e.NeedQueries - e.QueriesIssued} more queries,\n with the run being successful if every additional\n query were under latency.");
                else if (spec.Kind == ScenarioKind.SingleStream && Math.Abs(e.Percentile - a.Percentile) > 1e-12)
                    // LoadGen's extra 99th-percentile estimate (for multi-stream) is one line, and never decides validity.
                    sb.AppendLine(e.EstimateNs is { } x99 ? $" * Early stopping {Pct0(e.Percentile)}th percentile estimate: {Ns(x99)}"
                        : $" * Not enough queries processed for {Pct0(e.Percentile)}th percentile\n early stopping estimate (would need to process at\n least {e.NeedQueries} total queries).");
                else if (e.EstimateNs is { } est)
                    sb.AppendLine($" * Processed at least {e.NeedQueries} queries ({e.QueriesIssued}).\n * Would discard {e.Discarded} highest {what.ToLowerInvariant()}latency queries.\n" +
                                  $" * Early stopping {Pct0(e.Percentile)}th percentile {what.ToLowerInvariant()}estimate: {Ns(est)}");
                else sb.AppendLine($" * Only processed {e.QueriesIssued} queries.\n * Need to process at least {e.NeedQueries} queries for early stopping ({what.ToLowerInvariant()}p{Pct0(e.Percentile)}).");
            }
        }
        Line("MLPerf conformance", a.Validity.Compliant ? "conformant" : a.Validity.NonCompliantReason ?? "not conformant");

        sb.AppendLine().AppendLine(Rule).AppendLine("Additional Stats").AppendLine(Rule);
        foreach (var st in m?.Stats ?? [])
        {
            var what = st.Metric switch { "ttft" => "First Token latency", "tpot" => "Time to Output Token", _ => "latency" };
            Line($"Min {what} (ns)", st.Min);
            Line($"Max {what} (ns)", st.Max);
            Line($"Mean {what} (ns)", st.Mean);
            foreach (var (p, v) in st.Percentiles) Line($"{(p * 100).ToString("F2", CultureInfo.InvariantCulture)} percentile {what} (ns)", v);
            sb.AppendLine();
        }

        sb.AppendLine(Rule).AppendLine("PerfLab statistics (the lab's own: Harrell–Davis estimates with 95 % intervals; not LoadGen's)").AppendLine(Rule);
        foreach (var (metric, d) in a.Distributions.OrderBy(kv => kv.Key))
        {
            var unit = Metrics.TryByName(metric, out var info) ? info.UnitSymbol : "";
            Line($"{metric}: n", d.N);
            Line($"{metric}: min ({unit})", N(d.Min));
            Line($"{metric}: median ({unit})", $"{N(d.Median.Value)} [{N(d.Median.Lower)}, {N(d.Median.Upper)}]");
            Line($"{metric}: 90.00 percentile ({unit})", $"{N(d.P90.Value)} [{N(d.P90.Lower)}, {N(d.P90.Upper)}]");
            Line($"{metric}: 99.00 percentile ({unit})", $"{N(d.P99.Value)} [{N(d.P99.Lower)}, {N(d.P99.Upper)}]");
            Line($"{metric}: max ({unit})", N(d.Max));
            if (d.NoiseWarning is { } w) Line($"{metric}: WARNING", w);
        }
        sb.AppendLine().AppendLine(Rule).AppendLine("Test Parameters Used").AppendLine(Rule);
        if (r.Effective is { } eff)
        {
            Line("scenario", eff.Kind);
            Line("target_qps", eff.TargetQps?.ToString(CultureInfo.InvariantCulture) ?? "–");
            Line("min_duration (s)", eff.MinDurationS);
            Line("max_duration (s)", eff.MaxDurationS);
            Line("min_query_count", eff.MinQueryCount);
            Line("queries_planned", eff.QueriesPlanned);
            Line("performance_sample_count", eff.PerformanceSampleCount);
            Line("schedule_rng_seed", eff.Seed);
            Line("wait_strategy", eff.WaitStrategy);
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
