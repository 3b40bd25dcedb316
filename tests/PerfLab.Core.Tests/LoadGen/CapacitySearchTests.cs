using PerfLab.Core.Analysis;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Suites;
using PerfLab.Core.Units;

namespace PerfLab.Core.Tests.LoadGen;

public class CapacitySearchTests(Xunit.Abstractions.ITestOutputHelper output)
{
    // The synthetic SUT's cost model (prefill per prompt, a fixed decode cost per token, one sequence at a time),
    // simulated in virtual time: a FIFO single server with a deterministic service time, fed the same Poisson
    // schedule the load generator uses. Its capacity under a TTFT limit is known analytically (M/D/1, below).
    private const double PrefillNs = 200_000, DecodeNsPerToken = 50_000;
    private const int Tokens = 17; // the first token ends prefill; 16 more follow
    private const double ServiceNs = PrefillNs + (Tokens - 1) * DecodeNsPerToken; // 1 ms
    private static readonly Nanoseconds TtftLimit = Nanoseconds.FromMilliseconds(5);

    private static ScenarioSpec Server(int minQueries) => new("server", ScenarioKind.Server, null, Nanoseconds.FromSeconds(1),
        Nanoseconds.FromSeconds(3600), minQueries, null, TtftLimit, null, 0.99, 0.99) { Search = new CapacitySearchSpec(50, 1, 24) };

    /// <summary>Simulated M/D/1 server run: every query's times as the load generator would record them.</summary>
    private static ScenarioRun SimulatedSynthetic(ScenarioSpec spec, double qps, int seed)
    {
        var schedule = LoadGenerator.PoissonSchedule(qps, spec.MinQueryCount, spec.MinDuration.Value, seed);
        var records = new QueryRecord[schedule.Length];
        double free = 0;
        for (var i = 0; i < schedule.Length; i++)
        {
            var start = Math.Max(free, schedule[i]);
            free = start + ServiceNs;
            records[i] = new QueryRecord
            {
                Id = i, ScheduledNs = schedule[i], IssuedNs = schedule[i], FirstTokenNs = (long)(start + PrefillNs),
                CompletedNs = (long)free, Tokens = Tokens, InsideNs = (long)ServiceNs,
            };
        }
        var effective = new EffectiveSettings("server", "server", qps, schedule.Length, 1, 3600, spec.MinQueryCount, seed, "simulated", 1);
        return new ScenarioRun(effective, records, (long)free, null, false, false);
    }

    /// <summary>Crommelin's M/D/1 waiting-time distribution: P(W ≤ t) = (1−ρ) Σ_{k=0}^{⌊t/D⌋} (λ(kD−t))^k / k! · e^{−λ(kD−t)}.</summary>
    private static double WaitCdf(double lambdaPerNs, double t)
    {
        var rho = lambdaPerNs * ServiceNs;
        if (rho >= 1) return 0;
        double sum = 0;
        for (var k = 0; k <= (int)Math.Floor(t / ServiceNs); k++)
        {
            var x = lambdaPerNs * (k * ServiceNs - t);
            sum += Math.Exp(k * Math.Log(Math.Abs(x)) - LogFactorial(k) - x) * (k % 2 == 1 && x < 0 ? -1 : 1);
        }
        return (1 - rho) * sum;
    }

    private static double LogFactorial(int k) => Enumerable.Range(1, k).Sum(i => Math.Log(i));

    /// <summary>The highest rate at which the given quantile of TTFT (wait + prefill) stays within the limit.</summary>
    private static double AnalyticCapacityQps(double quantile)
    {
        double lo = 1, hi = 1e9 / ServiceNs;
        for (var i = 0; i < 60; i++)
        {
            var mid = (lo + hi) / 2;
            if (WaitCdf(mid / 1e9, TtftLimit.Value - PrefillNs) >= quantile) lo = mid; else hi = mid;
        }
        return lo;
    }

    [Fact]
    public void The_waiting_time_formula_matches_the_simulation_it_is_the_yardstick_for()
    {
        // Guard for the yardstick itself: at ρ = 0.7 the simulated fraction waiting at most 2 ms matches Crommelin's formula.
        var spec = Server(200_000);
        var run = SimulatedSynthetic(spec, 700, 3);
        var waits = run.Records.Select(r => r.FirstTokenNs - PrefillNs - r.ScheduledNs).ToArray();
        var simulated = waits.Count(w => w <= 2_000_000) / (double)waits.Length;
        Assert.InRange(simulated, WaitCdf(700 / 1e9, 2_000_000) - 0.005, WaitCdf(700 / 1e9, 2_000_000) + 0.005);
    }

    [Fact]
    public void Converges_on_the_simulated_synthetic_SUT_within_5_percent_of_its_analytic_capacity()
    {
        var spec = Server(50_000);
        var result = CapacitySearch.Run(spec.Search!, (i, phase, qps) =>
        {
            var s = spec with { TargetQps = qps };
            var a = ScenarioAnalysis.Of(s, SimulatedSynthetic(s, qps, 42), RunProfile.Ci, GateSpec.Default);
            return new CapacityProbe(i, phase, qps, a.Validity.Valid, false, a.QueriesPerSecond, a.Distributions["ttft"].P99.Value, null, null, null);
        });
        var analytic = AnalyticCapacityQps(0.99);
        output.WriteLine($"found {result.CapacityQps:0.#} QPS, analytic {analytic:0.#} QPS, {result.Probes.Count} probes: {result.Note}");
        Assert.True(result.Converged, result.Note);
        Assert.NotNull(result.CapacityQps);
        Assert.InRange(result.CapacityQps!.Value / analytic, 0.95, 1.05);
        // The bracket was found by doubling from 50 QPS, then bisected: both phases ran, and the budget was enough.
        Assert.Contains(result.Probes, p => p.Phase == "bracket");
        Assert.Contains(result.Probes, p => p.Phase == "bisect");
        Assert.True(result.LowestInvalidQps > result.CapacityQps);
    }

    [Fact]
    public void A_low_rate_probe_is_given_the_time_its_schedule_needs()
    {
        // 1000 queries at 7.5 QPS take 133 s to arrive: a 60 s max_duration would fail the probe for the clock.
        var spec = Server(1000) with { MaxDuration = Nanoseconds.FromSeconds(60) };
        var slow = CapacitySearch.ProbeSpec(spec, 7.5);
        Assert.Equal(7.5, slow.TargetQps);
        Assert.Equal(2 * 1000 / 7.5, slow.MaxDuration.Seconds, 6);
        var run = SimulatedSynthetic(slow, 7.5, 1);
        Assert.True(ScenarioAnalysis.Of(slow, run with { TimedOut = run.DurationNs > slow.MaxDuration.Value }, RunProfile.Ci, GateSpec.Default).Validity.Valid);
        // A fast probe keeps the suite's own limit.
        Assert.Equal(60, CapacitySearch.ProbeSpec(spec, 500).MaxDuration.Seconds, 6);
    }

    private static CapacityProbe Threshold(int i, string phase, double qps, double capacity) =>
        new(i, phase, qps, qps <= capacity, false, qps, null, null, null, qps <= capacity ? null : "over");

    [Theory]
    [InlineData(10, 137)]   // bracket upwards
    [InlineData(500, 37)]   // bracket downwards
    [InlineData(100, 100)]  // the start is the capacity itself
    public void Brackets_in_either_direction_then_bisects_to_the_tolerance(double start, double capacity)
    {
        var r = CapacitySearch.Run(new CapacitySearchSpec(start, 2, 30), (i, p, q) => Threshold(i, p, q, capacity));
        Assert.True(r.Converged, r.Note);
        Assert.InRange(r.CapacityQps!.Value, capacity * 0.98, capacity);
        Assert.InRange(r.LowestInvalidQps!.Value, capacity, capacity * 1.02 + 1e-9);
        Assert.All(r.Probes.Where(p => p.Valid), p => Assert.True(p.TargetQps <= r.CapacityQps));
    }

    [Fact]
    public void A_spent_budget_is_reported_as_not_converged_with_the_bracket_reached()
    {
        var r = CapacitySearch.Run(new CapacitySearchSpec(10, 0.1, 4), (i, p, q) => Threshold(i, p, q, 1000));
        Assert.False(r.Converged);
        Assert.Equal(4, r.Probes.Count);
        Assert.Equal(80, r.CapacityQps);
        Assert.Contains("at least 80", r.Note);
    }

    [Fact]
    public void A_SUT_invalid_at_every_rate_has_no_capacity_and_a_failed_probe_stops_the_search()
    {
        var none = CapacitySearch.Run(new CapacitySearchSpec(1, 2, 64), (i, p, q) => Threshold(i, p, q, 0));
        Assert.Null(none.CapacityQps);
        Assert.Contains("cannot be met", none.Note);

        var failed = CapacitySearch.Run(new CapacitySearchSpec(10, 2, 64), (i, p, q) =>
            i == 2 ? new CapacityProbe(i, p, q, false, true, 0, null, null, null, "agent died") : Threshold(i, p, q, 1000));
        Assert.Equal(3, failed.Probes.Count);
        Assert.Contains("agent died", failed.Note);
        Assert.False(failed.Converged);
    }
}

/// <summary>A borderline probe is repeated and decided by majority; a clear one runs once; margins follow LoadGen's rules.</summary>
public class CapacityRepeatTests
{
    /// <summary>A fake SUT whose capacity is 100 QPS: probes at or below it are VALID, above INVALID, each with a margin of
    /// over-limit queries that shrinks near 100; a hiccup makes the first run at one rate INVALID by one query.</summary>
    private static Func<int, string, double, CapacityProbe> Sut(double hiccupAt, List<(string Phase, double Qps)> log)
    {
        var hiccupped = false;
        return (index, phase, qps) =>
        {
            log.Add((phase, qps));
            var margin = (int)Math.Round((100 - qps) / 2.0);
            var valid = qps <= 100;
            if (!hiccupped && Math.Abs(qps - hiccupAt) < 1e-9)
            {
                hiccupped = true;
                (valid, margin) = (false, -1);
            }
            // The slowest query approaches the limit as the rate approaches capacity.
            return new CapacityProbe(index, phase, qps, valid, false, qps, null, null, null, valid ? null : "over the limit")
            {
                Margin = margin, PeakToLimit = qps / 100,
            };
        };
    }

    [Fact]
    public void One_hiccup_at_a_borderline_rate_does_not_move_the_capacity()
    {
        // From 25 QPS the search doubles to 100 (VALID by a margin of 0: borderline) and 200, then bisects towards 100.
        // The first run at 100 QPS hiccups (INVALID by one query); being borderline, it is run again and the majority decides.
        var spec = new CapacitySearchSpec(25, 2, 30);
        var withRepeats = new List<(string, double)>();
        var once = new List<(string, double)>();
        var hiccup = 100.0;
        var r = CapacitySearch.Run(spec, Sut(hiccup, withRepeats));
        var r1 = CapacitySearch.Run(spec with { Repeats = 1 }, Sut(hiccup, once));
        Assert.Equal(100, r.CapacityQps);
        Assert.Contains(withRepeats, p => p.Item1 == "repeat" && p.Item2 == hiccup);
        // Without repeats the same hiccup moves the answer below the true capacity.
        Assert.True(r1.CapacityQps < 100, $"without repeats: {r1.CapacityQps}");
        // Clear probes are never repeated: 200 QPS is INVALID by far; 25 and 50 are VALID with their slowest query far under the limit.
        Assert.DoesNotContain(withRepeats, p => p.Item1 == "repeat" && p.Item2 is 25 or 50 or 200);
        // A VALID probe with no over-limit query to spare is still not borderline when nothing came near the limit.
        Assert.False(new CapacityProbe(0, "bisect", 10, true, false, 10, null, null, null, null) { Margin = 0, PeakToLimit = 0.4 }.IsBorderline(2));
        Assert.True(new CapacityProbe(0, "bisect", 10, true, false, 10, null, null, null, null) { Margin = 0, PeakToLimit = 0.9 }.IsBorderline(2));
        Assert.True(new CapacityProbe(0, "bisect", 10, false, false, 10, null, null, null, null) { Margin = -1, PeakToLimit = 1.3 }.IsBorderline(2));
    }

    [Fact]
    public void The_margin_is_the_over_limit_queries_a_server_verdict_had_to_spare()
    {
        // 1000 server queries against a 10 ms limit: LoadGen allows as many over it as early stopping and the nearest-rank
        // p99 both accept; one fewer over leaves a margin of one, one more is past it by one.
        PerfLab.Core.Analysis.MlperfVerdict Verdict(int over) => PerfLab.Core.Analysis.MlperfRules.Judge(new PerfLab.Core.Analysis.MlperfTrace(
            ScenarioKind.Server, 0.99, 0.99, 0, 10, 1000,
            [.. Enumerable.Range(0, 1000 - over).Select(i => 1e6 + i * 1e3), .. Enumerable.Repeat(2e7, over)], [], [], 0, 0, 2e7, 1e7, null, null, false));
        var allowed = Enumerable.Range(0, 20).Last(t => Verdict(t).Valid);
        Assert.Equal(0, PerfLab.Core.Analysis.MlperfRules.OverLimitMargin(Verdict(allowed)));
        if (allowed > 0) Assert.Equal(1, PerfLab.Core.Analysis.MlperfRules.OverLimitMargin(Verdict(allowed - 1)));
        Assert.Equal(-1, PerfLab.Core.Analysis.MlperfRules.OverLimitMargin(Verdict(allowed + 1)));
        Assert.False(Verdict(allowed + 1).Valid);
    }
}
