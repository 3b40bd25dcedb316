namespace PerfLab.Core.Statistics;

/// <summary>
/// MLPerf's early-stopping criterion. With n queries of which t exceeded a latency bound, the run shows with
/// the given confidence that the true fraction over the bound is below 1 − percentile if a Binomial(n, 1 − p)
/// variable is at most t with probability at most 1 − confidence.
/// </summary>
public static class EarlyStopping
{
    /// <summary>The largest number of over-bound queries that still passes; -1 if even zero cannot (too few queries).</summary>
    public static long MaxOverBoundCount(long n, double percentile, double confidence)
    {
        if (n <= 0) return -1;
        var q = 1 - percentile;
        var alpha = 1 - confidence;
        // pmf(k) computed in log space and accumulated until the CDF exceeds alpha.
        var logPmf = n * Math.Log(1 - q);
        var cdf = 0.0;
        long t = -1;
        for (long k = 0; k <= n; k++)
        {
            cdf += Math.Exp(logPmf);
            if (cdf > alpha) break;
            t = k;
            logPmf += Math.Log((double)(n - k) / (k + 1)) + Math.Log(q / (1 - q));
        }
        return t;
    }

    /// <summary>The fewest queries for which a run with no over-bound query passes.</summary>
    public static long MinQueriesForZeroOverBound(double percentile, double confidence) =>
        (long)Math.Ceiling(Math.Log(1 - confidence) / Math.Log(percentile));

    /// <summary>
    /// The early-stopping estimate of a percentile: a latency the run shows, with the given confidence, that
    /// at least <paramref name="percentile"/> of queries meet. Null when there are too few queries.
    /// </summary>
    public static double? PercentileEstimate(IReadOnlyList<double> values, double percentile, double confidence)
    {
        var t = MaxOverBoundCount(values.Count, percentile, confidence);
        if (t < 0) return null;
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length - 1 - t];
    }
}
