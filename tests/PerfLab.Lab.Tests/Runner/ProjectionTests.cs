using PerfLab.Lab.Backends;
using PerfLab.Results;

namespace PerfLab.Lab.Tests.Runner;

/// <summary>
/// perflab project's decomposition on the committed run of the default suite: under the profile the run was priced by it
/// is the run's own; under the RMM v1.0 and v2.0 shapes the same counts are re-priced, projected, and the terms the ABI
/// changes (faults per granule, delegation per call) change as their granules say.
/// </summary>
public class ProjectionTests
{
    private static RunData Mission() => RunFolderReader.Read(Path.Combine(
        PerfLab.Lab.Os.RepoPaths.FindUpwards(Path.Combine("tests", "PerfLab.Report.Tests", "Recorded"))!, "20261128T220523Z-mission"), ReadMode.Tolerant);

    [Fact]
    public void The_measured_profile_reproduces_the_run_and_the_RMM_shapes_reprice_it_term_by_term()
    {
        var run = Mission();
        var own = RealmCostTable.For(run);
        Assert.NotEmpty(own);
        var measured = RealmCostTable.For(run, CalibrationProfile.Load("kvm-pvm-measured").ToPrices());
        var v1 = RealmCostTable.For(run, CalibrationProfile.Load("rmm-v1.0").ToPrices());
        var v2 = RealmCostTable.For(run, CalibrationProfile.Load("rmm-v2.0").ToPrices());
        foreach (var cell in own)
        {
            // The run predates the bounce-copy price the profile has since gained: every term the run priced is
            // reproduced, the bounce copies are priced anew, and so the whole is a projection, not the run's own.
            var m = measured.Single(c => c.CellId == cell.CellId);
            Assert.True(m.Repriced);
            Assert.Equal("projected", m.ModelledEvidence);
            Assert.Equal(cell.Terms.Where(t => !t.Term.StartsWith("bounce", StringComparison.Ordinal)),
                m.Terms.Where(t => !t.Term.StartsWith("bounce", StringComparison.Ordinal)));
            Assert.Equal(0, cell.Terms.Where(t => t.Term.StartsWith("bounce", StringComparison.Ordinal)).Sum(t => t.LaunchMs));
            Assert.True(m.Terms.Single(t => t.Term.StartsWith("bounce copies at populate", StringComparison.Ordinal)).LaunchMs > 0);
            var same = RealmCostTable.For(run, cell.Prices).Single(c => c.CellId == cell.CellId);
            Assert.False(same.Repriced);
            Assert.Equal("derived", same.ModelledEvidence);

            var a = v1.Single(c => c.CellId == cell.CellId);
            var b = v2.Single(c => c.CellId == cell.CellId);
            Assert.True(a.Repriced && b.Repriced);
            Assert.Equal("projected", b.ModelledEvidence);
            // Exits are priced alike under both shapes; memory terms are not.
            Assert.Equal(a.Modelled("ttft"), b.Modelled("ttft"), 9);
            var faults = cell.Terms.Single(t => t.Counted == "faults").Count;
            Assert.Equal(faults, a.Terms.Single(t => t.Counted == "faults").Count);
            Assert.Equal((long)Math.Ceiling(faults / 16.0), b.Terms.Single(t => t.Counted == "faults").Count);
            Assert.Contains("derived from", b.Terms.Single(t => t.Counted == "faults").Term);
            var d1 = a.Terms.Single(t => t.Term.StartsWith("granule delegation", StringComparison.Ordinal));
            var d2 = b.Terms.Single(t => t.Term.StartsWith("granule delegation", StringComparison.Ordinal));
            Assert.True(d1.Count > 0 && d1.Count >= 500 * d2.Count, $"{cell.CellId}: {d1.Count} calls at 4 KiB, {d2.Count} at 2 MiB");
            Assert.True(d1.LaunchMs > d2.LaunchMs);
            Assert.True(cell.Terms.Single(t => t.Term.StartsWith("RSI calls", StringComparison.Ordinal)).Count > 0, "RSI calls are the launch's, not reset by the warm-up");
        }
    }

    [Fact]
    public void Project_scales_the_run_to_a_named_model_and_refuses_a_scaling_without_its_bandwidth()
    {
        var folder = Path.Combine(PerfLab.Lab.Os.RepoPaths.FindUpwards(Path.Combine("tests", "PerfLab.Report.Tests", "Recorded"))!, "20261128T220523Z-mission");
        var stdout = new StringWriter();
        Assert.Equal(PerfLab.Cli.ExitCode.Ok, PerfLab.Cli.Commands.ProjectCommand.Execute(folder, ["rmm-v2.0"], stdout, TextWriter.Null,
            new PerfLab.Cli.Commands.ProjectCommand.Scaling("llama-70b", "bf16", 460, 1024)));
        Assert.Contains("Scaled to llama-70b (bf16) at 460 GB/s", stdout.ToString());
        Assert.Contains("327680 B a token ÷ 65536 B", stdout.ToString());

        var stderr = new StringWriter();
        Assert.Equal(PerfLab.Cli.ExitCode.BadInput, PerfLab.Cli.Commands.ProjectCommand.Execute(folder, [], TextWriter.Null, stderr,
            new PerfLab.Cli.Commands.ProjectCommand.Scaling("llama-70b", "bf16", null, 1024)));
        Assert.Contains("--host-bandwidth-gbps", stderr.ToString());
        var unknown = new StringWriter();
        Assert.Equal(PerfLab.Cli.ExitCode.BadInput, PerfLab.Cli.Commands.ProjectCommand.Execute(folder, [], TextWriter.Null, unknown,
            new PerfLab.Cli.Commands.ProjectCommand.Scaling("gpt-5", "bf16", 460, 1024)));
        Assert.Contains("llama-70b", unknown.ToString());
    }
}
