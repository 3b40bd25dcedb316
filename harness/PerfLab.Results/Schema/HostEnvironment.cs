namespace PerfLab.Results.Schema;

/// <summary>
/// The host as a performance engineer needs to know it before trusting a number: CPU, cores, kernel, page
/// settings, whether it is itself a virtual machine and what virtualization it offers. Captured by the Lab's HostProbe,
/// printed by `perflab env` and recorded in every manifest.
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
    /// <summary>A user-mode emulator running this build (qemu-user), or null on a CPU of its own architecture.</summary>
    public string? CpuEmulation { get; init; }
    /// <summary>The kernel's base page size (4 KiB on x86-64; 4, 16 or 64 KiB on arm64 kernels), or 0 when not recorded.</summary>
    public int KernelPageBytes { get; init; }

    /// <summary>
    /// The class of host a figure belongs to: the gate compares only within one (a baseline from another CPU, core count,
    /// kernel build, THP mode or hypervisor says more about hardware than about code). The host name is not part of it.
    /// </summary>
    public string HostClass =>
        (CpuEmulation is { } emu ? $"{emu}; " : "") + $"{CpuModel}, {LogicalCores} CPUs, kernel {Kernel}, THP {Selected(ThpEnabled)}, {(RunsUnderHypervisor ? "guest of " + HypervisorVendor : "bare metal")}" +
        (KvmModules.Contains("kvm_pvm") ? " (kvm_pvm)" : "");

    /// <summary>The selected word of a sysfs choice list ("always [madvise] never" → "madvise").</summary>
    private static string Selected(string choices) =>
        choices.IndexOf('[') is var a and >= 0 && choices.IndexOf(']', a) is var b and > 0 ? choices[(a + 1)..b] : choices;

    /// <summary>What kind of virtualization the numbers were measured under, in one phrase.</summary>
    public string VirtualizationKind =>
        (RunsUnderHypervisor ? $"guest of a {HypervisorVendor} hypervisor" : "bare metal") +
        $"; KVM: {KvmDevice} ({KvmModules}); hardware virtualization: {VirtualizationExtensions}" +
        (KvmModules.Contains("kvm_pvm") ? " — kvm_pvm is a software hypervisor (shadow paging): exits cost far more than on hardware" : "");
}
