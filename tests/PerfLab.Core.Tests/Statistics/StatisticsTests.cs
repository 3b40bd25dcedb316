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
    [InlineData(0.99, 459)]
    [InlineData(0.90, 44)]
    public void With_no_query_over_the_bound_LoadGen_needs_the_classic_minimums(double p, long h) =>
        Assert.Equal(h, EarlyStopping.MinPassing(0, p));

    [Theory]
    [InlineData(100, 0, 0.99)]
    [InlineData(459, 0, 0.99)]
    [InlineData(2000, 12, 0.99)]
    [InlineData(63, 1, 0.90)]
    [InlineData(1875, 173, 0.90)]
    public void The_odds_are_the_binomial_tail_of_an_independent_implementation(long h, long t, double p)
    {
        // Perfolizer's binomial distribution as the oracle: P(at most t of h + t over the bound), each over with 1 − p.
        var expected = new BinomialDistribution((int)(h + t), 1 - p).Cdf((int)t);
        Assert.Equal(Math.Log(expected), EarlyStopping.LogOdds(h, t, p), 1e-6 * Math.Max(1, Math.Abs(Math.Log(expected))));
    }

    [Fact]
    public void The_odds_stay_exact_at_MLPerf_query_counts()
    {
        // log P(X ≤ 2600), X ~ Binomial(264600, 0.01), summed exactly in Python (math.lgamma terms, math.fsum):
        // -1.6756810877545605. Perfolizer's binomial CDF gives -1.67568456 here, so it is no oracle at this size.
        Assert.Equal(-1.6756810877545605, EarlyStopping.LogOdds(262000, 2600, 0.99), 1e-8);
    }

    [Theory]
    // Published LoadGen single-stream outputs at p90 (mlperf_log_summary.txt of real runs): queries issued, and
    // "Would discard N highest latency queries"; each also says "Processed at least 64 queries".
    [InlineData(2048, 172)]
    [InlineData(2116, 178)]
    [InlineData(2145, 181)]
    [InlineData(7469, 685)]
    public void Single_stream_estimates_discard_as_many_queries_as_LoadGen_printed(long n, long discarded)
    {
        var values = Enumerable.Range(0, (int)n).Select(i => (double)i).ToArray();
        var e = EarlyStopping.SingleStream(values, n, 0.90);
        Assert.Equal(64, e.NeedAtLeast);
        Assert.Equal(discarded, e.Discarded);
        // The estimate is the (discarded + 1)-th highest value.
        Assert.Equal(n - 1 - discarded, e.EstimateNs);
    }

    [Fact]
    public void Too_few_queries_for_early_stopping_give_no_estimate()
    {
        var values = Enumerable.Range(0, 100).Select(i => (double)i).ToArray();
        var e = EarlyStopping.SingleStream(values, 63, 0.90);
        Assert.False(e.Enough);
        Assert.Null(e.EstimateNs);
        Assert.True(EarlyStopping.SingleStream(values, 64, 0.90).Enough);
    }
}
