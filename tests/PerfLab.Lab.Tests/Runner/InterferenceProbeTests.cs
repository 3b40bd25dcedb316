using PerfLab.Lab.Hosts;

namespace PerfLab.Lab.Tests.Runner;

/// <summary>Integration: the /proc interference probe tells the lab's own busy children from another process's work.</summary>
public class InterferenceProbeTests
{
    private static int Spin(bool detached)
    {
        // Detached: the loop's shell exits at once, so the loop is re-parented away from this test's process tree.
        var script = detached ? "(while :; do :; done) >/dev/null 2>&1 & echo $!" : "echo $$; exec sh -c 'while :; do :; done'";
        var p = new System.Diagnostics.Process { StartInfo = new("sh", ["-c", script]) { RedirectStandardOutput = true } };
        p.Start();
        return int.Parse(p.StandardOutput.ReadLine()!.Trim());
    }

    private static void Kill(int pid)
    {
        try { System.Diagnostics.Process.GetProcessById(pid).Kill(); } catch (ArgumentException) { } catch (InvalidOperationException) { }
    }

    [Fact]
    public void Another_processs_busy_loop_is_other_work_and_the_labs_own_is_not()
    {
        var probe = new ProcInterferenceProbe();
        var outsider = Spin(detached: true);
        try
        {
            var a = probe.Snapshot();
            Thread.Sleep(1500);
            var seen = probe.Between(a, probe.Snapshot());
            Assert.True(seen.OtherCpus >= 0.5, $"a busy loop outside the lab used only {seen.OtherCpus:0.##} CPUs by the probe");
            Assert.NotNull(seen.Disturbance(PerfLab.Core.Analysis.Interference.DefaultBound));
        }
        finally { Kill(outsider); }

        var child = Spin(detached: false);
        try
        {
            var a = probe.Snapshot();
            Thread.Sleep(1500);
            var seen = probe.Between(a, probe.Snapshot());
            Assert.True(seen.LabCpus >= 0.5, $"the lab's own busy child counted as {seen.LabCpus:0.##} CPUs of the lab");
            Assert.True(seen.OtherCpus < seen.LabCpus, $"the lab's own child was counted as other work ({seen.OtherCpus:0.##} CPUs)");
        }
        finally { Kill(child); }
    }
}
