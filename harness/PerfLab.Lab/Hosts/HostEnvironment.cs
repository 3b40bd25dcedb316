using System.Diagnostics;
using System.Runtime.InteropServices;

namespace PerfLab.Lab.Hosts;

/// <summary>
/// The host as a performance engineer needs to know it before trusting a number: CPU, cores, kernel, page
/// settings, whether it is itself a virtual machine and what virtualization it offers. Printed by `perflab env`
/// and recorded in every manifest.
/// </summary>
public sealed record HostEnvironment(
    string Hostname,
    string CpuModel,
    int LogicalCores,
    long MemoryBytes,
    string Kernel,
    string Os,
    string Architecture,
    string ThpEnabled,
    string ThpDefrag,
    long HugePages2MTotal,
    long HugePages2MFree,
    long HugePages1GTotal,
    bool RunsUnderHypervisor,
    string HypervisorVendor,
    string VirtualizationExtensions,
    string KvmDevice,
    string KvmModules,
    bool Resctrl,
    string DotnetVersion,
    string CpuFlagsOfNote,
    string ScalingGovernor,
    string GitCommit,
    bool GitDirty)
{
    public static HostEnvironment Capture(string? repoDir = null)
    {
        var cpuinfo = Read("/proc/cpuinfo");
        string Field(string name) => cpuinfo.Split('\n').FirstOrDefault(l => l.StartsWith(name))?.Split(':', 2)[1].Trim() ?? "?";
        var flags = Field("flags").Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        var virt = flags.Contains("vmx") ? "vmx (Intel VT-x)" : flags.Contains("svm") ? "svm (AMD-V)" : "none (no vmx/svm flag)";
        var kvmMods = Directory.Exists("/sys/module")
            ? string.Join(",", Directory.GetDirectories("/sys/module").Select(Path.GetFileName).Where(n => n!.StartsWith("kvm")).Order())
            : "";
        var (commit, dirty) = Git(repoDir ?? Directory.GetCurrentDirectory());
        var meminfo = Read("/proc/meminfo");
        long MemKb(string key) => long.TryParse(meminfo.Split('\n').FirstOrDefault(l => l.StartsWith(key + ":"))?.Split(':')[1].Replace("kB", "").Trim(), out var v) ? v : 0;
        return new HostEnvironment(
            System.Environment.MachineName,
            Field("model name"),
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
            string.Join(" ", new[] { "avx2", "avx512f", "avx512_vnni", "sve", "hypervisor" }.Where(flags.Contains)),
            Read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor").Trim() is { Length: > 0 } g ? g : "n/a (no cpufreq)",
            commit,
            dirty);
    }

    /// <summary>What kind of virtualization the numbers were measured under, in one phrase.</summary>
    public string VirtualizationKind =>
        (RunsUnderHypervisor ? $"guest of a {HypervisorVendor} hypervisor" : "bare metal") +
        $"; KVM: {KvmDevice} ({KvmModules}); hardware virtualization: {VirtualizationExtensions}" +
        (KvmModules.Contains("kvm_pvm") ? " — kvm_pvm is a software hypervisor (shadow paging): exits cost far more than on hardware" : "");

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
        try
        {
            string Run(string args)
            {
                var psi = new ProcessStartInfo("git", args) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir };
                using var p = Process.Start(psi)!;
                var o = p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                return p.ExitCode == 0 ? o.Trim() : "";
            }
            var commit = Run("rev-parse HEAD");
            return (commit.Length == 0 ? "unknown (not a git checkout)" : commit, Run("status --porcelain --untracked-files=no").Length > 0);
        }
        catch (System.ComponentModel.Win32Exception) { return ("unknown (git not installed)", false); }
    }

    private static string Read(string path)
    {
        try { return File.ReadAllText(path); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return ""; }
    }

    private static long Long(string path) => long.TryParse(Read(path).Trim(), out var v) ? v : 0;
}
