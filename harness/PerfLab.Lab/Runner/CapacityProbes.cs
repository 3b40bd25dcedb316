using PerfLab.Core.Analysis;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Suites;
using PerfLab.Lab.Backends;
using PerfLab.Lab.Progress;
using PerfLab.Results;

namespace PerfLab.Lab.Runner;

/// <summary>
/// Runs the probes of a capacity search on one Realm, each a full-length server run at the suite's profile with the
/// suite's seed (the same arrival pattern scaled, so neighbouring rates are compared on equal terms). Every probe's
/// queries are kept in cells/&lt;cell&gt;/capacity_samples.csv; the cell's own samples are those of a VALID probe at the
/// capacity found (not of a higher probe that was VALID once and lost its repeats: the search judged that rate INVALID).
/// </summary>
internal sealed class CapacityProbes(Suite suite, Cell cell, IServingRealm realm, RunFolderWriter folder, IRunProgress progress, RunContext context,
    CancellationToken cancel, int launch)
{
    private static PerfLab.Core.Units.Nanoseconds? LimitOf(ScenarioSpec s, MetricInfo m) =>
        m == Metrics.Latency ? s.LatencyLimit : m == Metrics.Ttft ? s.TtftLimit : m == Metrics.Tpot ? s.TpotLimit : null;

    public (ScenarioRun Run, ScenarioSpec Spec, CapacityResult Result) Search(CapacitySearchSpec search)
    {
        (ScenarioRun Run, ScenarioSpec Spec)? last = null;
        var valid = new List<(ScenarioRun Run, ScenarioSpec Spec)>();
        var generator = new LoadGenerator(context.Wait, context.Clock);
        var result = CapacitySearch.Run(search, (index, phase, qps) =>
        {
            var spec = CapacitySearch.ProbeSpec(cell.Scenario, qps);
            var run = generator.Run(spec, realm.Sut, realm.Library, suite.Seed, cancel, progress.CellProgress);
            folder.AppendCapacitySamples(cell, launch, index, qps, run.Records);
            var a = ScenarioAnalysis.Of(spec, run, suite.Profile, suite.Gate);
            last = (run, spec);
            var failed = run.Failure != null || run.Interrupted;
            if (a.Validity.Valid && !failed) valid.Add((run, spec));
            double? P99(MetricInfo m) => a.Distributions.TryGetValue(m.Name, out var d) ? d.P99.Value : null;
            var probe = new CapacityProbe(index, phase, qps, a.Validity.Valid && !failed, failed, a.QueriesPerSecond,
                P99(Metrics.Ttft), P99(Metrics.Tpot), P99(Metrics.Latency), a.Validity.Valid ? null : string.Join("; ", a.Validity.Reasons))
            {
                Margin = failed || a.Mlperf is null ? null : MlperfRules.OverLimitMargin(a.Mlperf),
                PeakToLimit = Metrics.Limited.Select(m => (Metric: m, Limit: LimitOf(spec, m)))
                    .Where(x => x.Limit is not null && a.Distributions.ContainsKey(x.Metric.Name))
                    .Select(x => (double?)(a.Distributions[x.Metric.Name].Max / x.Limit!.Value.Value)).Max(),
            };
            progress.Note($"  probe {index + 1} ({phase}) {qps:0.###} QPS: {(probe.Valid ? "VALID" : "INVALID")}" +
                          (probe.Margin is { } margin ? $" (margin {margin:+0;-0} over-limit queries)" : "") +
                          (probe.P99TtftNs is { } t ? $", p99 TTFT {t / 1e6:0.##} ms" : "") + (probe.P99LatencyNs is { } l ? $", p99 latency {l / 1e6:0.##} ms" : ""));
            return probe;
        }, cancel);
        progress.Note($"  capacity: {(result.CapacityQps is { } c ? $"{c:0.###} QPS" : "none")} — {result.Note}");
        // No probe at all only when cancelled before the first: that run stops at once and the cell reads as interrupted.
        (ScenarioRun Run, ScenarioSpec Spec)? best = result.CapacityQps is { } cap && valid.Where(v => v.Spec.TargetQps <= cap * (1 + 1e-9)).ToList() is { Count: > 0 } under
            ? under.MaxBy(v => v.Spec.TargetQps) : null;
        var chosen = best ?? last ?? (generator.Run(CapacitySearch.ProbeSpec(cell.Scenario, search.StartQps), realm.Sut, realm.Library, suite.Seed, cancel), cell.Scenario);
        return (chosen.Run, chosen.Spec, result);
    }
}
