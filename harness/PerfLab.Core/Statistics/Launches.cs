using Perfolizer.Mathematics.Distributions.ContinuousDistributions;
using Perfolizer.Mathematics.QuantileEstimators;
using Pragmastat;

namespace PerfLab.Core.Statistics;

/// <summary>How a metric varies within one launch and between launches of the same cell, as percentages.</summary>
/// <param name="Launches">launches that had enough values to estimate from</param>
/// <param name="BetweenPct">standard deviation of the launches' log medians ×100 (NaN with one launch)</param>
/// <param name="WithinPct">median over launches of the normalised MAD of log values ×100: a robust per-query spread</param>
public sealed record LaunchSpread(int Launches, double BetweenPct, double WithinPct);

/// <summary>A ratio with its interval, from launch-level estimates.</summary>
/// <param name="LaunchSd">the standard deviation of one launch's log median (pooled over both sides)</param>
public sealed record LaunchRatio(double Ratio, double Lower, double Upper, double DegreesOfFreedom)
{
    public double LaunchSd { get; init; }
}

/// <summary>
/// Launches are the unit of replication. Queries within one launch share its page layout, placement, caches and host
/// neighbours, and follow one another (lag-1 autocorrelation 0.4–0.9 measured here): they are not independent, and an
/// interval that treats them so is too narrow (half a run against its other half excluded "no change" 12 times in 16).
/// So each launch is reduced to one number, the Harrell–Davis median of its values on the log scale, and intervals come
/// from the spread of those numbers: Student's t for one cell and for two of equal launches, Welch's otherwise. This is the summary-statistics approach
/// to nested data; it holds whatever the dependence within a launch, and needs no model of it. Its price is degrees of
/// freedom: with 3 launches a side, a change must stand out from the launch-to-launch spread by ~4.6 standard errors
/// at 99 % confidence.
/// </summary>
public static class Launches
{
    /// <summary>A launch with fewer values than this says nothing about its median and is left out.</summary>
    public const int MinValuesPerLaunch = 5;

    /// <summary>The Harrell–Davis median of the positive, finite values, as a logarithm (NaN when too few).</summary>
    public static double LogMedian(IReadOnlyList<double> values) => LogQuantile(values, 0.5);

    /// <summary>The Harrell–Davis quantile of the positive, finite values, as a logarithm (NaN when too few).</summary>
    public static double LogQuantile(IReadOnlyList<double> values, double p)
    {
        var logs = values.Where(v => v > 0 && double.IsFinite(v)).Select(v => Math.Log(v)).ToArray();
        if (logs.Length < MinValuesPerLaunch) return double.NaN;
        return (double)HarrellDavisQuantileEstimator.Instance.Quantile(new Sample(logs), p);
    }

    /// <summary>The log medians of the launches that have enough values.</summary>
    public static double[] LogMedians(IEnumerable<IReadOnlyList<double>> launches) => LogQuantiles(launches, 0.5);

    public static double[] LogQuantiles(IEnumerable<IReadOnlyList<double>> launches, double p) =>
        launches.Select(l => LogQuantile(l, p)).Where(double.IsFinite).ToArray();

    public static LaunchSpread Spread(IReadOnlyList<IReadOnlyList<double>> launches)
    {
        var medians = LogMedians(launches);
        var within = launches.Select(WithinLog).Where(double.IsFinite).Order().ToArray();
        return new LaunchSpread(medians.Length, medians.Length < 2 ? double.NaN : StdDev(medians) * 100,
            within.Length == 0 ? double.NaN : within[within.Length / 2] * 100);
    }

    /// <summary>
    /// The geometric mean of the launches' medians with its Student-t interval over launches (null with fewer than two):
    /// what a new launch of this cell would have for its median, typically, and how sure of that the launches let us be.
    /// </summary>
    public static Estimate? MedianOverLaunches(IEnumerable<IReadOnlyList<double>> launches, double confidence) =>
        QuantileOverLaunches(launches, 0.5, confidence);

    /// <summary>The same for any quantile: each launch's own p-quantile, then their geometric mean and its interval.</summary>
    public static Estimate? QuantileOverLaunches(IEnumerable<IReadOnlyList<double>> launches, double p, double confidence) =>
        LogMeanInterval(LogQuantiles(launches, p), confidence);

    /// <summary>One positive figure per launch (a capacity, a rate): their geometric mean with its Student-t interval.</summary>
    public static Estimate? GeometricMean(IEnumerable<double> perLaunch, double confidence) =>
        LogMeanInterval(perLaunch.Where(v => v > 0 && double.IsFinite(v)).Select(v => Math.Log(v)).ToArray(), confidence);

    private static Estimate? LogMeanInterval(double[] m, double confidence)
    {
        if (m.Length < 2) return null;
        var se = StdDev(m) / Math.Sqrt(m.Length);
        var half = TQuantile(confidence, m.Length - 1) * se;
        var mean = m.Average();
        return new Estimate(Math.Exp(mean), Math.Exp(mean - half), Math.Exp(mean + half), confidence);
    }

    /// <summary>
    /// Candidate over baseline, as the ratio of the geometric means of their launch medians, with Student's interval when
    /// both sides have as many launches (equal sizes make the pooled t robust to unequal spreads, and with 3 launches a side
    /// Welch's degrees of freedom, estimated from two 2-degree variances, swing down to 2 and cost a third of the power:
    /// 93 % against 99 % detection of +10 % in LaunchTests) and Welch's when they differ (an unbalanced pooled t is not
    /// robust: a busy side must not borrow a quiet one's spread). Null unless both sides have at least two launches: one
    /// launch shows nothing of the variation between launches.
    /// <para>
    /// <paramref name="runDrift"/> (κ) is for sides from two different runs. A run's launches share its stretch of time on
    /// the host, so runs of the same build differ by more than their launches predict: each side's mean carries a run
    /// offset of standard deviation κ × the launch spread, which more launches in the same run do not shrink. Its variance,
    /// κ²·s² a side, joins the launches' s²/n. 0 for sides of one run, whose launches are interleaved and share the drift.
    /// </para>
    /// </summary>
    public static LaunchRatio? Ratio(IEnumerable<IReadOnlyList<double>> baseline, IEnumerable<IReadOnlyList<double>> candidate, double confidence,
        double runDrift = 0)
    {
        var b = LogMedians(baseline);
        var c = LogMedians(candidate);
        if (b.Length < 2 || c.Length < 2) return null;
        var d = c.Average() - b.Average();
        var k2 = runDrift * runDrift;
        double se, df;
        if (b.Length == c.Length)
        {
            var pooled = ((b.Length - 1) * Variance(b) + (c.Length - 1) * Variance(c)) / (b.Length + c.Length - 2);
            se = Math.Sqrt(pooled * (1.0 / b.Length + 1.0 / c.Length + 2 * k2));
            df = b.Length + c.Length - 2;
        }
        else
        {
            double vb = Variance(b) * (1.0 / b.Length + k2), vc = Variance(c) * (1.0 / c.Length + k2);
            se = Math.Sqrt(vb + vc);
            // Welch–Satterthwaite; when both sides agree exactly (quantised data) the interval is the point.
            df = se == 0 ? b.Length + c.Length - 2 : Math.Pow(vb + vc, 2) / (vb * vb / (b.Length - 1) + vc * vc / (c.Length - 1));
        }
        var half = TQuantile(confidence, df) * se;
        var sd = Math.Sqrt(((b.Length - 1) * Variance(b) + (c.Length - 1) * Variance(c)) / (b.Length + c.Length - 2));
        return new LaunchRatio(Math.Exp(d), Math.Exp(d - half), Math.Exp(d + half), df) { LaunchSd = sd };
    }

    /// <summary>
    /// Launches a side that would find a change of <paramref name="changePct"/> regressed 95 times in 100, given this
    /// launch-to-launch spread (log scale), the run drift κ and the confidence: the smallest n with
    /// (t + z₀.₉₅)·sd·√(2/n + 2κ²) ≤ ln(1 + change). Null beyond 100, or when the drift between runs alone is too large
    /// for any n. What an engineer needs when the answer was "too noisy": how many more launches would settle it.
    /// </summary>
    public static int? LaunchesToDetect(double launchSd, double changePct, double confidence, double runDrift = 0)
    {
        var target = Math.Log(1 + changePct / 100);
        if (launchSd <= 0) return 2;
        for (var n = 2; n <= 100; n++)
            if ((TQuantile(confidence, 2 * n - 2) + 1.6449) * launchSd * Math.Sqrt(2.0 / n + 2 * runDrift * runDrift) <= target) return n;
        return null;
    }

    /// <summary>The two-sided Student-t quantile for this confidence.</summary>
    public static double TQuantile(double confidence, double df) => new StudentDistribution(df).Quantile(1 - (1 - confidence) / 2);

    private static double WithinLog(IReadOnlyList<double> values)
    {
        var logs = values.Where(v => v > 0 && double.IsFinite(v)).Select(v => Math.Log(v)).Order().ToArray();
        if (logs.Length < MinValuesPerLaunch) return double.NaN;
        var median = logs[logs.Length / 2];
        var dev = logs.Select(l => Math.Abs(l - median)).Order().ToArray();
        return 1.4826 * dev[dev.Length / 2];
    }

    private static double Variance(double[] x)
    {
        var mean = x.Average();
        return x.Sum(v => (v - mean) * (v - mean)) / (x.Length - 1);
    }

    private static double StdDev(double[] x) => Math.Sqrt(Variance(x));
}
