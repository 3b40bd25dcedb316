using System.Globalization;
using System.Text;

namespace PerfLab.Results;

/// <summary>A microbenchmark run that cannot price a profile: which cases are missing or did not run, and why.</summary>
public sealed class ProfileSourceException(string message) : Exception(message);

/// <summary>
/// Turns a microbenchmark run (`perflab micro`) into a calibration profile: each price is the median of the case that
/// measures it on that host, and the profile says which case, which run and which host. On a KVM host the cases are
/// wsbench's (an exit to the VMM's userspace, a call completed in the hypervisor, a stage-2 fault); a CCA host's
/// in-Realm rsi_bench cases would name theirs here the same way.
/// </summary>
public static class ProfileWriter
{
    /// <summary>Profile key → the microbenchmark case whose median prices it, and what that case measures.</summary>
    public static readonly IReadOnlyList<(string Key, string Case, string What)> Prices =
    [
        ("exit_us", "kvm.exit.pio", "a guest exit to the VMM's userspace and back"),
        ("rsi_call_us", "kvm.exit.pio-kernel", "a call completed inside the hypervisor"),
        ("fault_us", "kvm.fault.h4k-g4k", "one stage-2 fault on a 4 KiB granule"),
    ];

    /// <summary>Prices written when the run has their case (a host without KVM can still measure these): the bounce
    /// buffer's copy bandwidth, GB/s, from a one-thread STREAM copy.</summary>
    public static readonly IReadOnlyList<(string Key, string Case, string What)> OptionalPrices =
    [
        ("bounce_gbps", "host.stream.copy.t1", "one thread's copy bandwidth, GB/s: what one more copy through a bounce buffer runs at"),
    ];

    /// <summary>The profile's YAML. Throws ProfileSourceException naming every case the run lacks or did not finish.</summary>
    public static string Write(RunData run, string name, double tickHz)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
            throw new ProfileSourceException($"profile name '{name}': use letters, digits, '-', '_' or '.' (it becomes bench/profiles/<name>.yaml)");
        var found = new List<(string Key, string Case, string What, double Us)>();
        var missing = new List<string>();
        foreach (var (key, @case, what) in Prices)
        {
            var cell = run.Cells.FirstOrDefault(c => c.WorkloadParameters.GetValueOrDefault("case") == @case);
            if (cell is null) { missing.Add($"{@case} (not in the run)"); continue; }
            if (cell.Status != "ok" || cell.Result?.Metrics?.GetValueOrDefault("op_cost") is not { } d || !double.IsFinite(d.Median.Value))
            {
                missing.Add($"{@case} ({cell.Status}{(cell.Reason is { } r ? ": " + r : "")})");
                continue;
            }
            found.Add((key, @case, what, d.Median.Value / 1000));
        }
        if (missing.Count > 0)
            throw new ProfileSourceException($"{run.RunId}: a profile needs {string.Join(", ", Prices.Select(p => p.Case))}; missing: {string.Join("; ", missing)}. " +
                                             $"Run perflab micro {string.Join(" ", Prices.Select(p => "--case " + p.Case))} on a host with /dev/kvm");
        var inv = CultureInfo.InvariantCulture;
        var host = $"{run.Host.GetValueOrDefault("cpu_model", "?")}, kernel {run.Host.GetValueOrDefault("kernel", "?")}";
        var sb = new StringBuilder();
        sb.AppendLine($"# Written by perflab micro --write-profile from {run.RunId} ({host}). Each price is the median of the case named.");
        sb.AppendLine("# Evidence of the prices: measured (on that host); of any cell that applies them: emulated; of a re-pricing: projected.");
        sb.AppendLine($"name: {name}");
        sb.AppendLine($"source: \"perflab micro on {host.Replace("\"", "'")} ({run.RunId})\"");
        foreach (var (key, @case, what, us) in found)
            sb.AppendLine($"{key}: {us.ToString("0.###", inv)}".PadRight(23) + $"# {@case} median: {what}");
        sb.AppendLine($"tick_hz: {tickHz.ToString("0.#", inv)}".PadRight(23) + "# given: the guest kernel's CONFIG_HZ");
        foreach (var (key, @case, what) in OptionalPrices)
        {
            if (run.Cells.FirstOrDefault(c => c.WorkloadParameters.GetValueOrDefault("case") == @case) is not { Status: "ok" } cell ||
                cell.Result?.Metrics?.GetValueOrDefault("bandwidth") is not { } bw || !(bw.Median.Value > 0)) continue;
            sb.AppendLine($"{key}: {(bw.Median.Value / 1e9).ToString("0.##", inv)}".PadRight(23) + $"# {@case} median: {what}");
        }
        return sb.ToString();
    }
}
