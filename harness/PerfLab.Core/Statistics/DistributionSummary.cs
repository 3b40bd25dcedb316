using Perfolizer.Mathematics.Common;
using Perfolizer.Mathematics.OutlierDetection;
using Perfolizer.Mathematics.QuantileEstimators;
using Perfolizer.Mathematics.ScaleEstimators;
using Pragmastat;

namespace PerfLab.Core.Statistics;

/// <summary>A quantile estimate with its confidence interval, in the unit of the data it came from.</summary>
public sealed record Estimate(double Value, double Lower, double Upper, double ConfidenceLevel)
{
    public double RelativeHalfWidth => Value == 0 ? double.PositiveInfinity : (Upper - Lower) / 2 / Math.Abs(Value);
}

/// <summary>
/// What a performance engineer wants to know of one metric's distribution: median, p90, p99 with confidence
/// intervals (Harrell–Davis estimates, Maritz–Jarrett intervals), robust spread, outliers, and whether the
/// data is too noisy to judge a change of the given size.
/// </summary>
public sealed record DistributionSummary(
    int N,
    double Min,
    double Max,
    double Mean,
    Estimate Median,
    Estimate P90,
    Estimate P99,
    double Mad,
    double RobustCv,
    int UpperOutliers,
    string? NoiseWarning)
{
    public static DistributionSummary? Of(IReadOnlyList<double> values, double confidenceLevel = 0.95, double? judgeThresholdPct = null)
    {
        if (values.Count == 0) return null;
        var sample = new Sample(values.ToArray());
        double min = values.Min(), max = values.Max();
        var hd = HarrellDavisQuantileEstimator.Instance;
        Estimate Q(double p)
        {
            if (values.Count < 3)
            {
                var v = (double)hd.Quantile(sample, p);
                return new Estimate(v, double.NaN, double.NaN, confidenceLevel);
            }
            var ci = hd.QuantileConfidenceIntervalEstimator(sample, p).ConfidenceInterval(new ConfidenceLevel(confidenceLevel));
            // Maritz–Jarrett is a normal approximation and can stray past the data in the tails; no quantile can.
            return new Estimate(ci.Estimation, Math.Max(ci.Lower, min), Math.Min(ci.Upper, max), confidenceLevel);
        }
        var median = Q(0.5);
        var mad = values.Count < 3 ? 0 : MedianAbsoluteDeviationEstimator.Simple.Mad(sample);
        var robustCv = median.Value == 0 ? 0 : mad / Math.Abs(median.Value);
        var outliers = 0;
        if (values.Count >= 3 && mad > 0)
        {
            var detector = DoubleMadOutlierDetector.Create(sample, 3.0, MedianAbsoluteDeviationEstimator.Simple);
            outliers = values.Count(detector.IsUpperOutlier);
        }
        string? warning = null;
        if (values.Count < 10)
            warning = $"only {values.Count} samples: too few to judge; raise min_queries or min_duration_s";
        else if (judgeThresholdPct is { } t && median.RelativeHalfWidth * 100 > t / 2)
            warning = $"median known only to ±{median.RelativeHalfWidth * 100:0.#}% (CI {confidenceLevel:P0}), too wide to judge a {t:0.#}% change; " +
                      "run longer, pin CPUs or quieten the host";
        return new DistributionSummary(values.Count, min, max, values.Average(), median, Q(0.9), Q(0.99),
            mad, robustCv, outliers, warning);
    }
}
