using PerfLab.Core.LoadGen;
using PerfLab.Core.Statistics;
using PerfLab.Core.Suites;

namespace PerfLab.Core.Analysis;

/// <summary>VALID or INVALID in MLPerf's sense, with every reason, and whether the settings were compliant.</summary>
public sealed record Validity(bool Valid, IReadOnlyList<string> Reasons, bool Compliant, string? NonCompliantReason)
{
    public string Word => Valid ? "VALID" : "INVALID";
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
    IReadOnlyList<EarlyStoppingResult> EarlyStopping,
    Validity Validity)
{
    /// <summary>LoadGen's verdict and each of its conditions (null for a microbenchmark, which LoadGen has no scenario for).</summary>
    public MlperfVerdict? Mlperf { get; init; }

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

        // The lab's own reasons: a failed, interrupted or unfinished cell is never VALID, whatever LoadGen's rules say.
        var reasons = new List<string>();
        if (run.Failure is { } f) reasons.Add("the cell failed: " + f);
        if (run.Interrupted) reasons.Add("interrupted before the end");
        if (run.TimedOut) reasons.Add($"{run.Records.Length - done.Length} of {run.Records.Length} queries did not complete within max_duration_s ({spec.MaxDuration.Seconds:0.###} s)");

        double[] V(MetricInfo m) => values.TryGetValue(m.Name, out var v) ? v : [];
        var last = run.Records.Length > 0 ? run.Records[^1] : default;
        var tokenMode = spec.TtftLimit is not null || spec.TpotLimit is not null;
        var verdict = MlperfRules.Judge(new MlperfTrace(spec.Kind, spec.TargetPercentile, spec.EarlyStoppingConfidence, spec.MinDuration.Value,
            spec.MinQueryCount, run.Records.Length, V(Metrics.Latency), V(Metrics.Ttft), V(Metrics.Tpot), last.IssuedNs, last.ScheduledNs,
            done.Length == 0 ? 0 : done.Max(r => (double)r.LatencyNs), spec.LatencyLimit?.Value, spec.TtftLimit?.Value, spec.TpotLimit?.Value, tokenMode)
        {
            FinalCompletedNs = Math.Max(0, last.CompletedNs),
        });
        reasons.AddRange(verdict.Reasons);

        var notConformant = new List<string>();
        if (profile != RunProfile.Full) notConformant.Add("profile ci: durations and counts below MLPerf's minimums");
        notConformant.AddRange(verdict.Departures);
        var validity = new Validity(reasons.Count == 0, reasons, notConformant.Count == 0,
            notConformant.Count == 0 ? null : "not MLPerf-conformant: " + string.Join("; ", notConformant));
        var estimate = verdict.EarlyStopping.FirstOrDefault(e => e.EstimateNs is not null && Math.Abs(e.Percentile - spec.TargetPercentile) < 1e-12)?.EstimateNs;
        return new ScenarioAnalysis(run.Records.Length, done.Length, durationS, done.Length / durationS, tokens / durationS,
            distributions, estimate, spec.TargetPercentile, verdict.EarlyStopping, validity) { Mlperf = verdict };
    }
}
