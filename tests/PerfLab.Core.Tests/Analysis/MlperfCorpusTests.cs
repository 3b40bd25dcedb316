using Perfolizer.Mathematics.Distributions.DiscreteDistributions;
using PerfLab.Core.Analysis;
using PerfLab.Core.Suites;

namespace PerfLab.Core.Tests.Analysis;

/// <summary>
/// A corpus of scenario traces, each judged by the lab's MLPerf rules and compared with what LoadGen's rules give
/// (loadgen/results.cc and early_stopping.cc). The expected side is derived two ways: a reference that follows LoadGen's
/// loops literally (a linear search for h, the single-stream loop over i, odds from Perfolizer's binomial CDF), and
/// anchors derived by hand or printed by real LoadGen runs (64 and 662 single-stream minimums at p90 and p99, 459 for
/// a server run with nothing over its bound, 172 discarded of 2048 at p90). Traces sit on each rule's boundary.
/// </summary>
public class MlperfCorpusTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const long Ms = 1_000_000;

    /// <summary>One trace: the settings, the queries issued with their latencies, and LoadGen's expected verdict.</summary>
    public sealed record Case(string Name, MlperfTrace Trace, bool Valid, bool? MinDuration = null, bool? MinQueries = null, bool? Perf = null,
        bool? EarlyStopping = null, bool Conformant = true, long? Discarded = null, long? NeedQueries = null)
    {
        public override string ToString() => Name;
    }

    // ---- the reference: LoadGen's loops as written ----

    private static double RefOdds(long h, long t, double p) => new BinomialDistribution((int)(h + t), 1 - p).Cdf((int)t);

    private static long RefMinPassing(long t, double p, double c, long from = 1)
    {
        for (var h = Math.Max(1, from); ; h++)
            if (RefOdds(h, t, p) < 1 - c) return h;
    }

    /// <summary>Single-stream: (enough, t) where the estimate is sorted[n − t] and t − 1 queries are discarded.</summary>
    private static (bool Enough, long T, long Need) RefSingleStream(long n, double p, double c)
    {
        var hMin = RefMinPassing(1, p, c);
        if (n < hMin + 1) return (false, 0, hMin + 1);
        long t = 1, h = hMin;
        for (long i = 2; i < n + 1; ++i)
        {
            h = RefMinPassing(i, p, c, h);
            if (n < h + i) { t = i - 1; break; }
        }
        return (true, t, hMin + 1);
    }

    private static double[] Spread(long n, double lo, double hi) => Enumerable.Range(0, (int)n).Select(i => lo + (hi - lo) * i / Math.Max(1, n - 1)).ToArray();

    private static MlperfTrace SingleStream(long n, double p = 0.9, double c = 0.99, long minQueries = 10, long minDurationNs = 0, long? finalIssued = null,
        bool token = false) =>
        new(ScenarioKind.SingleStream, p, c, minDurationNs, minQueries, n, Spread(n, 1 * Ms, 3 * Ms), token ? Spread(n, 0.1 * Ms, 0.2 * Ms) : [],
            token ? Spread(n, 0.01 * Ms, 0.02 * Ms) : [], finalIssued ?? minDurationNs, 0, 3 * Ms, null, null, null, token);

    /// <summary>A server trace of n queries of which <paramref name="over"/> are above the limit (10 ms); the others under it.</summary>
    private static MlperfTrace Server(long n, long over, double p = 0.99, long minQueries = 10, long minDurationNs = 0, long? finalScheduled = null,
        double overBy = 5 * Ms, double limit = 10 * Ms) =>
        new(ScenarioKind.Server, p, 0.99, minDurationNs, minQueries, n,
            [.. Spread(n - over, 1 * Ms, limit), .. Enumerable.Repeat(limit + overBy, (int)over)], [], [],
            0, finalScheduled ?? minDurationNs, limit + overBy, limit, null, null, false);

    private static MlperfTrace TokenServer(long n, long ttftOver, long tpotOver, double? latencyLimit = null) =>
        new(ScenarioKind.Server, 0.99, 0.99, 0, 10, n, Spread(n, 50 * Ms, 90 * Ms),
            [.. Spread(n - ttftOver, 1 * Ms, 2 * Ms), .. Enumerable.Repeat(3.0 * Ms, (int)ttftOver)],
            [.. Spread(n - tpotOver, 0.1 * Ms, 0.2 * Ms), .. Enumerable.Repeat(0.3 * Ms, (int)tpotOver)],
            0, 0, 90 * Ms, latencyLimit, 2 * Ms, 0.2 * Ms, true);

    private static MlperfTrace Offline(long n, double maxLatency, long minDurationNs, long minQueries = 10) =>
        new(ScenarioKind.Offline, 0.9, 0.99, minDurationNs, minQueries, n, Spread(n, 1 * Ms, maxLatency), [], [], 0, 0, maxLatency, null, null, null, false);

    /// <summary>The largest number over the bound a server run of n queries passes with at p, by the reference.</summary>
    private static long RefMaxOver(long n, double p)
    {
        long t = 0, h = 1;
        while (true)
        {
            h = RefMinPassing(t + 1, p, 0.99, h);
            if (h + t + 1 > n) return t;
            t++;
        }
    }

    public static TheoryData<Case> Corpus()
    {
        var d = new TheoryData<Case>();
        // Single-stream early stopping: the minimum query counts (hand-derived: P(X ≤ 1) for X ~ Bin(h + 1, 1 − p) < 0.01).
        d.Add(new("ss p90, 63 queries: one short of the 64 LoadGen needs", SingleStream(63), false, EarlyStopping: false, NeedQueries: 64));
        d.Add(new("ss p90, 64 queries: just enough", SingleStream(64), true, EarlyStopping: true, Discarded: 0, NeedQueries: 64));
        d.Add(new("ss p99, 661 queries: one short of 662", SingleStream(661, 0.99), false, EarlyStopping: false, NeedQueries: 662));
        d.Add(new("ss p99, 662 queries: just enough", SingleStream(662, 0.99), true, EarlyStopping: true, Discarded: 0, NeedQueries: 662));
        // Published by real LoadGen runs: 2048 queries at p90 discard 172.
        d.Add(new("ss p90, 2048 queries (a real LoadGen run: discard 172)", SingleStream(2048), true, Discarded: 172));
        foreach (var n in new long[] { 100, 500, 1000, 3000 })
            d.Add(new($"ss p90, {n} queries (reference loop)", SingleStream(n), true, Discarded: RefSingleStream(n, 0.9, 0.99).T - 1));
        d.Add(new("ss p99, 1500 queries (reference loop)", SingleStream(1500, 0.99), true, Discarded: RefSingleStream(1500, 0.99, 0.99).T - 1));
        // Min duration: single-stream is judged on the last query's issue time, with no slack.
        d.Add(new("ss last query issued 1 ns before min_duration", SingleStream(100, minDurationNs: 1_000 * Ms, finalIssued: 1_000 * Ms - 1), false, MinDuration: false));
        d.Add(new("ss last query issued at min_duration", SingleStream(100, minDurationNs: 1_000 * Ms, finalIssued: 1_000 * Ms), true, MinDuration: true));
        // Min queries: queries issued against min_query_count.
        d.Add(new("ss one query short of min_queries", SingleStream(199, minQueries: 200), false, MinQueries: false));
        d.Add(new("ss exactly min_queries", SingleStream(200, minQueries: 200), true, MinQueries: true));
        // A departure from LoadGen: another early-stopping confidence is applied, and the result is not conformant.
        var need95 = RefSingleStream(10, 0.9, 0.95).Need;
        d.Add(new($"ss at 95 % confidence: {need95} queries suffice (not conformant)", SingleStream(need95, c: 0.95), true, EarlyStopping: true, Conformant: false,
            NeedQueries: need95));
        d.Add(new("ss at 95 % confidence, one short", SingleStream(need95 - 1, c: 0.95), false, EarlyStopping: false, Conformant: false));
        // Token mode single-stream: the estimates are of TPOT and TTFT, with the same minimum.
        d.Add(new("ss token mode, 63 queries", SingleStream(63, token: true), false, EarlyStopping: false));
        d.Add(new("ss token mode, 64 queries", SingleStream(64, token: true), true, EarlyStopping: true));

        // Server early stopping (hand-derived: 0.99^459 < 0.01 < 0.99^458).
        d.Add(new("server, nothing over, 458 queries: one short", Server(458, 0), false, EarlyStopping: false, NeedQueries: 459));
        d.Add(new("server, nothing over, 459 queries", Server(459, 0), true, EarlyStopping: true, NeedQueries: 459));
        foreach (var n in new long[] { 1000, 2500 })
        {
            var t = RefMaxOver(n, 0.99);
            d.Add(new($"server {n} queries, {t} over: the most that pass (reference)", Server(n, t), true, EarlyStopping: true, Perf: true));
            d.Add(new($"server {n} queries, {t + 1} over: one too many", Server(n, t + 1), false, EarlyStopping: false));
        }
        // Performance constraint: the nearest-rank p99 against the limit; a value equal to the limit is not over it.
        d.Add(new("server p99 exactly at the limit", Server(1000, 10, overBy: 0), true, Perf: true, EarlyStopping: true));
        d.Add(new("server p99 1 ns over the limit", Server(1000, 10, overBy: 1), false, Perf: false));
        d.Add(new("server with 10 of 1000 over: p99 (nearest rank, sorted[990]) is the first of them, over the limit", Server(1000, 10), false, Perf: false));
        d.Add(new("server with 9 of 1000 over: p99 still under, early stopping fails", Server(1000, 9), false, Perf: true, EarlyStopping: false));
        // Min duration: server is judged on the last query's scheduled time.
        d.Add(new("server schedule ends 1 ns before min_duration", Server(1000, 0, minDurationNs: 600_000 * Ms, finalScheduled: 600_000 * Ms - 1), false, MinDuration: false));
        d.Add(new("server schedule ends at min_duration", Server(1000, 0, minDurationNs: 600_000 * Ms, finalScheduled: 600_000 * Ms), true, MinDuration: true));
        // Token mode server: TTFT and TPOT each by early stopping and by the nearest-rank percentile; the latency is not LoadGen's.
        d.Add(new("token server, all under", TokenServer(2000, 0, 0), true, Perf: true, EarlyStopping: true));
        d.Add(new("token server, TTFT p99 over", TokenServer(2000, 25, 0), false, Perf: false));
        d.Add(new("token server, TPOT p99 over", TokenServer(2000, 0, 25), false, Perf: false));
        d.Add(new("token server, 15 TTFT over: p99 holds, early stopping fails", TokenServer(2000, 15, 0), false, Perf: true, EarlyStopping: false));
        d.Add(new("token server with a latency limit it breaks: VALID by LoadGen, not conformant", TokenServer(2000, 0, 0, latencyLimit: 60 * Ms), true,
            Conformant: false));
        // Offline: judged on its longest latency.
        d.Add(new("offline longest latency 1 ns short of min_duration", Offline(1000, 1_000 * Ms - 1, 1_000 * Ms), false, MinDuration: false));
        d.Add(new("offline longest latency at min_duration", Offline(1000, 1_000 * Ms, 1_000 * Ms), true, MinDuration: true));
        d.Add(new("offline one query short of min_queries", Offline(99, 2_000 * Ms, 1_000 * Ms, minQueries: 100), false, MinQueries: false));
        return d;
    }

    [Theory]
    [MemberData(nameof(Corpus))]
    public void Every_verdict_and_estimate_is_LoadGens(Case c)
    {
        var v = MlperfRules.Judge(c.Trace);
        output.WriteLine($"{c.Name}: valid {v.Valid}; {string.Join("; ", v.Reasons.Concat(v.Departures))}");
        Assert.Equal(c.Valid, v.Valid);
        if (c.MinDuration is { } md) Assert.Equal(md, v.MinDurationMet);
        if (c.MinQueries is { } mq) Assert.Equal(mq, v.MinQueriesMet);
        if (c.Perf is { } pf) Assert.Equal(pf, v.PerfConstraintsMet);
        if (c.EarlyStopping is { } es) Assert.Equal(es, v.EarlyStoppingMet);
        Assert.Equal(c.Conformant, v.Departures.Count == 0);
        var first = v.EarlyStopping.FirstOrDefault();
        if (c.NeedQueries is { } need) Assert.Equal(need, first!.NeedQueries);
        if (c.Discarded is { } discarded)
        {
            Assert.Equal(discarded, first!.Discarded);
            // The estimate is the (discarded + 1)-th highest value, and the target percentile is the nearest rank.
            var sorted = c.Trace.LatencyNs.Order().ToArray();
            Assert.Equal(sorted[^(int)(discarded + 1)], first.EstimateNs);
            Assert.Equal(sorted[(int)(sorted.Length * c.Trace.Percentile)], v.TargetPercentileNs);
        }
        // Server: the queries needed are h(t) + t by the reference for the trace's own count over the limit.
        if (c.Trace.Kind == ScenarioKind.Server && !c.Trace.TokenMode && first is { OverBound: { } over })
            Assert.Equal(RefMinPassing(over, c.Trace.Percentile, 0.99) + over, first.NeedQueries);
    }

    [Fact]
    public void The_corpus_has_at_least_thirty_traces()
    {
        var n = ((IEnumerable<object[]>)Corpus()).Count();
        Assert.True(n >= 30, $"{n} traces");
    }
}
