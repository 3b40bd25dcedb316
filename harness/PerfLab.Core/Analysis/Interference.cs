namespace PerfLab.Core.Analysis;

/// <summary>
/// What else the host did while a cell measured: CPUs busy with processes outside the lab's own (the runner, its agent,
/// its co-tenant, its VM), CPU time stolen by the hypervisor, and the load average. Sampled from /proc at the start and
/// end of the measured window.
/// </summary>
public sealed record Interference(double WindowS, double HostBusyCpus, double LabCpus, double OtherCpus, double StealPct, double LoadAverage)
{
    /// <summary>The bounds beyond which a cell is disturbed (its figures say more about its neighbours than about it).</summary>
    public static readonly InterferenceBound DefaultBound = new(OtherCpus: 0.25, StealPct: 5);

    /// <summary>Why the cell counts as disturbed under the bound, in words, or null when the host was quiet enough.</summary>
    public string? Disturbance(InterferenceBound bound)
    {
        var why = new List<string>();
        if (OtherCpus > bound.OtherCpus) why.Add($"other processes used {OtherCpus:0.##} CPUs during the cell (bound {bound.OtherCpus:0.##})");
        if (StealPct > bound.StealPct) why.Add($"the hypervisor stole {StealPct:0.#} % of CPU time (bound {bound.StealPct:0.#} %)");
        return why.Count == 0 ? null : "host busy: " + string.Join("; ", why);
    }

    /// <summary>
    /// The window between two snapshots. Other work is summed from the other processes' own CPU counters, like the lab's,
    /// not taken as the host's busy time less the lab's: /proc/stat samples at each tick while per-process times are
    /// precise, and the difference read 0.09–0.16 "other" CPUs on an idle host (0.006 CPUs busy) while the lab's agent
    /// ran in short bursts.
    /// </summary>
    public static Interference Between(HostCpuSnapshot a, HostCpuSnapshot b, double loadAverage)
    {
        var wall = Math.Max(1e-9, (b.WallNs - a.WallNs) / 1e9);
        double Cpus(long jiffies) => jiffies / (double)a.JiffiesPerSecond / wall;
        static long Delta(IReadOnlyDictionary<int, long> from, IReadOnlyDictionary<int, long> to) =>
            to.Sum(kv => Math.Max(0, kv.Value - from.GetValueOrDefault(kv.Key)));
        var total = b.TotalJiffies - a.TotalJiffies;
        var steal = total > 0 ? 100.0 * (b.StealJiffies - a.StealJiffies) / total : 0;
        return new Interference(wall, Cpus(b.BusyJiffies - a.BusyJiffies), Cpus(Delta(a.LabJiffies, b.LabJiffies)),
            Cpus(Delta(a.OtherJiffies, b.OtherJiffies)), steal, loadAverage);
    }
}

public sealed record InterferenceBound(double OtherCpus, double StealPct);

/// <summary>One look at the host's CPU counters (/proc/stat) and at every process (pid → utime+stime), the lab's and the others'.</summary>
public sealed record HostCpuSnapshot(long WallNs, long BusyJiffies, long StealJiffies, long TotalJiffies, IReadOnlyDictionary<int, long> LabJiffies,
    IReadOnlyDictionary<int, long> OtherJiffies, int JiffiesPerSecond = 100);
