using PerfLab.Core.Analysis;
using PerfLab.Core.Gate;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Results;
using PerfLab.Core.Statistics;
using PerfLab.Core.Suites;
using PerfLab.Core.Tests.Suites;

namespace PerfLab.Core.Tests.Statistics;

/// <summary>
/// Launches as the unit of replication, in simulation: per-token times whose queries follow an AR(1) process within a
/// launch (φ 0.5 and 0.9; measured lag-1 here 0.0–0.7) and whose launches differ by a random offset. The parameters are
/// those measured on the quick suite (summary.csv's within_launch_pct and between_launch_pct: 1.3–3 % within, 0.2–0.8 %
/// between for single-stream and offline TPOT, up to 3.8 % for server TPOT): 3 % within, 1 % between, 2 % of queries 3×
/// slower, 500 queries a launch, the suite's default launches and the default gate. The two sides are two runs: each
/// carries its own run offset, of 1 % (κ about 0.9 against the ~1.1 % spread of launch medians, as measured with 12
/// back-to-back runs here), which its launches share.
/// </summary>
public class LaunchTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const int QueriesPerLaunch = 500;

    private static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>One side's launches: each its own offset, then AR(1) noise of stationary spread withinSd, then tail outliers.</summary>
    internal static IReadOnlyList<double[]> Side(Random rng, double scale, double phi, double withinSd, double betweenSd, int launches = Suite.DefaultRepetitions,
        int n = QueriesPerLaunch, double runSd = 0)
    {
        var list = new List<double[]>();
        scale *= Math.Exp(runSd * Normal(rng));
        var innovation = withinSd * Math.Sqrt(1 - phi * phi);
        for (var l = 0; l < launches; l++)
        {
            var offset = betweenSd * Normal(rng);
            var e = withinSd * Normal(rng);
            var v = new double[n];
            for (var i = 0; i < n; i++)
            {
                e = phi * e + innovation * Normal(rng);
                v[i] = 207_000 * scale * Math.Exp(offset + e) * (rng.NextDouble() < 0.02 ? 3 : 1);
            }
            list.Add(v);
        }
        return list;
    }

    private const double RunSd = 0.01;

    private static (int Regressed, int Improved, int QueryLevelFalse) Trials(int seed, int trials, double shift, double phi, double betweenSd)
    {
        var rng = new Random(seed);
        var spec = GateSpec.Default;
        int regressed = 0, improved = 0, queryFalse = 0;
        for (var t = 0; t < trials; t++)
        {
            var a = Side(rng, 1, phi, 0.03, betweenSd, runSd: RunSd);
            var b = Side(rng, shift, phi, 0.03, betweenSd, runSd: RunSd);
            var c = LaunchComparer.Compare(a, b, false, spec.ThresholdPct, spec.Confidence, spec.FloorFor(Metrics.Tpot), spec.RunDrift);
            if (c.Verdict == Verdict.Regressed) regressed++;
            if (c.Verdict == Verdict.Improved) improved++;
            if (shift == 1)
            {
                // The same data judged as if its queries were independent: the method the launches replace.
                var q = SampleComparer.Compare(a.SelectMany(x => x).ToArray(), b.SelectMany(x => x).ToArray(), false, spec.ThresholdPct, spec.Confidence);
                if (q.Verdict is Verdict.Regressed or Verdict.Improved) queryFalse++;
            }
        }
        return (regressed, improved, queryFalse);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.9)]
    public void AA_false_verdicts_stay_under_one_percent_at_the_defaults(double phi)
    {
        const int trials = 400;
        var (regressed, improved, _) = Trials(31 + (int)(phi * 10), trials, 1.0, phi, 0.01);
        output.WriteLine($"φ {phi}: {regressed} regressed, {improved} improved of {trials} A/A comparisons");
        Assert.True(regressed + improved <= trials / 100, $"{regressed} regressed + {improved} improved of {trials} A/A comparisons (φ {phi})");
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.9)]
    public void A_ten_percent_tpot_shift_is_regressed_in_at_least_95_percent(double phi)
    {
        const int trials = 200;
        var (regressed, _, _) = Trials(41 + (int)(phi * 10), trials, 1.10, phi, 0.01);
        output.WriteLine($"φ {phi}: +10 % TPOT regressed in {regressed} of {trials}");
        Assert.True(regressed >= trials * 95 / 100, $"only {regressed} of {trials} +10 % shifts regressed (φ {phi})");
    }

    [Fact]
    public void When_launches_differ_by_3_percent_queries_as_replicates_are_fooled_and_launches_are_not()
    {
        // Run-to-run drift of a few per cent is what a busy host gives (server TTFT moved 1.7–4.6 % between quick runs).
        const int trials = 300;
        var (regressed, improved, queryFalse) = Trials(51, trials, 1.0, 0.5, 0.03);
        output.WriteLine($"σ between 3 %: launches {regressed + improved}, queries {queryFalse} false verdicts of {trials}");
        Assert.True(regressed + improved <= trials / 100, $"{regressed + improved} false verdicts over launches");
        Assert.True(queryFalse > trials / 100, $"query-level comparison gave only {queryFalse} false verdicts; the simulation no longer shows why launches are needed");
    }

    [Fact]
    public void One_launch_a_side_is_inconclusive_and_says_why()
    {
        var rng = new Random(5);
        var a = Side(rng, 1, 0.5, 0.03, 0.01, launches: 1);
        var b = Side(rng, 1.3, 0.5, 0.03, 0.01, launches: 1);
        var c = LaunchComparer.Compare(a, b, false, 5, 0.99);
        Assert.Equal(Verdict.Inconclusive, c.Verdict);
        Assert.Contains("at least 2", c.Reason);
        Assert.Contains("+3", c.Reason); // the query-level change is shown for reference, not judged
        Assert.Equal("launches", c.Basis);
        Assert.Null(Launches.Ratio(a, b, 0.99));
    }

    [Fact]
    public void Spread_separates_within_from_between_and_intervals_cover_their_estimates()
    {
        var rng = new Random(6);
        var quiet = Side(rng, 1, 0, 0.03, 0, launches: 5);
        var drifting = Side(rng, 1, 0, 0.03, 0.05, launches: 5);
        var q = Launches.Spread(quiet.Select(l => (IReadOnlyList<double>)l).ToList());
        var d = Launches.Spread(drifting.Select(l => (IReadOnlyList<double>)l).ToList());
        Assert.Equal(5, q.Launches);
        Assert.InRange(q.WithinPct, 2, 4.5);          // ~3 % per query, robustly (the 3× outliers do not count)
        Assert.InRange(d.WithinPct, 2, 4.5);
        Assert.True(d.BetweenPct > 3 * q.BetweenPct, $"between {d.BetweenPct:0.##} % vs {q.BetweenPct:0.##} %");
        Assert.True(double.IsNaN(Launches.Spread([quiet[0]]).BetweenPct));
        var e = Launches.MedianOverLaunches(drifting, 0.99)!;
        Assert.True(e.Lower < e.Value && e.Value < e.Upper);
        Assert.Null(Launches.MedianOverLaunches([quiet[0]], 0.99));
        // Equal launches: Student's pooled interval (df 8); unequal: Welch's, whose df fall below the pooled 6.
        var r = Launches.Ratio(quiet, drifting, 0.99)!;
        Assert.True(r.Lower < r.Ratio && r.Ratio < r.Upper);
        Assert.Equal(8, r.DegreesOfFreedom);
        var welch = Launches.Ratio(quiet, drifting.Take(3), 0.99)!;
        Assert.InRange(welch.DegreesOfFreedom, 1, 6 - 1e-9);
    }

    private static Cell Cell() => SuiteLoader.Load(Path.Combine(SuiteLoaderTests.RepoRoot(), "bench", "suites", "lab-quick.yaml")).Cells[0];

    [Fact]
    public void A_cell_with_a_failed_launch_fails_and_names_it_and_capacity_has_an_interval_covering_each_bracket()
    {
        var cell = Cell();
        CellResult Launch(int k, CellStatus status, double? capacity) =>
            CellResult.Empty(cell, status, status == CellStatus.Ok ? "" : "the agent died", Evidence.Measured) with
            {
                Launch = k, Reason = status == CellStatus.Ok ? null : "the agent died",
                Capacity = capacity is { } q ? new CapacityResult(q, q * 1.05, true, [], "") : null,
            };
        var values = new Dictionary<string, Dictionary<string, List<double[]>>>();
        var failed = LaunchAggregation.Combine([Launch(1, CellStatus.Ok, null), Launch(2, CellStatus.Failed, null), Launch(3, CellStatus.Ok, null)], values, 0.99).Single();
        Assert.Equal(CellStatus.Failed, failed.Status);
        Assert.Contains("launch 2 of 3", failed.Reason);
        Assert.Equal(3, failed.LaunchList.Count);

        var search = LaunchAggregation.Combine([Launch(1, CellStatus.Ok, 187.5), Launch(2, CellStatus.Ok, 187.5), Launch(3, CellStatus.Ok, 175)], values, 0.99).Single();
        var s = search.CapacitySpread!;
        Assert.Equal([187.5, 187.5, 175], s.PerLaunchQps);
        Assert.Equal(187.5, search.Capacity!.CapacityQps);   // the median launch's search is the one shown
        Assert.True(s.Lower <= 175 && s.Upper >= 187.5 * 1.05, $"[{s.Lower}, {s.Upper}]");
        // Three launches that agree to the QPS agreed on a bracket: the interval still spans it.
        var same = LaunchAggregation.Combine([Launch(1, CellStatus.Ok, 187.5), Launch(2, CellStatus.Ok, 187.5), Launch(3, CellStatus.Ok, 187.5)], values, 0.99).Single();
        Assert.True(same.CapacitySpread!.Upper >= 187.5 * 1.05);
    }

    [Fact]
    public void Run_drift_widens_only_comparisons_of_two_runs_by_the_variance_it_adds()
    {
        var rng = new Random(8);
        var a = Side(rng, 1, 0.5, 0.03, 0.02, launches: 5);
        var b = Side(rng, 1, 0.5, 0.03, 0.02, launches: 5);
        var same = Launches.Ratio(a, b, 0.99)!;
        var apart = Launches.Ratio(a, b, 0.99, runDrift: 1)!;
        Assert.Equal(same.Ratio, apart.Ratio, 12);
        // 1/5 + 1/5 + 2·1² against 1/5 + 1/5: the half-width on the log scale grows by √6.
        var halfSame = Math.Log(same.Upper / same.Ratio);
        var halfApart = Math.Log(apart.Upper / apart.Ratio);
        Assert.Equal(Math.Sqrt(6), halfApart / halfSame, 9);
        // More launches in one run cannot beat the drift between runs: some changes need more than any n.
        Assert.Equal(2, Launches.LaunchesToDetect(0.001, 10, 0.99, runDrift: 1));
        Assert.NotNull(Launches.LaunchesToDetect(0.02, 10, 0.99));
        Assert.Null(Launches.LaunchesToDetect(0.02, 10, 0.99, runDrift: 1));
        var c = LaunchComparer.Compare(a, b, false, 1, 0.99, runDrift: 1);
        Assert.Equal(Verdict.Inconclusive, c.Verdict);
        Assert.Contains("drift between runs", c.Reason);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(2.0)]
    public void Run_drift_is_measured_back_from_runs_that_have_it(double kappa)
    {
        // 12 runs of 5 launches (what perflab drift is meant for), launch medians spread by ~1 %, run offsets κ × that.
        var rng = new Random(9 + (int)(kappa * 10));
        const double launchSd = 0.01;
        var estimates = new List<RunDriftEstimate>();
        for (var metric = 0; metric < 20; metric++)
        {
            var runs = Enumerable.Range(0, 12).Select(_ => Side(rng, 1, 0, 0.001, launchSd, launches: 5, n: 50, runSd: kappa * launchSd)).ToList();
            estimates.Add(RunDrift.Estimate("c", "m" + metric, runs)!);
        }
        var pooled = RunDrift.Pooled(estimates);
        output.WriteLine($"κ {kappa}: pooled {pooled:0.00}, per metric {string.Join(" ", estimates.Select(e => e.Kappa.ToString("0.00")))}");
        Assert.All(estimates, e => Assert.Equal((12, 60), (e.Runs, e.Launches)));
        Assert.InRange(pooled, kappa * 0.75, kappa * 1.25 + 0.35);   // clipping at 0 biases small κ upward
        Assert.Null(RunDrift.Estimate("c", "m", [Side(rng, 1, 0, 0.01, 0.01, launches: 5), Side(rng, 1, 0, 0.01, 0.01, launches: 5)]));
    }
}
