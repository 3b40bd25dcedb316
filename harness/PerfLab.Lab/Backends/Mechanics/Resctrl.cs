using System.Globalization;
using PerfLab.Core.Suites;

namespace PerfLab.Lab.Backends.Mechanics;

/// <summary>
/// MPAM (and Intel RDT) through the kernel's resctrl file system: a group per cell with its schemata — an L3
/// capacity bitmask for the cache portion, an MB percentage for the bandwidth share — and the Realm's tasks
/// moved into it. The same syntax serves Arm MPAM and Intel RDT.
/// </summary>
public static class Resctrl
{
    public const string Root = "/sys/fs/resctrl";

    public static bool Available => Directory.Exists(Path.Combine(Root, "info"));

    /// <summary>
    /// The schemata lines for a setting, from the root group's schemata (which names the domains) and the L3
    /// capacity mask width. A cache portion keeps the lowest ceil(pct × width) ways; a bandwidth share is MB=pct.
    /// </summary>
    public static IReadOnlyList<string> Schemata(string rootSchemata, string cbmMaskHex, MpamSetting setting)
    {
        var lines = new List<string>();
        var width = System.Numerics.BitOperations.PopCount(ulong.Parse(cbmMaskHex.Trim(), NumberStyles.HexNumber));
        foreach (var raw in rootSchemata.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var line = raw.Trim();
            var colon = line.IndexOf(':');
            if (colon < 0) continue;
            var resource = line[..colon].Trim();
            var domains = line[(colon + 1)..].Split(';').Select(d => d.Split('=')[0].Trim()).Where(d => d.Length > 0).ToList();
            if (resource == "L3" && setting.CachePortionPct is { } c)
            {
                var ways = Math.Max(1, (int)Math.Ceiling(width * c / 100.0));
                var mask = ((1UL << ways) - 1).ToString("x", CultureInfo.InvariantCulture);
                lines.Add("L3:" + string.Join(';', domains.Select(d => $"{d}={mask}")));
            }
            else if (resource == "MB" && setting.BandwidthPct is { } b)
                lines.Add("MB:" + string.Join(';', domains.Select(d => $"{d}={b}")));
        }
        return lines;
    }

    /// <summary>Creates the group, writes its schemata and moves every thread of the process into it.</summary>
    public static string Apply(string groupName, MpamSetting setting, int pid)
    {
        var group = Path.Combine(Root, groupName);
        Directory.CreateDirectory(group);
        var mask = File.Exists(Path.Combine(Root, "info", "L3", "cbm_mask")) ? File.ReadAllText(Path.Combine(Root, "info", "L3", "cbm_mask")) : "1";
        var lines = Schemata(File.ReadAllText(Path.Combine(Root, "schemata")), mask, setting);
        foreach (var l in lines) File.WriteAllText(Path.Combine(group, "schemata"), l + "\n");
        foreach (var task in Directory.GetDirectories($"/proc/{pid}/task"))
            File.WriteAllText(Path.Combine(group, "tasks"), Path.GetFileName(task) + "\n");
        return string.Join(" ", lines);
    }

    public static void Remove(string groupName)
    {
        try { Directory.Delete(Path.Combine(Root, groupName)); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
