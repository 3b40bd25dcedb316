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
    /// <summary>What kind of virtualization the numbers were measured under, in one phrase.</summary>
    public string VirtualizationKind =>
        (RunsUnderHypervisor ? $"guest of a {HypervisorVendor} hypervisor" : "bare metal") +
        $"; KVM: {KvmDevice} ({KvmModules}); hardware virtualization: {VirtualizationExtensions}" +
        (KvmModules.Contains("kvm_pvm") ? " — kvm_pvm is a software hypervisor (shadow paging): exits cost far more than on hardware" : "");
}
