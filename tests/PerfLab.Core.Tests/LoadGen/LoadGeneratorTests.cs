using PerfLab.Core.LoadGen;
using PerfLab.Core.Suites;
using PerfLab.Core.Time;
using PerfLab.Core.Units;

namespace PerfLab.Core.Tests.LoadGen;

public class LoadGeneratorTests
{
    private static ScenarioSpec Spec(ScenarioKind kind, double? qps = null, double minS = 0, int minQ = 20, double maxS = 30) =>
        new(kind.Name(), kind, qps, Nanoseconds.FromSeconds(minS), Nanoseconds.FromSeconds(maxS), minQ, null, null, null, 0.99, 0.99);

    private static readonly IQuerySampleLibrary Qsl = new CountingSampleLibrary("t", 10);

    [Fact]
    public void Single_stream_issues_one_query_at_a_time_until_the_count_is_reached()
    {
        using var sut = new MockSut { ServiceNs = 200_000 };
        var run = new LoadGenerator().Run(Spec(ScenarioKind.SingleStream, minQ: 25), sut, Qsl, 1);
        Assert.Equal(25, run.Records.Length);
        Assert.All(run.Records, r => Assert.True(r.IsComplete));
        // The next query is issued only after the previous one completed.
        for (var i = 1; i < run.Records.Length; i++) Assert.True(run.Records[i].IssuedNs >= run.Records[i - 1].CompletedNs);
        Assert.All(run.Records, r => Assert.True(r.LatencyNs >= 200_000));
        Assert.Null(run.Failure);
    }

    [Fact]
    public void Warm_up_runs_the_cell_own_scenario_for_its_duration_and_a_search_at_its_start_rate()
    {
        var server = Spec(ScenarioKind.Server, qps: 40, minS: 600, minQ: 24_576, maxS: 900);
        var w = LoadGenerator.WarmupSpec(server, Nanoseconds.FromSeconds(2))!;
        Assert.Equal((ScenarioKind.Server, 40.0, 2.0, 1, 900.0), (w.Kind, w.TargetQps!.Value, w.MinDuration.Seconds, w.MinQueryCount, w.MaxDuration.Seconds));
        Assert.Null(LoadGenerator.WarmupSpec(server, Nanoseconds.Zero));

        var search = server with { TargetQps = null, Search = new CapacitySearchSpec(25, 3, 10) };
        var ws = LoadGenerator.WarmupSpec(search, Nanoseconds.FromSeconds(1))!;
        Assert.Equal(25, ws.TargetQps);
        Assert.Null(ws.Search);
        Assert.NotEqual(5, LoadGenerator.WarmupSeed(5));

        // In virtual time: a single-stream warm-up of 2 s at 1 ms a query issues until one is issued at 2 s or later: 2001.
        var clock = new VirtualClock();
        var sut = new ClockedSut(clock, 1_000_000, _ => { });
        var run = new LoadGenerator(new VirtualWait(clock), clock).Run(LoadGenerator.WarmupSpec(Spec(ScenarioKind.SingleStream, minQ: 24_576), Nanoseconds.FromSeconds(2))!, sut, Qsl, 1);
        Assert.Equal(2001, run.Records.Length);
        // Every sample is served once, in turn, before the draws: the runtime has seen the longest one before the window.
        Assert.Equal(Enumerable.Range(0, 10), run.Records.Take(10).Select(r => r.SampleIndex));
        // A warm-up shorter than the sample set still covers it: 0.001 s at 1 ms a query would be 2 queries, not 10.
        var brief = new LoadGenerator(new VirtualWait(clock), clock).Run(LoadGenerator.WarmupSpec(Spec(ScenarioKind.SingleStream), Nanoseconds.FromSeconds(0.001))!, sut, Qsl, 1);
        Assert.Equal(10, brief.Records.Length);
    }

    [Fact]
    public void Poisson_schedule_is_fixed_by_its_seed_and_has_the_asked_rate()
    {
        var a = LoadGenerator.PoissonSchedule(1000, 20_000, 0, 5);
        var b = LoadGenerator.PoissonSchedule(1000, 20_000, 0, 5);
        var c = LoadGenerator.PoissonSchedule(1000, 20_000, 0, 6);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        var rate = a.Length / (a[^1] / 1e9);
        Assert.InRange(rate, 970, 1030);
        // Exponential gaps: the coefficient of variation of the gaps is 1.
        var gaps = a.Zip(a.Skip(1), (x, y) => (double)(y - x)).ToArray();
        var mean = gaps.Average();
        var sd = Math.Sqrt(gaps.Sum(g => (g - mean) * (g - mean)) / gaps.Length);
        Assert.InRange(sd / mean, 0.95, 1.05);
    }

    [Fact]
    public void Poisson_schedule_covers_the_minimum_duration_as_well_as_the_count()
    {
        var s = LoadGenerator.PoissonSchedule(100, 10, 5_000_000_000, 1);
        Assert.True(s[^1] >= 5_000_000_000);
        Assert.True(s.Length > 400);
    }

    [Fact]
    public void Server_latency_counts_from_the_scheduled_time_so_queueing_is_charged_to_the_SUT()
    {
        // One server taking 2 ms per query against 1000 queries/s arrivals: it falls behind, and queries wait.
        using var sut = new MockSut { ServiceNs = 2_000_000 };
        var run = new LoadGenerator().Run(Spec(ScenarioKind.Server, qps: 1000, minQ: 100), sut, Qsl, 3);
        Assert.Equal(100, run.Records.Length);
        var last = run.Records.OrderBy(r => r.ScheduledNs).Last();
        Assert.True(last.LatencyNs > 50 * 2_000_000 / 2, $"latency of the last query {last.LatencyNs} ns should include its wait in the queue");
        Assert.All(run.Records, r => Assert.True(r.IssuedNs >= r.ScheduledNs));
        var schedule = LoadGenerator.PoissonSchedule(1000, 100, 0, 3);
        Assert.Equal(schedule, run.Records.Select(r => r.ScheduledNs).ToArray());
    }

    [Fact]
    public void Offline_issues_every_query_at_once()
    {
        using var sut = new MockSut { ServiceNs = 50_000 };
        var run = new LoadGenerator().Run(Spec(ScenarioKind.Offline, qps: 100, minS: 1, minQ: 50), sut, Qsl, 1);
        Assert.Equal(100, run.Records.Length); // expected QPS × min duration beats min_queries
        Assert.Single(run.Records.Select(r => r.ScheduledNs).Distinct());
        Assert.Single(run.Records.Select(r => r.IssuedNs).Distinct());
        Assert.All(run.Records, r => Assert.True(r.IsComplete));
    }

    [Fact]
    public void A_failing_SUT_ends_the_scenario_with_its_reason()
    {
        using var sut = new MockSut { ServiceNs = 10_000, FailAfter = 5 };
        var run = new LoadGenerator().Run(Spec(ScenarioKind.SingleStream, minQ: 50), sut, Qsl, 1);
        Assert.Equal("mock failure", run.Failure);
        Assert.True(run.Records.Length <= 6);
    }

    [Fact]
    public void A_silent_SUT_times_out_at_max_duration_and_the_run_says_so()
    {
        using var sut = new MockSut { Silent = true };
        var run = new LoadGenerator().Run(Spec(ScenarioKind.Offline, minQ: 10, maxS: 0.3), sut, Qsl, 1);
        Assert.True(run.TimedOut);
        Assert.All(run.Records, r => Assert.False(r.IsComplete));
    }

    [Fact]
    public void Cancellation_stops_the_run_and_marks_it_interrupted()
    {
        // In virtual time: each query takes 1 ms of the clock, and the 50th cancels the run (as Ctrl-C would).
        var clock = new VirtualClock();
        using var cts = new CancellationTokenSource();
        var sut = new ClockedSut(clock, 1_000_000, served => { if (served == 50) cts.Cancel(); });
        var run = new LoadGenerator(new VirtualWait(clock), clock).Run(Spec(ScenarioKind.SingleStream, minS: 20, minQ: 100_000), sut, Qsl, 1, cts.Token);
        Assert.True(run.Interrupted);
        Assert.Equal(50, run.Records.Length);
        Assert.Equal(50_000_000, run.DurationNs);
    }

    /// <summary>A fake SUT in virtual time: answers each query at once, moving the clock by its service time.</summary>
    private sealed class ClockedSut(VirtualClock clock, long serviceNs, Action<long> afterEach) : ISystemUnderTest
    {
        private long _served;
        public string Name => "clocked (fake)";
        public void FlushQueries() { }

        public void IssueQuery(ReadOnlySpan<QuerySample> samples, IResponseSink sink)
        {
            foreach (var q in samples)
            {
                clock.Advance(serviceNs);
                sink.Complete(q.Id, 1, serviceNs);
                afterEach(++_served);
            }
        }
    }

    [Fact]
    public void Sample_indices_stay_within_the_performance_sample_count()
    {
        using var sut = new MockSut();
        var run = new LoadGenerator().Run(Spec(ScenarioKind.Offline, minQ: 500), sut, new CountingSampleLibrary("t", 7), 1);
        Assert.All(run.Records, r => Assert.InRange(r.SampleIndex, 0, 6));
        Assert.Equal(7, run.Records.Select(r => r.SampleIndex).Distinct().Count());
    }

    [Fact]
    public void Query_log_addresses_stay_stable_across_chunks()
    {
        var log = new QueryLog();
        for (var i = 0; i < 10_000; i++) log.Add(i % 3, i);
        ref var r = ref log[5000];
        r.Tokens = 9;
        for (var i = 0; i < 10_000; i++) log.Add(0, 0);
        Assert.Equal(9, log[5000].Tokens);
        Assert.Equal(20_000, log.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => log[20_000].Tokens);
    }
}
