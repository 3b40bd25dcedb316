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
    /// <summary>Queries that ended without their answer, and how many for each reason (most frequent first).</summary>
    public QueryFailures Failures { get; init; } = QueryFailures.None;

    /// <summary>Queries served within every limit the scenario sets (TTFT, TPOT, latency), per second; null without limits.</summary>
    public Goodput? Goodput { get; init; }

    /// <summary>
    /// Set when the load generator could not keep a server scenario's schedule: its p99 issue lag (scheduled to issued)
    /// above a millisecond and above a tenth of the mean gap between arrivals. Latency counts from the schedule, so the
    /// figures stay honest, but the load was not the one asked for: said, not judged.
    /// </summary>
    public string? ScheduleNote { get; init; }

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

    private static string? Schedule(ScenarioSpec spec, Dictionary<string, double[]> values)
    {
        if (spec.Kind != ScenarioKind.Server || spec.TargetQps is not { } qps || !values.TryGetValue(Metrics.IssueLag.Name, out var lags) || lags.Length == 0) return null;
        var sorted = lags.Order().ToArray();
        var p99 = sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(0.99 * sorted.Length) - 1)];
        var bound = Math.Max(1e6, 0.1 * 1e9 / qps);
        return p99 <= bound ? null
            : $"the load generator fell behind its schedule: p99 issue lag {p99 / 1e6:0.###} ms over {bound / 1e6:0.###} ms at {qps:0.###} QPS (its host is too busy or too slow for this rate)";
    }

    /// <param name="gate">whose threshold decides when a gated metric is too noisy to judge</param>
    public static ScenarioAnalysis Of(ScenarioSpec spec, ScenarioRun run, RunProfile profile, GateSpec gate, double confidenceLevel = 0.95)
    {
        var values = Metrics.FromRecords(run.Records, spec.Kind);
        var distributions = values.ToDictionary(kv => kv.Key,
            kv => DistributionSummary.Of(kv.Value, confidenceLevel, gate.Metrics.Contains(kv.Key) ? gate.ThresholdPct : null)!);
        var done = run.Records.Where(r => r.IsServed).ToArray();
        var failures = QueryFailures.Of(run.Records);
        var ended = done.Length + failures.Count;
        // Duration counts from the scenario's start, as LoadGen's does, to the last completion.
        var durationS = done.Length == 0 ? run.DurationNs / 1e9 : Math.Max(1e-9, done.Max(r => r.CompletedNs) / 1e9);
        var tokens = done.Sum(r => (long)Math.Max(1, r.Tokens));

        // The lab's own reasons: a failed, interrupted or unfinished cell is never VALID, whatever LoadGen's rules say.
        var reasons = new List<string>();
        if (run.Failure is { } f) reasons.Add("the cell failed: " + f);
        if (run.Interrupted) reasons.Add("interrupted before the end");
        if (failures.Count > 0) reasons.Add($"{failures.Count} of {run.Records.Length} queries failed: {failures.Describe()}");
        if (run.TimedOut) reasons.Add($"{run.Records.Length - ended} of {run.Records.Length} queries did not complete within max_duration_s ({spec.MaxDuration.Seconds:0.###} s)");

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
            distributions, estimate, spec.TargetPercentile, verdict.EarlyStopping, validity)
        {
            Mlperf = verdict, Failures = failures, Goodput = Analysis.Goodput.Of(spec, run.Records, durationS),
            ScheduleNote = Schedule(spec, values),
        };
    }
}

/// <summary>Failed queries by reason. Reasons that differ only in numbers (a query id, a byte count) are counted as one.</summary>
public sealed record QueryFailures(int Count, IReadOnlyList<(string Reason, int Count)> ByReason)
{
    public static readonly QueryFailures None = new(0, []);

    public static QueryFailures Of(IEnumerable<QueryRecord> records)
    {
        var failed = records.Where(r => r.IsComplete && r.Error is not null).Select(r => Trim(r.Error!)).ToList();
        if (failed.Count == 0) return None;
        // One line per kind of failure: reasons that differ only in numbers (a query id, a chunk count) are one kind,
        // shown as themselves when they are all alike and with N for the numbers that vary otherwise.
        return new QueryFailures(failed.Count, failed.GroupBy(Kind).Select(g => (g.Distinct().Count() == 1 ? g.First() : g.Key, g.Count()))
            .OrderByDescending(g => g.Item2).ThenBy(g => g.Item1, StringComparer.Ordinal).ToList());
    }

    /// <summary>Several launches' failures as one: counts summed reason by reason.</summary>
    public static QueryFailures Merge(IEnumerable<QueryFailures> launches)
    {
        var all = launches.SelectMany(f => f.ByReason).GroupBy(r => r.Reason).Select(g => (g.Key, g.Sum(r => r.Count)))
            .OrderByDescending(g => g.Item2).ThenBy(g => g.Key, StringComparer.Ordinal).ToList();
        return all.Count == 0 ? None : new QueryFailures(all.Sum(r => r.Item2), all);
    }

    private static string Kind(string reason) => System.Text.RegularExpressions.Regex.Replace(reason, @"(?<!HTTP )\b\d+(\.\d+)?\b", "N");

    public string Describe(int max = 4) => string.Join("; ", ByReason.Take(max).Select(r => $"{r.Reason} ×{r.Count}"))
        + (ByReason.Count > max ? $"; {ByReason.Count - max} more reasons" : "");

    private static string Trim(string reason)
    {
        var t = reason.Trim();
        return t.Length > 160 ? t[..160] + "…" : t;
    }
}

/// <summary>
/// Goodput as serving benchmarks define it (vLLM's bench serve, AIPerf): the rate of queries that were served and met
/// every latency limit the scenario sets, each query judged alone. Failed queries are never good.
/// </summary>
public sealed record Goodput(long GoodQueries, long Queries, double QueriesPerSecond)
{
    public double Fraction => Queries == 0 ? 0 : (double)GoodQueries / Queries;

    public static Goodput? Of(ScenarioSpec spec, IReadOnlyList<QueryRecord> records, double durationS)
    {
        if (spec.TtftLimit is null && spec.TpotLimit is null && spec.LatencyLimit is null) return null;
        long good = 0;
        foreach (var r in records)
        {
            if (!r.IsServed) continue;
            if (spec.TtftLimit is { } t && (r.TtftNs < 0 || r.TtftNs > t.Value)) continue;
            if (spec.TpotLimit is { } p && r.TpotNs > p.Value) continue;
            if (spec.LatencyLimit is { } l && r.LatencyNs > l.Value) continue;
            good++;
        }
        return new Goodput(good, records.Count, good / Math.Max(1e-9, durationS));
    }
}
