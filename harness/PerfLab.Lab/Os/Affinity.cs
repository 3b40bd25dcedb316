namespace PerfLab.Lab.Os;

/// <summary>CPU pinning of a whole process, every thread it has now; threads made later inherit it.</summary>
public static class Affinity
{
    /// <summary>The host CPUs a Realm's vCPUs are pinned to: none, the last N (auto), or the suite's list.</summary>
    public static IReadOnlyList<int> For(PerfLab.Core.Suites.RealmConfig c) => c.Pinning.Kind switch
    {
        PerfLab.Core.Suites.PinningKind.Auto => Auto(c.Vcpus),
        PerfLab.Core.Suites.PinningKind.List => c.Pinning.Cpus,
        _ => [],
    };

    public static unsafe string PinSelf(IReadOnlyList<int> cpus)
    {
        if (cpus.Count == 0) return "not pinned";
        ulong* mask = stackalloc ulong[16];
        foreach (var c in cpus)
        {
            if (c is < 0 or >= 1024) return $"cpu {c} is out of range 0..1023";
            mask[c / 64] |= 1UL << (c % 64);
        }
        var failed = new List<string>();
        foreach (var dir in Directory.GetDirectories("/proc/self/task"))
        {
            var tid = int.Parse(Path.GetFileName(dir));
            if (Libc.sched_setaffinity(tid, 16 * sizeof(ulong), mask) != 0) failed.Add($"{tid}: {Libc.LastError()}");
        }
        return failed.Count == 0 ? "pinned to " + string.Join(",", cpus) : "pinning failed for threads " + string.Join("; ", failed);
    }

    /// <summary>The CPUs a process may run on, as the kernel reports it.</summary>
    public static string AllowedList(int pid)
    {
        try
        {
            return File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("Cpus_allowed_list:"))?.Split(':')[1].Trim() ?? "?";
        }
        catch (IOException) { return "?"; }
    }

    /// <summary>Automatic pinning: one CPU per vCPU counted down from the last, leaving CPU 0 to the host side.</summary>
    public static IReadOnlyList<int> Auto(int vcpus)
    {
        var n = Environment.ProcessorCount;
        return Enumerable.Range(0, Math.Min(vcpus, n)).Select(i => n - 1 - i).Order().ToList();
    }
}
