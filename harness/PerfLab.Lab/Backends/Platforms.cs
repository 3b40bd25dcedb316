using PerfLab.Core.Channel;
using PerfLab.Core.Suites;
using PerfLab.Lab.Backends.Launchers;
using PerfLab.Lab.Backends.Mechanics;

namespace PerfLab.Lab.Backends;

/// <summary>Which launcher and which Realm mechanics make each platform (DESIGN.md, "Platforms"): the one place they are composed.</summary>
public static class Platforms
{
    /// <summary>The non-confidential baseline: the agent as a child process with the cell's page policy, pinning and MPAM.</summary>
    public static RealmBackend Native(params IRealmMechanic[] extra) =>
        new(Platform.Native, new ChildProcessLauncher(), [new PagePolicyMechanic(), new MpamMechanic(partitionAgent: true), .. extra], Evidence.Measured,
            measuresOnHost: true);

    /// <summary>The emulated Realm: the native launch with the Realm's mechanics applied for real and its prices from a profile.</summary>
    public static RealmBackend CcaEmulated(string calibrationProfile, params IRealmMechanic[] extra) =>
        new(Platform.CcaEmulated, new ChildProcessLauncher(),
            [new PagePolicyMechanic(), new MpamMechanic(partitionAgent: true), new CostInjectionMechanic(calibrationProfile),
             new RsiStreamingMechanic(), new EmulatedAttestationMechanic(), new KeyReleaseMechanic(AttestationPlan.Channel), .. extra], Evidence.Emulated);

    /// <summary>A plain VM under QEMU; the agent inside applies the page policy to itself; MPAM only as a neighbour.</summary>
    public static RealmBackend Vm(params IRealmMechanic[] extra) =>
        new(Platform.Vm, new QemuLauncher(), [new PagePolicyMechanic(), new MpamMechanic(partitionAgent: false), .. extra]);

    /// <summary>A real Realm through kvmtool or QEMU where the host supports it (probed).</summary>
    public static RealmBackend Cca(params IRealmMechanic[] extra) =>
        new(Platform.Cca, new CcaLauncher(), [new PagePolicyMechanic(), new MpamMechanic(partitionAgent: true), .. extra]);

    /// <summary>Every platform, for a suite that names its calibration profile; extra mechanics (a test's) go on each.</summary>
    public static IReadOnlyList<IRealmBackend> All(string calibrationProfile, params IRealmMechanic[] extra) =>
        [Native(extra), CcaEmulated(calibrationProfile, extra), Cca(extra), Vm(extra)];
}
