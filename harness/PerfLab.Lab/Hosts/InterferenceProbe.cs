using System.Globalization;
using PerfLab.Core.Analysis;
using PerfLab.Core.Time;

namespace PerfLab.Lab.Hosts;

/// <summary>Takes snapshots of what the host's CPUs do around a cell's measured window.</summary>
public interface IInterferenceProbe
{
    HostCpuSnapshot Snapshot();
    Interference Between(HostCpuSnapshot start, HostCpuSnapshot end);
}

/// <summary>
/// Reads /proc/stat (busy and stolen jiffies of all CPUs) and /proc/&lt;pid&gt;/stat of every process: this process and its
/// descendants (the agent, its co-tenant, QEMU) are the lab's; every other process, kernel threads included, is other work.
/// </summary>
public sealed class ProcInterferenceProbe : IInterferenceProbe
{
    public HostCpuSnapshot Snapshot()
    {
        long busy = 0, steal = 0, total = 0;
        var cpu = Read("/proc/stat").Split('\n').FirstOrDefault(l => l.StartsWith("cpu ", StringComparison.Ordinal));
        if (cpu != null)
        {
            // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already counted in user.
            var f = cpu.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(x => long.Parse(x, CultureInfo.InvariantCulture)).ToArray();
            long F(int i) => i < f.Length ? f[i] : 0;
            busy = F(0) + F(1) + F(2) + F(5) + F(6);
            steal = F(7);
            total = busy + F(3) + F(4) + steal;
        }
        var (lab, other) = Processes();
        return new HostCpuSnapshot(MonotonicClock.NowNs(), busy, steal, total, lab, other);
    }

    public Interference Between(HostCpuSnapshot start, HostCpuSnapshot end) =>
        Interference.Between(start, end, double.TryParse(Read("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture, out var l) ? l : 0);

    /// <summary>Every process's CPU time (utime + stime) in jiffies: this process and its descendants, and all the others.</summary>
    private static (Dictionary<int, long> Lab, Dictionary<int, long> Other) Processes()
    {
        var parent = new Dictionary<int, int>();
        var cpu = new Dictionary<int, long>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            var stat = Read(Path.Combine(dir, "stat"));
            // The command name is in parentheses and may hold spaces: the fields start after the last ')'.
            var close = stat.LastIndexOf(')');
            if (close < 0) continue;
            var f = stat[(close + 2)..].Split(' ');
            if (f.Length < 15) continue;
            parent[pid] = int.Parse(f[1], CultureInfo.InvariantCulture);
            cpu[pid] = long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture);
        }
        var ours = new Dictionary<int, long>();
        var others = new Dictionary<int, long>();
        foreach (var pid in cpu.Keys)
        {
            var mine = false;
            for (var p = pid; p > 1 && parent.ContainsKey(p); p = parent[p])
                if (p == Environment.ProcessId) { mine = true; break; }
            (mine ? ours : others)[pid] = cpu[pid];
        }
        return (ours, others);
    }

    private static string Read(string path)
    {
        try { return File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return ""; }
    }
}
