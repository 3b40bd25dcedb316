using System.Globalization;
using PerfLab.Core.Suites;
using PerfLab.Core.Units;

namespace PerfLab.Lab.Os;

/// <summary>
/// How a cell's page size is imposed on a whole agent process, and how it is verified afterwards.
///   4 KiB:         THP disabled for the process (prctl PR_SET_THP_DISABLE: an mm flag, so it covers every mapping);
///   2 MiB THP:     glibc malloc tunable hugetlb=1 (malloc madvises its mappings) plus MADV_HUGEPAGE on our own buffers;
///   2 MiB hugetlb: glibc malloc tunable hugetlb=2 (MAP_HUGETLB) plus MAP_HUGETLB on our own buffers;
///   1 GiB:         MAP_HUGETLB|MAP_HUGE_1GB on our own buffers (glibc has no 1 GiB tunable).
/// Environment variables must be set before the process starts (glibc reads tunables once), so the host applies
/// them at launch and the agent applies the rest to itself first thing.
/// </summary>
public static class PagePolicy
{
    public static IReadOnlyDictionary<string, string> LaunchEnvironment(PageSize size, HugePageBacking backing) => (size, backing) switch
    {
        (PageSize.Mib2, HugePageBacking.Thp) => new Dictionary<string, string> { ["GLIBC_TUNABLES"] = "glibc.malloc.hugetlb=1" },
        (PageSize.Mib2, HugePageBacking.Hugetlb) => new Dictionary<string, string> { ["GLIBC_TUNABLES"] = "glibc.malloc.hugetlb=2" },
        _ => new Dictionary<string, string>(),
    };

    /// <summary>Why this host cannot give the page size asked for, or null if it can.</summary>
    public static string? CannotProvide(PageSize size, HugePageBacking backing, long bytesNeeded)
    {
        switch (size)
        {
            case PageSize.Kib4:
                return null;
            case PageSize.Kib64:
                return "64 KiB pages need an arm64 kernel built with the 64 KiB granule; this host's base page is 4 KiB";
            case PageSize.Mib2 when backing == HugePageBacking.Thp:
                var thp = ReadOr("/sys/kernel/mm/transparent_hugepage/enabled", "");
                return thp.Contains("[never]") ? "transparent huge pages are disabled on this host ([never] in /sys/kernel/mm/transparent_hugepage/enabled)" : null;
            default:
                var kb = size == PageSize.Gib1 ? 1048576 : 2048;
                var free = long.TryParse(ReadOr($"/sys/kernel/mm/hugepages/hugepages-{kb}kB/free_hugepages", "").Trim(), out var f) ? f : -1;
                if (free < 0) return $"this host offers no {new Bytes(kb * 1024L)} hugetlb pages (/sys/kernel/mm/hugepages/hugepages-{kb}kB is missing)";
                var need = (bytesNeeded + kb * 1024L - 1) / (kb * 1024L);
                return free >= need ? null
                    : $"needs {need} free {new Bytes(kb * 1024L)} hugetlb pages, the host has {free}; reserve them with " +
                      $"echo {need} > /sys/kernel/mm/hugepages/hugepages-{kb}kB/nr_hugepages";
        }
    }

    /// <summary>Applied by the agent to itself at start. Returns what it did, for the record.</summary>
    public static string ApplyToSelf(PageSize size)
    {
        if (size != PageSize.Kib4) return "huge pages allowed";
        return Libc.prctl(Libc.PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0
            ? "THP disabled (prctl PR_SET_THP_DISABLE)"
            : "prctl PR_SET_THP_DISABLE failed: " + Libc.LastError();
    }

    /// <summary>Anonymous memory on the cell's page size, for buffers the SUT owns (weights, working sets).</summary>
    public static unsafe PageBuffer Allocate(long bytes, PageSize size, HugePageBacking backing)
    {
        var pageBytes = size is PageSize.Gib1 ? Bytes.GiB : size is PageSize.Mib2 ? 2 * Bytes.MiB : 4 * Bytes.KiB;
        var length = (nuint)((bytes + pageBytes - 1) / pageBytes * pageBytes);
        var flags = Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS;
        if (size == PageSize.Gib1) flags |= Libc.MAP_HUGETLB | Libc.MAP_HUGE_1GB;
        else if (size == PageSize.Mib2 && backing == HugePageBacking.Hugetlb) flags |= Libc.MAP_HUGETLB | Libc.MAP_HUGE_2MB;
        var p = Libc.mmap(0, length, Libc.PROT_READ | Libc.PROT_WRITE, flags, -1, 0);
        if (p == -1) throw new InvalidOperationException($"mmap of {new Bytes((long)length)} with {size.ToShort()} pages failed: {Libc.LastError()}");
        if (size == PageSize.Mib2 && backing == HugePageBacking.Thp) Libc.madvise(p, length, Libc.MADV_HUGEPAGE);
        if (size == PageSize.Kib4) Libc.madvise(p, length, Libc.MADV_NOHUGEPAGE);
        return new PageBuffer(p, (long)length);
    }

    private static string ReadOr(string path, string fallback)
    {
        try { return File.ReadAllText(path); } catch (IOException) { return fallback; } catch (UnauthorizedAccessException) { return fallback; }
    }

    /// <summary>The kB figures of /proc/PID/smaps_rollup that tell which pages a process really got.</summary>
    public static Dictionary<string, long> SmapsRollup(int pid)
    {
        var result = new Dictionary<string, long>();
        string text;
        try { text = File.ReadAllText($"/proc/{pid}/smaps_rollup"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return result; }
        foreach (var line in text.Split('\n'))
        {
            var colon = line.IndexOf(':');
            if (colon <= 0 || !line.EndsWith(" kB")) continue;
            if (long.TryParse(line[(colon + 1)..^3].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var kb))
                result[line[..colon]] = kb;
        }
        return result;
    }
}

/// <summary>An mmap'd region; unmapped on dispose.</summary>
public sealed class PageBuffer(nint address, long length) : IDisposable
{
    public nint Address { get; private set; } = address;
    public long Length { get; } = length;

    /// <summary>Touches every 4 KiB page once so faults happen at load, not during measurement.</summary>
    public unsafe void Prefault()
    {
        var p = (byte*)Address;
        for (long i = 0; i < Length; i += 4096) p[i] = 1;
    }

    public void Dispose()
    {
        if (Address == 0) return;
        Libc.munmap(Address, (nuint)Length);
        Address = 0;
    }
}
