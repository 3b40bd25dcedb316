using Perfolizer.Mathematics.Distributions.ContinuousDistributions;
using PerfLab.Core.Units;
using Pragmastat.Algorithms;

namespace PerfLab.Core.Gate;

/// <summary>The closed set of answers the gate gives for one cell and metric.</summary>
public enum Verdict { Unchanged, Improved, Regressed, Inconclusive }

/// <summary>
/// One comparison: the effect as a ratio candidate/baseline of the metric (Hodges–Lehmann shift of the logs, so
/// a ratio of typical values), its confidence interval, and the verdict with the reason in words.
/// </summary>
public sealed record Comparison(
    Verdict Verdict,
    double Ratio,
    double RatioLower,
    double RatioUpper,
    double ConfidenceLevel,
    int BaselineN,
    int CandidateN,
    string Reason)
{
    /// <summary>What the interval's replicates are: "launches" (the unit of replication) or "queries" (within launches).</summary>
    public string Basis { get; init; } = "queries";

    /// <summary>Effect as a signed percentage of the baseline (+ means the metric grew).</summary>
    public double EffectPct => (Ratio - 1) * 100;
}

/// <summary>
/// Compares two samples of a positive metric with a significance test and a practical threshold.
/// The interval is the distribution-free one that inverts the Mann–Whitney test (Lehmann): it excludes 1
/// exactly when the test rejects "no shift" at 1 − confidence, two-sided.
///   regressed:    the change is significant in the bad direction and its estimate exceeds the threshold;
///   improved:     the same in the good direction;
///   unchanged:    the whole interval lies within ±threshold (equivalence shown);
///   inconclusive: anything else: the data cannot tell, and the reason says why.
/// </summary>
public static class SampleComparer
{
    /// <summary>Pairwise differences grow as n·m; above this many pairs both samples are thinned evenly (seeded).</summary>
    private const int MaxPerSample = 4000;
    /// <summary>
    /// Ratios within this relative distance of a bound count as on it: a change of exactly one timer tick on quantised data
    /// lands on the threshold, and floating-point error must not push it over (1.0500000000000003 &gt; 1.05).
    /// </summary>
    public const double Tolerance = 1e-9;
    private static readonly NormalDistribution StandardNormal = new(0, 1);

    /// <param name="absoluteFloor">a change smaller than this, in the metric's unit, is never practical (0: none)</param>
    public static Comparison Compare(IReadOnlyList<double> baseline, IReadOnlyList<double> candidate, bool higherIsBetter,
        double thresholdPct, double confidence, double absoluteFloor = 0)
    {
        var x = Prepare(baseline);
        var y = Prepare(candidate);
        if (x.Length < 5 || y.Length < 5)
            return new Comparison(Verdict.Inconclusive, double.NaN, double.NaN, double.NaN, confidence, x.Length, y.Length,
                $"too few samples to compare (baseline {x.Length}, candidate {y.Length}; need at least 5 each)");

        double n = x.Length, m = y.Length;
        var z = StandardNormal.Quantile(1 - (1 - confidence) / 2);
        // Lehmann's interval: the k-th smallest and k-th largest of the n·m pairwise differences.
        var k = Math.Floor(n * m / 2 - z * Math.Sqrt(n * m * (n + m + 1) / 12));
        var pLow = Math.Clamp(k / (n * m), 0, 0.5);
        var q = FastShift.Estimate(y, x, [pLow, 0.5, 1 - pLow], true);
        double lo = Math.Exp(q[0]), est = Math.Exp(q[1]), hi = Math.Exp(q[2]);
        // The absolute floor, as a fraction of the baseline's median, raises the relative threshold when larger.
        var c = Decide(est, lo, hi, higherIsBetter, thresholdPct, absoluteFloor, Math.Exp(x[x.Length / 2]), confidence, x.Length, y.Length);
        return c with { Basis = "queries" };
    }

    /// <summary>
    /// The verdict from an estimate and its interval, one rule for every basis (queries, launches). Every bound is compared
    /// with the tolerance, so no verdict turns on rounding.
    /// </summary>
    internal static Comparison Decide(double est, double lo, double hi, bool higherIsBetter, double thresholdPct, double absoluteFloor,
        double baselineTypical, double confidence, int baselineN, int candidateN)
    {
        var floorPct = absoluteFloor > 0 && baselineTypical > 0 ? absoluteFloor / baselineTypical * 100 : 0;
        if (floorPct > thresholdPct) thresholdPct = floorPct;
        var t = 1 + thresholdPct / 100;
        const double e = Tolerance;

        // "Worse" is growth for latencies and shrinkage for throughput; test in the metric's own direction.
        bool above = lo > 1 + e && est > t * (1 + e), below = hi < 1 - e && est < 1 / t * (1 - e);
        bool worse = higherIsBetter ? below : above;
        bool better = higherIsBetter ? above : below;
        var ci = $"{Percent.Signed((est - 1) * 100)} [{Percent.Signed((lo - 1) * 100)}, {Percent.Signed((hi - 1) * 100)}]";
        if (worse) return Done(Verdict.Regressed, $"significantly worse by {ci}, beyond the {thresholdPct:0.#}% threshold");
        if (better) return Done(Verdict.Improved, $"significantly better by {ci}, beyond the {thresholdPct:0.#}% threshold");
        if (lo >= 1 / t * (1 - e) && hi <= t * (1 + e)) return Done(Verdict.Unchanged, $"change {ci} lies within ±{thresholdPct:0.#}%");
        var significant = lo > 1 + e || hi < 1 - e;
        return Done(Verdict.Inconclusive, significant
            ? $"a significant change {ci} whose interval crosses the {thresholdPct:0.#}% threshold; more launches would settle it"
            : $"interval {ci} is wider than ±{thresholdPct:0.#}%: too noisy to tell; run more launches or quieten the host");

        Comparison Done(Verdict v, string reason) => new(v, est, lo, hi, confidence, baselineN, candidateN, reason);
    }

    /// <summary>Log-transformed, sorted, thinned to at most MaxPerSample values (evenly by rank, so quantiles keep).</summary>
    private static double[] Prepare(IReadOnlyList<double> values)
    {
        var logs = values.Where(v => v > 0 && double.IsFinite(v)).Select(v => Math.Log(v)).Order().ToArray();
        if (logs.Length <= MaxPerSample) return logs;
        var thin = new double[MaxPerSample];
        for (var i = 0; i < MaxPerSample; i++) thin[i] = logs[(int)((i + 0.5) * logs.Length / MaxPerSample)];
        return thin;
    }
}

/// <summary>
/// Compares two cells' launches: the verdict rests on a t interval over the launches' medians (Statistics.Launches.Ratio),
/// so run-to-run variation is inside the interval rather than mistaken for a change. A side with fewer than two usable
/// launches cannot show that variation: the comparison is then inconclusive, with the query-level figures for reference.
/// </summary>
public static class LaunchComparer
{
    /// <param name="runDrift">κ for sides from different runs (GateSpec.RunDrift); 0 for two cells of one run</param>
    public static Comparison Compare(IReadOnlyList<double[]> baseline, IReadOnlyList<double[]> candidate, bool higherIsBetter,
        double thresholdPct, double confidence, double absoluteFloor = 0, double runDrift = 0)
    {
        var r = Statistics.Launches.Ratio(baseline, candidate, confidence, runDrift);
        var baselineMedians = Statistics.Launches.LogMedians(baseline);
        int nb = baselineMedians.Length, nc = Statistics.Launches.LogMedians(candidate).Length;
        if (r is null)
        {
            var q = SampleComparer.Compare(baseline.SelectMany(l => l).ToArray(), candidate.SelectMany(l => l).ToArray(), higherIsBetter,
                thresholdPct, confidence, absoluteFloor);
            var seen = double.IsNaN(q.Ratio) ? "" : $"; within the launches the change was {Percent.Signed(q.EffectPct)}, which alone is no verdict";
            static string L(int n) => n == 1 ? "1 launch" : $"{n} launches";
            return new Comparison(Verdict.Inconclusive, q.Ratio, q.RatioLower, q.RatioUpper, confidence, nb, nc,
                $"{L(nb)} in the baseline, {L(nc)} in the candidate: queries of one launch are not independent, so a verdict needs " +
                $"at least 2 launches a side (3 or more for power; set repetitions){seen}") { Basis = "launches" };
        }
        var typical = Math.Exp(baselineMedians.Average());
        var c = SampleComparer.Decide(r.Ratio, r.Lower, r.Upper, higherIsBetter, thresholdPct, absoluteFloor, typical, confidence, nb, nc)
            with { Basis = "launches" };
        if (c.Verdict != Verdict.Inconclusive) return c;
        // Say what would settle it: the launches a side that would catch a change of twice the threshold.
        var twice = 2 * thresholdPct;
        var need = Statistics.Launches.LaunchesToDetect(r.LaunchSd, twice, confidence, runDrift);
        var drift = runDrift > 0 ? $" and runs drift apart by about {runDrift * r.LaunchSd * 100:0.#}% on top" : "";
        var slow = SlowLaunches(baseline, candidate, higherIsBetter, thresholdPct);
        return c with
        {
            Reason = c.Reason + slow + $" (launches vary by {r.LaunchSd * 100:0.#}%{drift}; " + (need is { } n
                ? $"{n} launches a side would catch a {twice:0.#}% change 95 times in 100)"
                : runDrift > 0 && Statistics.Launches.LaunchesToDetect(r.LaunchSd, twice, confidence) is not null
                    ? $"the drift between runs alone hides a {twice:0.#}% change, however many launches: quieten the host)"
                    : $"no practical number of launches would catch a {twice:0.#}% change)"),
        };
    }

    /// <summary>
    /// Launches cut off from the rest of their side by a gap wider than the threshold, on the slow side. On the shared hosts
    /// this lab runs on, a cell's launches are either tight (±0.5 %) or some ran ~11 % slower, in periods of minutes that
    /// nothing inside the guest shows (no steal, no other process: measured 2026-11-29, bench/REPORT.md). Such launches,
    /// not too few launches, then made the verdict inconclusive, and saying so keeps an engineer from adding launches that
    /// the next slow period spoils again. A gap, not a distance from the fastest, so ordinary spread is not called a slow
    /// period. Empty when neither side has one.
    /// </summary>
    internal static string SlowLaunches(IReadOnlyList<double[]> baseline, IReadOnlyList<double[]> candidate, bool higherIsBetter, double thresholdPct)
    {
        var limit = Math.Log(1 + thresholdPct / 100);
        (int Slow, int Of, double GapPct) Count(IReadOnlyList<double[]> side)
        {
            // Fastest first: ascending times, descending rates.
            var m = Statistics.Launches.LogMedians(side).Select(v => higherIsBetter ? -v : v).Order().ToArray();
            var (at, gap) = (-1, 0.0);
            for (var i = 0; i + 1 < m.Length; i++)
                if (m[i + 1] - m[i] > gap) (at, gap) = (i, m[i + 1] - m[i]);
            return gap > limit ? (m.Length - at - 1, m.Length, (Math.Exp(gap) - 1) * 100) : (0, m.Length, 0);
        }
        var b = Count(baseline);
        var c = Count(candidate);
        if (b.Slow + c.Slow == 0) return "";
        static string Side(string name, (int Slow, int Of, double GapPct) s) =>
            s.Slow == 0 ? $"none of {s.Of} {name}" : $"{s.Slow} of {s.Of} {name} (a {s.GapPct:0.#}% step)";
        return $"; {Side("baseline", b)} and {Side("candidate", c)} launches ran a step slower than the rest of their side, " +
               "as in the host's slow periods, which more launches in one run do not average away: rerun when the host is steady, " +
               "or compare launches interleaved in one run";
    }
}
