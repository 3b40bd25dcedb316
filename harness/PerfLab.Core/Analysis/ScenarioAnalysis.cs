using PerfLab.Core.LoadGen;
using PerfLab.Core.Statistics;
using PerfLab.Core.Suites;

namespace PerfLab.Core.Analysis;

/// <summary>VALID or INVALID in MLPerf's sense, with every reason, and whether the settings were compliant.</summary>
public sealed record Validity(bool Valid, IReadOnlyList<string> Reasons, bool Compliant, string? NonCompliantReason)
{
    public string Word => Valid ? "VALID" : "INVALID";
}

/// <summary>A latency bound checked with early stopping: how many queries went over it and how many may.</summary>
public sealed record BoundCheck(string Metric, double LimitNs, double Percentile, long N, long OverBound, long AllowedOverBound, double? EarlyStoppingEstimateNs)
{
    public bool Passed => AllowedOverBound >= 0 && OverBound <= AllowedOverBound;
}

/// <summary>Everything judged from one scenario run: distributions, throughput, bound checks, validity.</summary>
public sealed record ScenarioAnalysis(
    long QueriesIssued,
    long QueriesCompleted,
    double DurationS,
    double QueriesPerSecond,
    double TokensPerSecond,
    IReadOnlyDictionary<string, DistributionSummary> Distributions,
    double? EarlyStoppingPercentileNs,
    double Percentile,
    IReadOnlyList<BoundCheck> Bounds,
    Validity Validity)
{
    /// <summary>The analysis of a native microbenchmark: one metric's samples, no load and no latency bounds.</summary>
    public static ScenarioAnalysis OfSamples(MetricInfo metric, IReadOnlyList<double> values, double durationS, GateSpec gate, double confidenceLevel = 0.95)
    {
        var d = DistributionSummary.Of(values, confidenceLevel, gate.ThresholdPct)!;
        return new ScenarioAnalysis(values.Count, values.Count, durationS, values.Count / Math.Max(1e-9, durationS), 0,
            new Dictionary<string, DistributionSummary> { [metric.Name] = d }, null, 0.5, [],
            new Validity(true, [], true, null));
    }

    /// <param name="gate">whose threshold decides when a gated metric is too noisy to judge</param>
    public static ScenarioAnalysis Of(ScenarioSpec spec, ScenarioRun run, RunProfile profile, GateSpec gate, double confidenceLevel = 0.95)
    {
        var values = Metrics.FromRecords(run.Records, spec.Kind);
        var distributions = values.ToDictionary(kv => kv.Key,
            kv => DistributionSummary.Of(kv.Value, confidenceLevel, gate.Metrics.Contains(kv.Key) ? gate.ThresholdPct : null)!);
        var done = run.Records.Where(r => r.IsComplete).ToArray();
        // Duration counts from the scenario's start, as LoadGen's does, to the last completion.
        var durationS = done.Length == 0 ? run.DurationNs / 1e9 : Math.Max(1e-9, done.Max(r => r.CompletedNs) / 1e9);
        var tokens = done.Sum(r => (long)Math.Max(1, r.Tokens));

        var reasons = new List<string>();
        if (run.Failure is { } f) reasons.Add("the cell failed: " + f);
        if (run.Interrupted) reasons.Add("interrupted before the end");
        if (run.TimedOut) reasons.Add($"{run.Records.Length - done.Length} of {run.Records.Length} queries did not complete within max_duration_s ({spec.MaxDuration.Seconds:0.###} s)");
        if (done.Length < spec.MinQueryCount) reasons.Add($"{done.Length} queries completed, fewer than min_queries ({spec.MinQueryCount})");
        if (spec.Kind != ScenarioKind.Server && durationS < spec.MinDuration.Seconds)
            reasons.Add($"ran {durationS:0.###} s, less than min_duration_s ({spec.MinDuration.Seconds:0.###} s)" +
                        (spec.Kind == ScenarioKind.Offline ? "; raise qps (the expected QPS) so more queries are planned" : ""));
        if (spec.Kind == ScenarioKind.Server && run.Records.Length > 0 && run.Records[^1].ScheduledNs < spec.MinDuration.Value * 0.999)
            reasons.Add($"the schedule ended at {run.Records[^1].ScheduledNs / 1e9:0.###} s, before min_duration_s ({spec.MinDuration.Seconds:0.###} s)");

        var bounds = new List<BoundCheck>();
        var tooFewNoted = false;
        if (spec.Kind == ScenarioKind.Server)
        {
            void Check(MetricInfo m, PerfLab.Core.Units.Nanoseconds? limit)
            {
                if (limit is not { } l) return;
                if (!values.TryGetValue(m.Name, out var v) || v.Length == 0)
                {
                    reasons.Add($"{m.Name} has a limit but the SUT reported no {m.Name} (does it stream tokens?)");
                    return;
                }
                var over = v.LongCount(x => x > l.Value);
                var allowed = EarlyStopping.MaxOverBoundCount(v.Length, spec.TargetPercentile, spec.EarlyStoppingConfidence);
                var check = new BoundCheck(m.Name, l.Value, spec.TargetPercentile, v.Length, over, allowed,
                    EarlyStopping.PercentileEstimate(v, spec.TargetPercentile, spec.EarlyStoppingConfidence));
                bounds.Add(check);
                if (allowed < 0 && !tooFewNoted)
                {
                    tooFewNoted = true;
                    reasons.Add($"{v.Length} queries are too few for early stopping at p{spec.TargetPercentile * 100:0.##} with {spec.EarlyStoppingConfidence:P0} confidence " +
                                $"(need at least {EarlyStopping.MinQueriesForZeroOverBound(spec.TargetPercentile, spec.EarlyStoppingConfidence)})");
                }
                else if (allowed >= 0 && over > allowed)
                    reasons.Add($"{m.Name} p{spec.TargetPercentile * 100:0.##} over its limit of {PerfLab.Core.Units.Nanoseconds.Format(l.Value)}: " +
                                $"{over} of {v.Length} queries over, early stopping allows {allowed}");
            }
            Check(Metrics.Latency, spec.LatencyLimit);
            Check(Metrics.Ttft, spec.TtftLimit);
            Check(Metrics.Tpot, spec.TpotLimit);
        }

        double? es = values.TryGetValue(Metrics.Latency.Name, out var lat)
            ? EarlyStopping.PercentileEstimate(lat, spec.TargetPercentile, spec.EarlyStoppingConfidence) : null;
        var validity = new Validity(reasons.Count == 0, reasons, profile == RunProfile.Full,
            profile == RunProfile.Full ? null : "profile ci: durations and counts below MLPerf's minimums");
        return new ScenarioAnalysis(run.Records.Length, done.Length, durationS, done.Length / durationS, tokens / durationS,
            distributions, es, spec.TargetPercentile, bounds, validity);
    }
}
