using PerfLab.Lab.Os;
using System.Runtime.InteropServices;
using PerfLab.Results.Schema;

namespace PerfLab.Lab.Hosts;

/// <summary>Reads the host's identity from /proc, /sys, CPUID and git: what every manifest records.</summary>
public static class HostProbe
{
    public static HostEnvironment Capture(string? repoDir = null)
    {
        var cpuinfo = Read("/proc/cpuinfo");
        string Field(string name) => cpuinfo.Split('\n').FirstOrDefault(l => l.StartsWith(name))?.Split(':', 2)[1].Trim() ?? "?";
        // x86 lists "flags", arm64 "Features": the features that matter to inference and Realms are looked up in both.
        var flags = (Field("flags") + " " + Field("Features")).Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        var virt = flags.Contains("vmx") ? "vmx (Intel VT-x)" : flags.Contains("svm") ? "svm (AMD-V)" : "none (no vmx/svm flag)";
        var kvmMods = Directory.Exists("/sys/module")
            ? string.Join(",", Directory.GetDirectories("/sys/module").Select(Path.GetFileName).Where(n => n!.StartsWith("kvm")).Order())
            : "";
        var (commit, dirty) = Git(repoDir ?? Directory.GetCurrentDirectory());
        var meminfo = Read("/proc/meminfo");
        long MemKb(string key) => long.TryParse(meminfo.Split('\n').FirstOrDefault(l => l.StartsWith(key + ":"))?.Split(':')[1].Replace("kB", "").Trim(), out var v) ? v : 0;
        return new HostEnvironment(
            System.Environment.MachineName,
            CpuModel(cpuinfo),
            System.Environment.ProcessorCount,
            MemKb("MemTotal") * 1024,
            Read("/proc/sys/kernel/osrelease").Trim(),
            RuntimeInformation.OSDescription,
            RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant(),
            Read("/sys/kernel/mm/transparent_hugepage/enabled").Trim(),
            Read("/sys/kernel/mm/transparent_hugepage/defrag").Trim(),
            Long("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"),
            Long("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"),
            Long("/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages"),
            flags.Contains("hypervisor"),
            DetectHypervisorVendor(),
            virt,
            File.Exists("/dev/kvm") ? "/dev/kvm present" : "no /dev/kvm",
            kvmMods.Length == 0 ? "none loaded" : kvmMods,
            Directory.Exists("/sys/fs/resctrl/info"),
            RuntimeInformation.FrameworkDescription,
            string.Join(" ", new[] { "avx2", "avx512f", "avx512_vnni", "amx_tile", "asimd", "sve", "sve2", "i8mm", "bf16", "svei8mm", "svebf16", "hypervisor" }
                .Where(flags.Contains)),
            Read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor").Trim() is { Length: > 0 } g ? g : "n/a (no cpufreq)",
            commit,
            dirty) { CpuEmulation = CpuEmulation.Current, KernelPageBytes = System.Environment.SystemPageSize };
    }

    /// <summary>
    /// The CPU's name: x86 gives a "model name"; arm64 gives only its implementer and part numbers, named here for the
    /// server cores a user is likely to have (Arm's Neoverse, as in Graviton, Grace, Cobalt, Axion; Ampere's own).
    /// </summary>
    public static string CpuModel(string cpuinfo)
    {
        string? Field(string name) => cpuinfo.Split('\n').FirstOrDefault(l => l.StartsWith(name, StringComparison.Ordinal) && l.Contains(':'))?.Split(':', 2)[1].Trim();
        if (Field("model name") is { Length: > 0 } x86) return x86;
        if (Field("CPU implementer") is not { } implementer) return "?";
        var part = Field("CPU part") ?? "?";
        var name = (implementer.ToLowerInvariant(), part.ToLowerInvariant()) switch
        {
            ("0x41", "0xd0c") => "Arm Neoverse N1",
            ("0x41", "0xd40") => "Arm Neoverse V1",
            ("0x41", "0xd49") => "Arm Neoverse N2",
            ("0x41", "0xd4f") => "Arm Neoverse V2",
            ("0x41", "0xd83") => "Arm Neoverse V3",
            ("0x41", "0xd8e") => "Arm Neoverse N3",
            ("0x41", "0xd0d") => "Arm Cortex-A77",
            ("0x41", "0xd08") => "Arm Cortex-A72",
            ("0xc0", _) => "Ampere " + part,
            ("0x41", _) => "Arm core " + part,
            _ => $"implementer {implementer} part {part}",
        };
        return name;
    }

    private static string DetectHypervisorVendor()
    {
        // CPUID leaf 0x40000000 carries the hypervisor's signature (KVMKVMKVM, Microsoft Hv, VMwareVMware, ...).
        if (System.Runtime.Intrinsics.X86.X86Base.IsSupported)
        {
            var (_, ebx, ecx, edx) = System.Runtime.Intrinsics.X86.X86Base.CpuId(0x40000000, 0);
            var sig = new string(new[] { ebx, ecx, edx }.SelectMany(BitConverter.GetBytes).Where(b => b is >= 32 and < 127).Select(b => (char)b).ToArray()).Trim();
            if (sig.Length > 0) return sig;
        }
        var hv = Read("/sys/hypervisor/type").Trim();
        var dmi = Read("/sys/class/dmi/id/sys_vendor").Trim();
        return hv.Length > 0 ? hv : dmi.Length > 0 ? dmi : "unknown";
    }

    private static (string, bool) Git(string dir)
    {
        string Run(params string[] args) => ProcessRunner.TryRun("git", args, TimeSpan.FromSeconds(30), dir) is { Ok: true } r ? r.Stdout.Trim() : "";
        if (ProcessRunner.TryRun("git", ["--version"], TimeSpan.FromSeconds(30)) is null) return ("unknown (git not installed)", false);
        var commit = Run("rev-parse", "HEAD");
        return (commit.Length == 0 ? "unknown (not a git checkout)" : commit, Run("status", "--porcelain", "--untracked-files=no").Length > 0);
    }

    private static string Read(string path)
    {
        try { return File.ReadAllText(path); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return ""; }
    }

    private static long Long(string path) => long.TryParse(Read(path).Trim(), out var v) ? v : 0;
}
