using PerfLab.Lab.Os;
using System.Runtime.InteropServices;

namespace PerfLab.Lab.Backends.Launchers;

/// <summary>What the host offers for real Arm CCA Realms, as probed at run time and recorded in the manifest.</summary>
public sealed record CcaHostSupport(string Architecture, bool KvmDevice, string? RealmCapability, string? Lkvm, bool LkvmRealmFlag,
    string? QemuAarch64, bool QemuRmeGuest)
{
    /// <summary>Why a Realm cannot be launched here, or null when it can.</summary>
    public string? Problem =>
        Architecture != "arm64" ? $"not an arm64 host ({Architecture}): Arm CCA Realms need Arm hardware with RME"
        : !KvmDevice ? "no /dev/kvm on this host"
        : RealmCapability is null ? "this kernel offers no KVM Realm support (kvm.realm.probe)"
        : !LkvmRealmFlag && !QemuRmeGuest ? "neither kvmtool with --realm nor a QEMU with the rme-guest object is installed"
        : null;
}

/// <summary>
/// Probes the host for Realm support without assuming one patch series: the architecture, /dev/kvm, the KVM
/// capability (through wsbench's probe, built from the host's own kernel headers), and which launchers accept
/// which options (their own help output, parsed).
/// </summary>
public static class CcaProbe
{
    public static CcaHostSupport Probe()
    {
        var arch = RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant();
        var kvm = File.Exists("/dev/kvm");
        string? capability = null;
        if (arch == "arm64" && kvm)
        {
            try
            {
                var r = PerfLab.Lab.Micro.Wsbench.RunCase(PerfLab.Lab.Micro.NativeBuild.EnsureWsbench(), "kvm.realm.probe", [], TimeSpan.FromSeconds(30), 10);
                if (r.Status == "ok") capability = r.Extra.TryGetValue("kvm_cap_arm_rme", out var c) ? c.GetRawText() : "present";
            }
            catch (PerfLab.Lab.Micro.NativeUnavailableException) { }
        }
        var lkvmHelp = Run("lkvm", "run", "--help");
        var qemuObjects = Run("qemu-system-aarch64", "-object", "help");
        return new CcaHostSupport(arch, kvm, capability, lkvmHelp is null ? null : "lkvm", LkvmAcceptsRealm(lkvmHelp ?? ""),
            qemuObjects is null ? null : "qemu-system-aarch64", QemuHasRmeGuest(qemuObjects ?? ""));
    }

    /// <summary>kvmtool's `run --help` lists `--realm` on builds with CCA support.</summary>
    public static bool LkvmAcceptsRealm(string help) => help.Split('\n').Any(l => l.TrimStart().StartsWith("--realm", StringComparison.Ordinal));

    /// <summary>QEMU's `-object help` lists the object types it was built with, one per line.</summary>
    public static bool QemuHasRmeGuest(string objectHelp) => objectHelp.Split('\n').Any(l => l.Trim() == "rme-guest");

    /// <summary>The kvmtool command for a Realm running the agent: kernel, initramfs, vCPUs, memory and the Realm flag.
    /// SVE is off (and the PMU, kvmtool's default) so the measured Realm parameters are the ones `perflab rim` assumes;
    /// `--dump-dtb FILE` added to the same command writes the device tree `perflab rim --dtb` needs.</summary>
    public static IReadOnlyList<string> LkvmCommand(string kernel, string initrd, int vcpus, long memoryMiB, string console) =>
        ["run", "--realm", "--disable-sve", "-c", vcpus.ToString(), "-m", memoryMiB.ToString(), "-k", kernel, "-i", initrd, "--console", console, "-p", LkvmCmdline];

    /// <summary>The kernel command line the cca backend passes, which kvmtool appends to its own bootargs.</summary>
    public const string LkvmCmdline = "console=hvc0 quiet";

    private static string? Run(string file, params string[] args) =>
        ProcessRunner.TryRun(file, args, TimeSpan.FromSeconds(10)) is { TimedOut: false } r ? r.Stdout + r.Stderr : null;
}

/// <summary>
/// Real Arm CCA Realms: the vm backend's QEMU guest (same image, 9p root, virtio-serial channel, page policy) launched
/// with QEMU's `rme-guest` object as the machine's confidential-guest support, on an arm64 host whose KVM offers Realms.
/// Every part but that object runs in the arm64 VM tier as a vm cell on nested KVM (tests/arm64-vm); the object itself
/// has not met CCA hardware yet. A host that lacks support — this one included — gets `SKIP cca: <reason>` before
/// anything is measured. kvmtool's `--realm` is probed and reported but not launched through: kvmtool has no
/// virtio-serial port for the channel.
/// </summary>
public sealed class CcaLauncher : IRealmLauncher
{
    private readonly QemuLauncher _qemu = new(realm: true);
    private CcaHostSupport? _support;
    public CcaHostSupport Support => _support ??= CcaProbe.Probe();

    public PerfLab.Core.Suites.Evidence Evidence => PerfLab.Core.Suites.Evidence.Measured;

    public string? CannotRun(PerfLab.Core.Suites.Cell cell) =>
        Support.Problem
        ?? (Support.QemuRmeGuest ? null : "only kvmtool with --realm is installed: the cca backend launches through QEMU's rme-guest object (kvmtool has no virtio-serial port for the channel)")
        ?? _qemu.CannotRun(cell);

    public AgentProcess Start(PerfLab.Core.Suites.Cell cell, AgentLaunch launch, TimeSpan timeout, PerfLab.Core.Results.EffectiveRealm effective) =>
        CannotRun(cell) is { } why ? throw new RealmFailedException(why, "") : _qemu.Start(cell, launch, timeout, effective);
}
