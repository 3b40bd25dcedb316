using PerfLab.Core.Statistics;
using Perfolizer.Mathematics.Distributions.DiscreteDistributions;

namespace PerfLab.Core.Tests.Statistics;

public class StatisticsTests
{
    [Fact]
    public void Quantiles_of_a_known_sample_sit_inside_their_intervals()
    {
        var values = Enumerable.Range(1, 1000).Select(i => (double)i).ToArray();
        var d = DistributionSummary.Of(values)!;
        Assert.InRange(d.Median.Value, 495, 506);
        Assert.InRange(d.P90.Value, 895, 906);
        Assert.InRange(d.P99.Value, 985, 996);
        Assert.True(d.Median.Lower < 500.5 && 500.5 < d.Median.Upper);
        Assert.True(d.P99.Upper <= 1000);
        Assert.Equal(0, d.UpperOutliers);
        Assert.Null(d.NoiseWarning);
    }

    [Fact]
    public void Injected_outliers_are_flagged()
    {
        var rng = new Random(1);
        var values = Enumerable.Range(0, 500).Select(_ => 100 + rng.NextDouble()).Concat([1000.0, 2000, 3000]).ToArray();
        Assert.Equal(3, DistributionSummary.Of(values)!.UpperOutliers);
    }

    [Fact]
    public void A_sample_too_noisy_for_the_threshold_is_warned_about()
    {
        var rng = new Random(2);
        var noisy = Enumerable.Range(0, 30).Select(_ => Math.Exp(rng.NextDouble() * 3)).ToArray();
        var d = DistributionSummary.Of(noisy, judgeThresholdPct: 5)!;
        Assert.Contains("too wide to judge a 5% change", d.NoiseWarning);
        var calm = Enumerable.Range(0, 2000).Select(_ => 100 + rng.NextDouble()).ToArray();
        Assert.Null(DistributionSummary.Of(calm, judgeThresholdPct: 5)!.NoiseWarning);
    }

    [Theory]
    [InlineData(0.99, 0.99, 459)]
    [InlineData(0.90, 0.99, 44)]
    public void Minimum_query_counts_match_MLPerf(double p, double c, long n) =>
        Assert.Equal(n, EarlyStopping.MinQueriesForZeroOverBound(p, c));

    [Theory]
    [InlineData(459)]
    [InlineData(1000)]
    [InlineData(24576)]
    [InlineData(270336)]
    public void Early_stopping_allowance_is_the_largest_count_whose_binomial_tail_stays_below_alpha(int n)
    {
        var t = EarlyStopping.MaxOverBoundCount(n, 0.99, 0.99);
        var binomial = new BinomialDistribution(n, 0.01);
        Assert.True(binomial.Cdf((int)t) <= 0.01 + 1e-9, $"P(X ≤ {t}) = {binomial.Cdf((int)t)}");
        Assert.True(binomial.Cdf((int)t + 1) > 0.01, $"P(X ≤ {t + 1}) = {binomial.Cdf((int)t + 1)}");
    }

    [Fact]
    public void Too_few_queries_for_early_stopping_give_no_estimate()
    {
        Assert.Equal(-1, EarlyStopping.MaxOverBoundCount(100, 0.99, 0.99));
        Assert.Null(EarlyStopping.PercentileEstimate(Enumerable.Range(0, 100).Select(i => (double)i).ToArray(), 0.99, 0.99));
        var est = EarlyStopping.PercentileEstimate(Enumerable.Range(0, 1000).Select(i => (double)i).ToArray(), 0.99, 0.99);
        Assert.NotNull(est);
        Assert.True(est > 990, "the early-stopping estimate is conservative: above the plain p99");
    }
}
