using PerfLab.Core.Analysis;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Suites;
using PerfLab.Core.Time;
using PerfLab.Core.Units;

namespace PerfLab.Core.Tests.LoadGen;

/// <summary>Queries that fail alone (an HTTP error, a cut stream), and goodput: in virtual time.</summary>
public class QueryFailureTests
{
    /// <summary>A fake SUT in virtual time: every query takes 1 ms to its first token and 0.1 ms per later token (8 tokens);
    /// every third fails after its first token; the fifth takes 30 ms to its first.</summary>
    private sealed class FlakySut(VirtualClock clock) : ISystemUnderTest
    {
        public string Name => "flaky (fake)";
        public void FlushQueries() { }

        public void IssueQuery(ReadOnlySpan<QuerySample> samples, IResponseSink sink)
        {
            foreach (var q in samples)
            {
                clock.Advance(q.Id == 4 ? 30_000_000 : 1_000_000);
                sink.FirstToken(q.Id);
                if (q.Id % 3 == 2) { sink.QueryFailed(q.Id, $"HTTP 500 Internal Server Error: query {q.Id}", 1); continue; }
                clock.Advance(700_000);
                sink.Complete(q.Id, 8, 0);
            }
        }
    }

    private static ScenarioSpec Spec(int queries, double? ttftMs = null, double? tpotMs = null) => new("single-stream", ScenarioKind.SingleStream, null,
        Nanoseconds.Zero, Nanoseconds.FromSeconds(60), queries, null, ttftMs is { } t ? Nanoseconds.FromMilliseconds(t) : null,
        tpotMs is { } p ? Nanoseconds.FromMilliseconds(p) : null, 0.9, 0.99);

    private static ScenarioRun Run(ScenarioSpec spec)
    {
        var clock = new VirtualClock();
        return new LoadGenerator(new VirtualWait(clock), clock).Run(spec, new FlakySut(clock), new CountingSampleLibrary("t", 4), 1);
    }

    [Fact]
    public void A_failed_query_ends_with_its_reason_and_the_scenario_goes_on()
    {
        var run = Run(Spec(30));
        Assert.Null(run.Failure);
        Assert.Equal(30, run.Records.Length);
        Assert.All(run.Records, r => Assert.True(r.IsComplete));
        var failed = run.Records.Where(r => !r.IsServed).ToList();
        Assert.Equal(10, failed.Count);
        Assert.All(failed, r => Assert.StartsWith("HTTP 500", r.Error));
        Assert.All(failed, r => Assert.Equal(1, r.Tokens));   // what it streamed before it failed, kept for the record
    }

    [Fact]
    public void Failed_queries_are_counted_by_reason_left_out_of_the_latencies_and_make_the_cell_invalid()
    {
        var spec = Spec(30);
        var a = ScenarioAnalysis.Of(spec, Run(spec), RunProfile.Ci, new GateSpec(5, 0.99, ["latency"]));
        Assert.Equal(10, a.Failures.Count);
        Assert.Equal(20, a.QueriesCompleted);
        Assert.Equal(20, a.Distributions[Metrics.Latency.Name].N);
        // Reasons that differ only in a query's number are one reason; the message keeps the first one seen of each.
        Assert.Equal(10, a.Failures.ByReason.Sum(r => r.Count));
        Assert.False(a.Validity.Valid);
        Assert.Contains(a.Validity.Reasons, r => r.StartsWith("10 of 30 queries failed: HTTP 500", StringComparison.Ordinal));
        // Throughput counts served queries and their tokens only: 20 × 8.
        Assert.Equal(160.0 / a.DurationS, a.TokensPerSecond, 6);
    }

    [Fact]
    public void Goodput_counts_served_queries_within_every_limit()
    {
        // TTFT 1 ms for all but query 4 (30 ms); TPOT 0.1 ms. Limits 10 ms and 0.5 ms: the 20 served, less query 4.
        var spec = Spec(30, ttftMs: 10, tpotMs: 0.5);
        var a = ScenarioAnalysis.Of(spec, Run(spec), RunProfile.Ci, new GateSpec(5, 0.99, ["latency"]));
        Assert.Equal(19, a.Goodput!.GoodQueries);
        Assert.Equal(30, a.Goodput.Queries);
        Assert.Equal(19.0 / 30, a.Goodput.Fraction, 9);
        Assert.Equal(19 / a.DurationS, a.Goodput.QueriesPerSecond, 6);
        // A tighter TPOT limit than every query meets: none is good.
        var tight = Spec(30, ttftMs: 10, tpotMs: 0.05);
        Assert.Equal(0, ScenarioAnalysis.Of(tight, Run(tight), RunProfile.Ci, new GateSpec(5, 0.99, ["latency"])).Goodput!.GoodQueries);
        // No limits, no goodput: it would be the throughput under another name.
        Assert.Null(ScenarioAnalysis.Of(Spec(30), Run(Spec(30)), RunProfile.Ci, new GateSpec(5, 0.99, ["latency"])).Goodput);
    }

    /// <summary>A fake SUT whose IssueQuery blocks the issue thread for a while (in virtual time): the schedule slips.</summary>
    private sealed class BlockingSut(VirtualClock clock, long blockNs) : ISystemUnderTest
    {
        public string Name => "blocking (fake)";
        public void FlushQueries() { }
        public void IssueQuery(ReadOnlySpan<QuerySample> samples, IResponseSink sink)
        {
            foreach (var q in samples) { clock.Advance(blockNs); sink.FirstToken(q.Id); sink.Complete(q.Id, 1, 0); }
        }
    }

    [Theory]
    [InlineData(50_000, false)]     // 50 µs of issuing per query at 1000 QPS: the schedule holds
    [InlineData(2_000_000, true)]   // 2 ms per query at 1000 QPS: every query later than the last
    public void A_load_generator_that_falls_behind_its_schedule_says_so(long blockNs, bool behind)
    {
        var clock = new VirtualClock();
        var spec = new ScenarioSpec("server", ScenarioKind.Server, 1000, Nanoseconds.FromSeconds(0.2), Nanoseconds.FromSeconds(60), 100, null, null, null, 0.99, 0.99);
        var run = new LoadGenerator(new VirtualWait(clock), clock).Run(spec, new BlockingSut(clock, blockNs), new CountingSampleLibrary("t", 4), 1);
        var a = ScenarioAnalysis.Of(spec, run, RunProfile.Ci, new GateSpec(5, 0.99, ["latency"]));
        if (behind) Assert.StartsWith("the load generator fell behind its schedule: p99 issue lag", a.ScheduleNote);
        else Assert.Null(a.ScheduleNote);
    }
}
