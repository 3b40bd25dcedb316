using PerfLab.Core.Gate;
using PerfLab.Core.Suites;
using PerfLab.Core.Tests.Suites;

namespace PerfLab.Core.Tests.Gate;

public class GateTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>Skewed and noisy, like request latencies: log-normal body, 2 % of queries slowed 3×.</summary>
    private static double[] Latencies(Random rng, int n, double scale)
    {
        var v = new double[n];
        for (var i = 0; i < n; i++)
        {
            var z = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            v[i] = scale * 1_000_000 * Math.Exp(0.3 * z) * (rng.NextDouble() < 0.02 ? 3 : 1);
        }
        return v;
    }

    /// <summary>The default sample size: the smallest min_queries of the default suite's scenarios.</summary>
    private static int DefaultSampleSize() =>
        SuiteLoader.Load(Path.Combine(SuiteLoaderTests.RepoRoot(), "bench", "suites", "lab-quick.yaml")).Scenarios.Min(s => s.MinQueryCount);

    /// <summary>How many of <paramref name="trials"/> comparisons at the default sample size say regressed.</summary>
    private static (int Regressed, int N) Simulate(double candidateScale, int seed, int trials)
    {
        var n = DefaultSampleSize();
        var spec = GateSpec.Default;
        var rng = new Random(seed);
        var regressed = 0;
        for (var i = 0; i < trials; i++)
            if (SampleComparer.Compare(Latencies(rng, n, 1), Latencies(rng, n, candidateScale), false, spec.ThresholdPct, spec.Confidence).Verdict == Verdict.Regressed)
                regressed++;
        return (regressed, n);
    }

    [Fact]
    public void AA_comparisons_rarely_claim_a_regression()
    {
        const int trials = 300;
        var (regressed, n) = Simulate(1.0, 11, trials);
        output.WriteLine($"A/A: {regressed} of {trials} said regressed at n = {n}");
        Assert.True(regressed <= trials / 100, $"{regressed} of {trials} A/A comparisons said regressed (n = {n})");
    }

    [Fact]
    public void A_ten_percent_slowdown_is_detected_at_the_default_sample_size()
    {
        const int trials = 300;
        var (detected, n) = Simulate(1.10, 12, trials);
        output.WriteLine($"+10 %: {detected} of {trials} detected at n = {n}");
        Assert.True(detected >= trials * 95 / 100, $"only {detected} of {trials} 10 % slowdowns detected (n = {n})");
    }

    [Fact]
    public void Direction_follows_the_metric_throughput_falling_is_a_regression()
    {
        var rng = new Random(13);
        var before = Enumerable.Range(0, 200).Select(_ => 1000 + rng.NextDouble() * 10).ToArray();
        var after = before.Select(v => v * 0.8).ToArray();
        Assert.Equal(Verdict.Regressed, SampleComparer.Compare(before, after, true, 5, 0.99).Verdict);
        Assert.Equal(Verdict.Improved, SampleComparer.Compare(after, before, true, 5, 0.99).Verdict);
        Assert.Equal(Verdict.Improved, SampleComparer.Compare(before, after, false, 5, 0.99).Verdict);
    }

    [Fact]
    public void Verdicts_unchanged_inconclusive_and_the_effect_interval()
    {
        var rng = new Random(14);
        var a = Enumerable.Range(0, 2000).Select(_ => 100 + rng.NextDouble()).ToArray();
        var b = Enumerable.Range(0, 2000).Select(_ => 100 + rng.NextDouble()).ToArray();
        var same = SampleComparer.Compare(a, b, false, 5, 0.99);
        Assert.Equal(Verdict.Unchanged, same.Verdict);
        Assert.InRange(same.Ratio, 0.99, 1.01);
        Assert.True(same.RatioLower <= same.Ratio && same.Ratio <= same.RatioUpper);

        var wild1 = Enumerable.Range(0, 8).Select(_ => Math.Exp(rng.NextDouble() * 4)).ToArray();
        var wild2 = Enumerable.Range(0, 8).Select(_ => Math.Exp(rng.NextDouble() * 4)).ToArray();
        var noisy = SampleComparer.Compare(wild1, wild2, false, 5, 0.99);
        Assert.Equal(Verdict.Inconclusive, noisy.Verdict);
        Assert.Contains("too noisy", noisy.Reason);

        var few = SampleComparer.Compare([1, 2], [1, 2], false, 5, 0.99);
        Assert.Equal(Verdict.Inconclusive, few.Verdict);
    }

    [Fact]
    public void An_absolute_floor_keeps_tiny_time_changes_from_failing_the_gate()
    {
        var rng = new Random(17);
        var a = Enumerable.Range(0, 1000).Select(_ => 150_000 + rng.NextDouble() * 1000).ToArray(); // ~150 µs
        var b = a.Select(v => v * 1.10).ToArray();                                                     // +15 µs
        Assert.Equal(Verdict.Regressed, SampleComparer.Compare(a, b, false, 5, 0.99).Verdict);
        var floored = SampleComparer.Compare(a, b, false, 5, 0.99, absoluteFloor: 50_000);
        Assert.NotEqual(Verdict.Regressed, floored.Verdict);
        Assert.Contains("33.", floored.Reason); // the threshold it applied: 50 µs of ~150 µs
    }

    [Fact]
    public void Ratio_estimate_recovers_a_known_shift()
    {
        var rng = new Random(15);
        var a = Latencies(rng, 3000, 1);
        var b = Latencies(rng, 3000, 1.2);
        var c = SampleComparer.Compare(a, b, false, 5, 0.99);
        Assert.InRange(c.Ratio, 1.17, 1.23);
        Assert.True(c.RatioLower < 1.2 && 1.2 < c.RatioUpper);
    }

    [Fact]
    public void Report_counts_verdicts_treats_a_lost_cell_as_regression_and_renders_markdown()
    {
        var rng = new Random(16);
        IReadOnlyDictionary<string, IReadOnlyList<double[]>> M(double scale) => new Dictionary<string, IReadOnlyList<double[]>> { ["latency"] = InLaunches(Latencies(rng, 600, scale)) };
        var baseline = new GateInput("base", new Dictionary<string, IReadOnlyDictionary<string, IReadOnlyList<double[]>>> { ["a"] = M(1), ["b"] = M(1), ["gone"] = M(1) }) { HostClass = "h" };
        var candidate = new GateInput("cand", new Dictionary<string, IReadOnlyDictionary<string, IReadOnlyList<double[]>>> { ["a"] = M(1), ["b"] = M(1.3), ["new"] = M(1) }) { HostClass = "h" };
        var report = GateEvaluator.Evaluate(baseline, candidate, GateSpec.Default);
        Assert.Equal(Verdict.Regressed, report.Rows.Single(r => r.CellId == "b").Comparison.Verdict);
        Assert.NotEqual(Verdict.Regressed, report.Rows.Single(r => r.CellId == "a").Comparison.Verdict);
        Assert.Equal(["gone"], report.MissingCells);
        Assert.Contains(report.Notes, n => n.Contains("`new`"));
        Assert.True(report.AnyRegression);
        var md = report.ToMarkdown();
        Assert.Contains("| `b` | latency | **regressed** |", md);
        Assert.Contains("| `gone` | – | **missing** |", md);
    }

    /// <summary>The values cut into consecutive launches (three, the default).</summary>
    internal static IReadOnlyList<double[]> InLaunches(double[] values, int launches = Suite.DefaultRepetitions) =>
        Enumerable.Range(0, launches).Select(i => values[(i * values.Length / launches)..((i + 1) * values.Length / launches)]).ToList();

    private static GateInput Side(string host, string metric, double[] values, int launches = Suite.DefaultRepetitions) =>
        new("side", new Dictionary<string, IReadOnlyDictionary<string, IReadOnlyList<double[]>>>
        {
            ["c"] = new Dictionary<string, IReadOnlyList<double[]>> { [metric] = InLaunches(values, launches) },
        }) { HostClass = host };

    [Fact]
    public void A_per_query_floor_does_not_hide_a_per_token_regression()
    {
        // lab-quick.yaml's 50 µs floor is for per-query times; a ~207 µs TPOT grown by 20 % must still be regressed.
        var rng = new Random(21);
        double[] Tpot(double scale) => Enumerable.Range(0, 600).Select(_ => 207_000 * scale * (1 + 0.02 * (rng.NextDouble() - 0.5))).ToArray();
        var spec = GateSpec.Default with { ThresholdAbsNs = 50_000 };
        var report = GateEvaluator.Evaluate(Side("h", "tpot", Tpot(1)), Side("h", "tpot", Tpot(1.2)), spec);
        Assert.Equal(Verdict.Regressed, report.Rows.Single().Comparison.Verdict);
        // The same floor still applies to a per-query time: +20 % of 207 µs is 41 µs, under 50 µs.
        var latency = GateEvaluator.Evaluate(Side("h", "latency", Tpot(1)), Side("h", "latency", Tpot(1.2)), spec);
        Assert.NotEqual(Verdict.Regressed, latency.Rows.Single().Comparison.Verdict);
        // A per-token floor, when a suite sets one, applies to TPOT only.
        var floored = GateEvaluator.Evaluate(Side("h", "tpot", Tpot(1)), Side("h", "tpot", Tpot(1.2)), spec with { ThresholdAbsPerTokenNs = 50_000 });
        Assert.NotEqual(Verdict.Regressed, floored.Rows.Single().Comparison.Verdict);
    }

    [Fact]
    public void A_change_exactly_on_the_threshold_is_not_pushed_over_it_by_rounding()
    {
        // Quantised data (whole timer ticks of 1 µs) and a change of exactly 5 %: on the threshold, not beyond it.
        var baseline = Enumerable.Range(0, 400).Select(i => 1_000_000.0 + 20_000 * (i % 5)).ToArray();
        var candidate = baseline.Select(v => v * 1.05).ToArray();
        var c = SampleComparer.Compare(baseline, candidate, false, 5, 0.99);
        Assert.NotEqual(Verdict.Regressed, c.Verdict);
        Assert.Equal(Verdict.Unchanged, c.Verdict);
        // Just beyond it is a regression.
        Assert.Equal(Verdict.Regressed, SampleComparer.Compare(baseline, baseline.Select(v => v * 1.06).ToArray(), false, 5, 0.99).Verdict);
    }

    [Fact]
    public void Sides_from_different_host_classes_are_not_compared_unless_asked()
    {
        var rng = new Random(22);
        var a = Side("AMD EPYC, 2 CPUs, kernel 6.18.44-fc-v595", "latency", Latencies(rng, 600, 1));
        var b = Side("Intel Xeon, 2 CPUs, kernel 6.18.44-fc-v782", "latency", Latencies(rng, 600, 1.3));
        var report = GateEvaluator.Evaluate(a, b, GateSpec.Default);
        Assert.Empty(report.Rows);
        Assert.Contains("AMD EPYC", report.HostProblem);
        Assert.Contains("Intel Xeon", report.HostProblem);
        Assert.False(report.Fails(FailOn.Regression));
        Assert.True(report.Fails(FailOn.Inconclusive));
        Assert.DoesNotContain("✅", report.ToMarkdown());
        // An unknown host (a baseline recorded before hosts were) is not the same host either.
        Assert.NotNull(GateEvaluator.Evaluate(a with { HostClass = null }, a, GateSpec.Default).HostProblem);
        var forced = GateEvaluator.Evaluate(a, b, GateSpec.Default, allowOtherHost: true);
        Assert.Equal(Verdict.Regressed, forced.Rows.Single().Comparison.Verdict);
        Assert.Contains(forced.Notes, n => n.Contains("--allow-other-host"));
    }

    /// <summary>Launches whose medians are these, each of 50 values with a little spread around it.</summary>
    private static IReadOnlyList<double[]> LaunchesAt(params double[] medians) =>
        medians.Select(m => Enumerable.Range(0, 50).Select(i => m * (1 + 0.001 * (i % 5 - 2))).ToArray()).ToList();

    [Fact]
    public void An_inconclusive_verdict_names_launches_a_step_slower_than_the_rest_of_their_side()
    {
        // As on 2026-11-29 here: tight launches at ~223 µs, three of the baseline's at ~248 µs in one of the host's slow periods.
        var stepped = LaunchesAt(223, 223.6, 222.4, 223.2, 222.8, 248, 249.5, 247.3);
        var steady = LaunchesAt(223.1, 222.9, 223.4, 222.7, 223.3, 223.0, 222.6, 223.2);
        var c = LaunchComparer.Compare(stepped, steady, false, 5, 0.99, runDrift: 1);
        Assert.Equal(Verdict.Inconclusive, c.Verdict);
        Assert.Contains("3 of 8 baseline (a 10.", c.Reason);
        Assert.Contains("none of 8 candidate", c.Reason);
        // For a rate the slow launches are the low ones.
        var rate = LaunchComparer.Compare(LaunchesAt(300, 301, 299, 300.5, 270, 268), LaunchesAt(300, 300.4, 299.6, 300.2, 299.8, 300.1), true, 5, 0.99, runDrift: 1);
        Assert.Equal(Verdict.Inconclusive, rate.Verdict);
        Assert.Contains("2 of 6 baseline", rate.Reason);
        // Launches spread evenly (no step) are noisy, not stepped: the reason does not blame slow periods.
        var even = LaunchComparer.Compare(LaunchesAt(96, 98, 100, 102, 104), LaunchesAt(97, 99, 101, 103, 105), false, 5, 0.99, runDrift: 1);
        Assert.Equal(Verdict.Inconclusive, even.Verdict);
        Assert.DoesNotContain("step slower", even.Reason);
    }
}
