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

    /// <summary>What the probe sees over 1.5 s while a busy loop spins (detached from the lab's process tree, or as its
    /// child), and on which side the loop's pid was counted.</summary>
    private static (PerfLab.Core.Analysis.Interference Seen, bool CountedAsLab, bool CountedAsOther) Watch(bool detached)
    {
        var probe = new ProcInterferenceProbe();
        var pid = Spin(detached);
        try
        {
            var a = probe.Snapshot();
            Thread.Sleep(1500);
            var b = probe.Snapshot();
            return (probe.Between(a, b), b.LabJiffies.ContainsKey(pid), b.OtherJiffies.ContainsKey(pid));
        }
        finally { Kill(pid); }
    }

    [Fact]
    public void Another_processs_busy_loop_is_other_work_and_the_labs_own_is_not()
    {
        // On a busy host (another job, a CPU hog) other work is higher still: the bounds below hold either way.
        var outsider = Watch(detached: true);
        Assert.True(outsider.CountedAsOther && !outsider.CountedAsLab, "a process outside the lab's tree was not counted as other work");
        Assert.True(outsider.Seen.OtherCpus >= 0.5, $"a busy loop outside the lab used only {outsider.Seen.OtherCpus:0.##} CPUs by the probe");
        Assert.NotNull(outsider.Seen.Disturbance(PerfLab.Core.Analysis.Interference.DefaultBound));

        var child = Watch(detached: false);
        Assert.True(child.CountedAsLab && !child.CountedAsOther, "the lab's own child was counted as other work");
        Assert.True(child.Seen.LabCpus >= 0.5, $"the lab's own busy child counted as {child.Seen.LabCpus:0.##} CPUs of the lab");
    }
}
