namespace PerfLab.Core.Statistics;

/// <summary>The single-stream (and token-mode) early-stopping estimate of a percentile, as LoadGen computes it.</summary>
/// <param name="NeedAtLeast">the fewest queries the estimate needs at all (h_min + 1)</param>
/// <param name="Discarded">highest latencies LoadGen "would discard" (t − 1); the estimate is the next one</param>
public sealed record PercentileEstimate(long QueriesIssued, long NeedAtLeast, long Discarded, double? EstimateNs)
{
    public bool Enough => QueriesIssued >= NeedAtLeast;
}

/// <summary>The server early-stopping check against a latency bound, as LoadGen computes it.</summary>
/// <param name="OverBound">queries whose value exceeded the bound (strictly greater)</param>
/// <param name="NeedQueries">h + t: how many queries the run needed for that many over the bound</param>
public sealed record BoundEarlyStopping(long QueriesIssued, long OverBound, long NeedQueries)
{
    public bool Passed => QueriesIssued >= NeedQueries;
}

/// <summary>
/// MLPerf LoadGen's early stopping (loadgen/early_stopping.cc, results.cc), in our own code. With h queries under a
/// latency bound and t over it, the run shows at confidence c that the p-quantile is within the bound when the odds of
/// at most t over-bound queries among h + t, each over with probability 1 − p, are below 1 − c. LoadGen fixes c at
/// 0.99 and the tolerance d at 0. The odds are the binomial CDF, computed in log space (LoadGen evaluates the same
/// quantity as a regularized incomplete beta function).
/// </summary>
public static class EarlyStopping
{
    public const double LoadGenConfidence = 0.99;

    /// <summary>log P(X ≤ t), X ~ Binomial(h + t, 1 − p).</summary>
    public static double LogOdds(long h, long t, double p)
    {
        var n = h + t;
        double q = 1 - p, logP = Math.Log(p), logRatio = Math.Log(q) - logP;
        // Terms x = 0..t: log C(n, x) + x log q + (n − x) log p, accumulated with a running maximum (log-sum-exp).
        double term = n * logP, max = term, sum = 1; // sum of exp(term_x − max)
        for (long x = 0; x < t; x++)
        {
            term += Math.Log((double)(n - x) / (x + 1)) + logRatio;
            if (term > max)
            {
                sum = sum * Math.Exp(max - term) + 1;
                max = term;
            }
            else sum += Math.Exp(term - max);
        }
        return max + Math.Log(sum);
    }

    /// <summary>The fewest queries under the bound, h, with which t over it still pass at confidence c: LoadGen's find_min_passing.</summary>
    public static long MinPassing(long t, double p, double c = LoadGenConfidence)
    {
        if (t < 0) throw new ArgumentOutOfRangeException(nameof(t), t, "a count of queries");
        if (p is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(p), p, "a percentile strictly between 0 and 1");
        var limit = Math.Log(1 - c);
        bool Passes(long h) => LogOdds(h, t, p) < limit;
        long lo = 1, hi = Math.Max(2, (long)Math.Ceiling((t + 1) * p / (1 - p)));
        while (!Passes(hi)) { lo = hi + 1; hi *= 2; }
        while (lo < hi)
        {
            var mid = lo + (hi - lo) / 2;
            if (Passes(mid)) hi = mid; else lo = mid + 1;
        }
        return lo;
    }

    /// <summary>
    /// Single-stream's estimate of the p-quantile (LoadGen: t starts at 1, grows while queries_issued ≥ h(i) + i; the
    /// estimate is the t-th highest value). Values need not be sorted; null estimate when there are too few queries.
    /// </summary>
    public static PercentileEstimate SingleStream(IReadOnlyList<double> values, long queriesIssued, double p, double c = LoadGenConfidence)
    {
        var need = MinPassing(1, p, c) + 1;
        if (queriesIssued < need || values.Count == 0) return new PercentileEstimate(queriesIssued, need, 0, null);
        // The first i ≥ 2 with h(i) + i > queries_issued; h(i) grows with i, so the condition is monotone: bisect.
        long lo = 2, hi = queriesIssued;
        while (lo < hi)
        {
            var mid = lo + (hi - lo) / 2;
            if (MinPassing(mid, p, c) + mid > queriesIssued) hi = mid; else lo = mid + 1;
        }
        var t = lo - 1;
        var sorted = values.Order().ToArray();
        var index = queriesIssued - t;
        // LoadGen indexes its sorted latencies by queries issued; with fewer values than queries (some never completed)
        // the estimate is the highest value there is.
        return new PercentileEstimate(queriesIssued, need, t - 1, sorted[(int)Math.Clamp(index, 0, sorted.Length - 1)]);
    }

    /// <summary>Server's check of a bound: t = values over it (strictly); the run passes when queries_issued ≥ h(t) + t.</summary>
    public static BoundEarlyStopping Server(IReadOnlyList<double> values, long queriesIssued, double boundNs, double p, double c = LoadGenConfidence)
    {
        var t = values.LongCount(v => v > boundNs);
        return new BoundEarlyStopping(queriesIssued, t, MinPassing(t, p, c) + t);
    }

    /// <summary>LoadGen's percentile: the nearest rank, sorted[⌊n · p⌋].</summary>
    public static double NearestRank(IReadOnlyList<double> values, double p)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)(sorted.Length * p))];
    }
}
