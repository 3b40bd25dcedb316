using PerfLab.Core.Analysis;
using PerfLab.Core.Statistics;

namespace PerfLab.Core.Results;

/// <summary>One launch of a cell as its summary lists it: how it ended, its verdict, its host, its medians.</summary>
public sealed record LaunchSummary(int Launch, string Status, string? Reason, string? Validity, double? CapacityQps,
    Interference? Interference, string? Disturbed, IReadOnlyDictionary<string, double> Medians);

/// <summary>A capacity found in every launch of a search cell, with the spread across launches.</summary>
/// <param name="Lower">lower end of the Student-t interval of the geometric mean over launches (null with fewer than two)</param>
public sealed record CapacityOverLaunches(IReadOnlyList<double?> PerLaunchQps, double? GeometricMeanQps, double? Lower, double? Upper,
    double? MinQps, double? MaxQps, double ConfidenceLevel);

/// <summary>
/// Folds a cell's launches into the one result its summary shows. Figures come from every launch that ended ok; intervals
/// are over launches (Statistics.Launches) as soon as there are two; the MLPerf verdict is VALID only when every launch is
/// (each launch is one LoadGen run, with its own mlperf_log_summary.txt); a launch that failed fails the cell and is named.
/// </summary>
public static class LaunchAggregation
{
    /// <param name="launches">every launch recorded, in the order they ran (CellResult.Launch numbers them per cell)</param>
    /// <param name="values">per cell, per metric, each ok launch's values, in launch order</param>
    public static IReadOnlyList<CellResult> Combine(IReadOnlyList<CellResult> launches,
        IReadOnlyDictionary<string, Dictionary<string, List<double[]>>> values, double confidence)
    {
        return launches.GroupBy(l => l.Cell.Id).Select(g => Cell(g.OrderBy(l => l.Launch).ToList(),
            values.GetValueOrDefault(g.Key) ?? [], confidence)).ToList();
    }

    private static CellResult Cell(List<CellResult> launches, Dictionary<string, List<double[]>> values, double confidence)
    {
        var ok = launches.Where(l => l.Status == CellStatus.Ok).ToList();
        var first = ok.FirstOrDefault() ?? launches[0];
        var spread = values.ToDictionary(kv => kv.Key, kv => Launches.Spread(kv.Value.Select(v => (IReadOnlyList<double>)v).ToList()));
        var list = launches.Select(Summary).ToList();
        if (launches.Count == 1)
            return first with { Spread = spread, LaunchList = list, IntervalBasis = IntervalBasis.QueriesOfOneLaunch };

        var n = launches.Count;
        var failed = launches.FirstOrDefault(l => l.Status == CellStatus.Failed);
        var status = failed != null ? CellStatus.Failed
            : launches.Any(l => l.Status == CellStatus.Interrupted) ? CellStatus.Interrupted
            : ok.Count > 0 ? CellStatus.Ok : first.Status;
        var reason = failed != null ? $"launch {failed.Launch} of {n}: {failed.Reason}"
            : status == CellStatus.Ok ? null : first.Reason;
        var disturbed = launches.Where(l => l.Disturbed != null).Select(l => $"launch {l.Launch} of {n}: {l.Disturbed}").ToList();
        var busiest = launches.Where(l => l.Interference != null).MaxBy(l => l.Interference!.OtherCpus)?.Interference;
        return first with
        {
            Status = status, Reason = reason,
            Analysis = ok.Count == 0 ? null : Analysis(ok, values, confidence),
            PhasesMs = MedianPhases(ok.Count > 0 ? ok : launches),
            HostCpuUsPerQuery = ok.Select(l => l.HostCpuUsPerQuery).OfType<double>().ToList() is { Count: > 0 } cpu ? cpu.Average() : null,
            StderrTail = failed?.StderrTail,
            Interference = busiest,
            Disturbed = disturbed.Count == 0 ? null : string.Join("; ", disturbed),
            Capacity = MedianCapacity(ok),
            CapacitySpread = CapacitySpread(ok, confidence),
            Spread = spread, LaunchList = list, IntervalBasis = ok.Count >= 2 ? IntervalBasis.Launches : IntervalBasis.QueriesOfOneLaunch,
        };
    }

    private static LaunchSummary Summary(CellResult l) => new(l.Launch, l.StatusWord, l.Reason, l.Analysis?.Validity.Word,
        l.Capacity?.CapacityQps, l.Interference, l.Disturbed,
        l.Analysis?.Distributions.ToDictionary(kv => kv.Key, kv => kv.Value.Median.Value) ?? new Dictionary<string, double>());

    /// <summary>
    /// The launches' analyses as one: counts summed, rates averaged, each metric's median, p90 and p99 the geometric mean of
    /// the launches' own with its interval over launches; VALID only when every launch is, the reasons named by launch.
    /// </summary>
    private static ScenarioAnalysis? Analysis(List<CellResult> ok, Dictionary<string, List<double[]>> values, double confidence)
    {
        var analyses = ok.Select(l => l.Analysis).OfType<ScenarioAnalysis>().ToList();
        if (analyses.Count == 0) return null;
        var a = analyses.FirstOrDefault(x => !x.Validity.Valid) ?? analyses[0];
        var distributions = new Dictionary<string, DistributionSummary>();
        foreach (var (metric, perLaunch) in values)
        {
            var pooled = perLaunch.SelectMany(v => v).ToArray();
            var judged = a.Distributions.GetValueOrDefault(metric);
            var all = DistributionSummary.Of(pooled, confidence);
            if (all is null) continue;
            var launches = perLaunch.Select(v => (IReadOnlyList<double>)v).ToList();
            Estimate Over(double p, Estimate pooledEstimate) => Launches.QuantileOverLaunches(launches, p, confidence) ?? pooledEstimate;
            distributions[metric] = all with
            {
                Median = Over(0.5, all.Median), P90 = Over(0.9, all.P90), P99 = Over(0.99, all.P99),
                // Kept only where the judged launch warned too: the pooled summary knows no threshold, so its warning is
                // the "too few samples" one; the spread over launches is in Spread and the intervals above.
                NoiseWarning = judged?.NoiseWarning is null ? null : all.NoiseWarning,
            };
        }
        var reasons = ok.Where(l => l.Analysis != null).Select(l => (x: l.Analysis!, l.Launch)).SelectMany(t => t.x.Validity.Reasons.Select(r => $"launch {t.Launch}: {r}")).ToList();
        var validity = new Validity(analyses.All(x => x.Validity.Valid), reasons, analyses.All(x => x.Validity.Compliant),
            analyses.Select(x => x.Validity.NonCompliantReason).FirstOrDefault(r => r != null));
        return a with
        {
            QueriesIssued = analyses.Sum(x => x.QueriesIssued), QueriesCompleted = analyses.Sum(x => x.QueriesCompleted),
            DurationS = analyses.Average(x => x.DurationS), QueriesPerSecond = analyses.Average(x => x.QueriesPerSecond),
            TokensPerSecond = analyses.Average(x => x.TokensPerSecond), Distributions = distributions, Validity = validity,
            ScheduleNote = analyses.Select(x => x.ScheduleNote).FirstOrDefault(n => n != null),
            Failures = PerfLab.Core.Analysis.QueryFailures.Merge(analyses.Select(x => x.Failures)),
            Goodput = analyses.All(x => x.Goodput is not null)
                ? new PerfLab.Core.Analysis.Goodput(analyses.Sum(x => x.Goodput!.GoodQueries), analyses.Sum(x => x.Goodput!.Queries), analyses.Average(x => x.Goodput!.QueriesPerSecond))
                : null,
        };
    }

    private static RealmPhases MedianPhases(List<CellResult> launches)
    {
        var r = new RealmPhases();
        foreach (var phase in launches.SelectMany(l => l.PhasesMs.All.Select(kv => kv.Key)).Distinct())
        {
            var v = launches.Select(l => l.PhasesMs.Get(phase)).OfType<double>().Order().ToArray();
            r[phase] = v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
        }
        return r;
    }

    /// <summary>The search of the launch whose capacity is the median one: its probes are the ones shown.</summary>
    private static LoadGen.CapacityResult? MedianCapacity(List<CellResult> ok)
    {
        var found = ok.Where(l => l.Capacity != null).OrderBy(l => l.Capacity!.CapacityQps ?? -1).ToList();
        return found.Count == 0 ? null : found[(found.Count - 1) / 2].Capacity;
    }

    /// <summary>
    /// The capacity over launches: the Student-t interval of the geometric mean, widened to cover every launch's own
    /// bracket (VALID at its capacity, INVALID at the next rate probed): a search answers only to its tolerance, and three
    /// launches that agree to the QPS have agreed on a bracket, not on a point.
    /// </summary>
    private static CapacityOverLaunches? CapacitySpread(List<CellResult> ok, double confidence)
    {
        var searches = ok.Where(l => l.Capacity != null).Select(l => l.Capacity!).ToList();
        if (searches.Count == 0) return null;
        var per = searches.Select(c => c.CapacityQps).ToList();
        var found = per.OfType<double>().Where(q => q > 0).ToArray();
        if (found.Length == 0) return new CapacityOverLaunches(per, null, null, null, null, null, confidence);
        var e = Launches.GeometricMean(found, confidence);
        var gm = Math.Exp(found.Average(v => Math.Log(v)));
        var bracketTop = searches.Select(c => c.LowestInvalidQps).OfType<double>().DefaultIfEmpty(found.Max()).Max();
        return new CapacityOverLaunches(per, gm, Math.Min(e?.Lower ?? found.Min(), found.Min()), Math.Max(e?.Upper ?? bracketTop, bracketTop),
            found.Min(), found.Max(), confidence);
    }
}

/// <summary>What a cell's intervals are over: its launches (the unit of replication) or, with one launch, its queries.</summary>
public enum IntervalBasis { Launches, QueriesOfOneLaunch }
