using PerfLab.Core.Analysis;
using PerfLab.Core.Gate;
using PerfLab.Core.Suites;

namespace PerfLab.Core.Tests.Analysis;

/// <summary>Interference from two snapshots, the disturbed judgement, and the gate's refusal to judge a disturbed cell.</summary>
public class InterferenceTests
{
    private static HostCpuSnapshot At(double s, long busy, long steal, long total, long lab, long other = 0) =>
        new((long)(s * 1e9), busy, steal, total, new Dictionary<int, long> { [42] = lab }, new Dictionary<int, long> { [7] = other });

    [Fact]
    public void Other_work_is_summed_from_the_other_processes_counters()
    {
        // 4 s on 2 CPUs = 800 jiffies; the lab's processes ran 400 of them, the others 120 = 0.3 CPUs.
        var i = Interference.Between(At(0, 1000, 10, 5000, 100, 50), At(4, 1520, 30, 5800, 500, 170), 1.2);
        Assert.Equal(1.3, i.HostBusyCpus, 6);
        Assert.Equal(1.0, i.LabCpus, 6);
        Assert.Equal(0.3, i.OtherCpus, 6);
        Assert.Equal(2.5, i.StealPct, 6);
        Assert.Equal("host busy: other processes used 0.3 CPUs during the cell (bound 0.25)", i.Disturbance(Interference.DefaultBound));
        // A quiet window is not disturbed; steal alone can disturb it.
        Assert.Null(Interference.Between(At(0, 0, 0, 0, 0), At(4, 410, 0, 800, 400, 10), 0).Disturbance(Interference.DefaultBound));
        Assert.Contains("stole 10 %", Interference.Between(At(0, 0, 0, 0, 0), At(4, 400, 80, 800, 400), 0).Disturbance(Interference.DefaultBound));
        // A process that started during the window counts from zero; a pid's counter never runs backwards into "negative work".
        var started = Interference.Between(At(0, 0, 0, 0, 0), At(1, 100, 0, 200, 0) with { OtherJiffies = new Dictionary<int, long> { [7] = 0, [8] = 60 } }, 0);
        Assert.Equal(0.6, started.OtherCpus, 6);
        Assert.Equal(0, Interference.Between(At(0, 0, 0, 0, 0, 90), At(1, 0, 0, 200, 0, 10), 0).OtherCpus);
    }

    [Fact]
    public void A_disturbed_cell_is_never_called_regressed_or_improved()
    {
        var rng = new Random(3);
        double[] M(double scale) => Enumerable.Range(0, 500).Select(_ => scale * 1e6 * (1 + 0.05 * rng.NextDouble())).ToArray();
        GateInput Side(double scale, string? busy) => new("s", new Dictionary<string, IReadOnlyDictionary<string, IReadOnlyList<double[]>>>
        {
            ["c"] = new Dictionary<string, IReadOnlyList<double[]>> { ["latency"] = Gate.GateTests.InLaunches(M(scale)) },
        })
        {
            HostClass = "h",
            Disturbed = busy is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["c"] = busy },
        };
        var quiet = GateEvaluator.Evaluate(Side(1, null), Side(1.3, null), GateSpec.Default);
        Assert.Equal(Verdict.Regressed, quiet.Rows.Single().Comparison.Verdict);
        var busy = GateEvaluator.Evaluate(Side(1, null), Side(1.3, "host busy: other processes used 1.3 CPUs during the cell (bound 0.25)"), GateSpec.Default);
        var row = busy.Rows.Single().Comparison;
        Assert.Equal(Verdict.Inconclusive, row.Verdict);
        Assert.StartsWith("inconclusive: candidate host busy: other processes used 1.3 CPUs", row.Reason);
        Assert.False(busy.Fails(FailOn.Regression));
        Assert.Equal(Verdict.Inconclusive, GateEvaluator.Evaluate(Side(1.3, "host busy: x"), Side(1, null), GateSpec.Default).Rows.Single().Comparison.Verdict);
    }
}

/// <summary>Evidence labels that cannot overstate: an emulated figure names its profile; a TCG guest says it is no timing.</summary>
public class EvidenceSourceTests
{
    [Fact]
    public void Emulated_figures_name_where_they_come_from_and_measured_ones_need_nothing()
    {
        var emulated = new PerfLab.Core.Results.EffectiveRealm();
        emulated.Set("calibration_profile", "article-claims");
        Assert.Equal("calibration profile article-claims", PerfLab.Core.Results.EvidenceSource.Of(Evidence.Emulated, emulated));
        var tcg = new PerfLab.Core.Results.EffectiveRealm();
        tcg.Set(PerfLab.Core.Results.SettingSource.Vm, "accel", "tcg");
        Assert.StartsWith("QEMU TCG", PerfLab.Core.Results.EvidenceSource.Of(Evidence.Emulated, tcg));
        Assert.Null(PerfLab.Core.Results.EvidenceSource.Of(Evidence.Measured, emulated));
        Assert.Equal("emulated (calibration profile x)", PerfLab.Core.Results.EvidenceSource.Label("emulated", "calibration profile x"));
        Assert.Equal("measured", PerfLab.Core.Results.EvidenceSource.Label("measured", null));
    }
}
