using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using PerfLab.Core.Results;
using PerfLab.Core.Suites;
using PerfLab.Core.Units;
using PerfLab.Lab.Os;

namespace PerfLab.Lab.Backends.Launchers;

/// <summary>The guest RAM QEMU gives a cell: 4 KiB memfd pages, anonymous RAM QEMU madvises for THP, or 2 MiB hugetlb.</summary>
public enum GuestRam { Memfd4k, AnonymousThp, Hugetlb2m }

/// <summary>Everything a QEMU guest of the lab is made of; a Realm adds only its confidential-guest object.</summary>
public sealed record QemuGuest(Architecture Arch, string Accel, int Vcpus, long MemoryMiB, GuestRam Ram, string Kernel, string Initrd,
    string AgentCommand, string Socket, bool Realm = false);

/// <summary>
/// The QEMU command line of a lab guest, for x86-64 (QEMU's default machine) and arm64 (`virt`): the same devices on both
/// (the host's root over virtio-9p, the channel on a virtio-serial port named "perflab"), so the arm64 vm backend and
/// the cca backend are one path. A Realm is that guest with QEMU's `rme-guest` object as the machine's
/// confidential-guest support: the only part no host here can run.
/// </summary>
public static class QemuCommand
{
    public static string Binary(Architecture arch) => arch == Architecture.Arm64 ? "qemu-system-aarch64" : "qemu-system-x86_64";

    public static IReadOnlyList<string> Args(QemuGuest g)
    {
        var arm = g.Arch == Architecture.Arm64;
        if (g.Realm && !arm) throw new ArgumentException("a Realm is an arm64 guest");
        var kvm = g.Accel == "kvm";
        // x86-64 keeps QEMU's default machine (i440fx), as the vm backend always had; arm64 has no default.
        var machine = arm ? "virt,gic-version=max," : "";
        var args = new List<string>
        {
            "-accel", g.Accel,
            "-cpu", kvm ? (arm ? "host" : "host,-arch-capabilities") : "max",
            "-smp", g.Vcpus.ToString(CultureInfo.InvariantCulture), "-m", $"{g.MemoryMiB}M",
            "-object", g.Ram switch
            {
                GuestRam.Hugetlb2m => $"memory-backend-memfd,id=mem,size={g.MemoryMiB}M,hugetlb=on,hugetlbsize=2M,prealloc=on",
                GuestRam.AnonymousThp => $"memory-backend-ram,id=mem,size={g.MemoryMiB}M",
                _ => $"memory-backend-memfd,id=mem,size={g.MemoryMiB}M",
            },
            "-machine", $"{machine}memory-backend=mem" + (g.Realm ? ",confidential-guest-support=rme0" : ""),
        };
        if (g.Realm) args.AddRange(["-object", "rme-guest,id=rme0"]);
        args.AddRange(
        [
            "-kernel", g.Kernel, "-initrd", g.Initrd,
            "-append", $"console={(arm ? "ttyAMA0" : "ttyS0")} quiet panic=-1 perflab_cmd=\"{g.AgentCommand}\"",
            // No network: the channel is virtio-serial. Without this, QEMU adds a default NIC whose option ROM comes from
            // ipxe-qemu, which a minimal arm64 root lacks ("failed to find romfile efi-virtio.rom", found in the arm64 VM tier).
            "-nographic", "-no-reboot", "-nic", "none",
            "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
            "-device", "virtio-serial-pci",
            "-chardev", $"socket,id=ch,path={g.Socket},server=on,wait=off",
            "-device", "virtserialport,chardev=ch,name=perflab",
        ]);
        return args;
    }
}

/// <summary>
/// A plain (non-confidential) virtual machine: QEMU boots Debian's kernel with PerfLab's initramfs, the host's root is
/// shared read-only over virtio-9p and the agent runs from it, talking over virtio-serial. KVM acceleration where the
/// CPU has hardware virtualization (probed), TCG elsewhere; TCG cells are evidence `emulated` — a functional check,
/// never a timing. Guest RAM is backed by 4 KiB memfd pages or 2 MiB hugetlb pages as the cell asks. With
/// <paramref name="realm"/> the same guest is launched as an Arm CCA Realm (the cca backend).
/// </summary>
public sealed class QemuLauncher(bool realm = false) : IRealmLauncher
{
    /// <summary>The host's architecture, which the guest's is.</summary>
    public static Architecture Arch => RuntimeInformation.OSArchitecture;

    /// <summary>kvm when the CPU can run a guest kernel natively (vmx/svm on x86-64; /dev/kvm on arm64, whose KVM needs EL2), else tcg.</summary>
    public static string Accel()
    {
        if (!File.Exists("/dev/kvm")) return "tcg";
        if (Arch == Architecture.Arm64) return "kvm";
        var flags = File.Exists("/proc/cpuinfo") ? File.ReadAllText("/proc/cpuinfo") : "";
        return flags.Contains(" vmx") || flags.Contains(" svm") ? "kvm" : "tcg";
    }

    public Evidence Evidence => Accel() == "kvm" ? Evidence.Measured : Evidence.Emulated;

    public string? CannotRun(Cell cell)
    {
        if (VmImage.Problem() is { } p) return p;
        if (cell.Realm.PageSize is PageSize.Kib64 or PageSize.Gib1) return $"{cell.Realm.PageSize.ToShort()} guest RAM backing is not offered by this backend";
        if (cell.Realm.PageSize == PageSize.Mib2 && cell.Realm.Backing == HugePageBacking.Hugetlb
            && PagePolicy.CannotProvide(PageSize.Mib2, HugePageBacking.Hugetlb, cell.Realm.Memory.Value) is { } why)
            return "guest RAM on 2 MiB hugetlb pages: " + why;
        return null;
    }

    public AgentProcess Start(Cell cell, AgentLaunch launch, TimeSpan timeout, EffectiveRealm effective)
    {
        var sw = Stopwatch.StartNew();
        var (initrd, built) = VmImage.Ensure();
        effective.Set(SettingSource.Vm, "image", initrd);
        effective.Set(SettingSource.Vm, "image_ms", sw.Elapsed.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) + (built ? " (built)" : " (cached)"));
        var (kernel, _) = VmImage.FindKernel()!.Value;
        var hugetlb = cell.Realm.PageSize == PageSize.Mib2 && cell.Realm.Backing == HugePageBacking.Hugetlb;
        var ram = hugetlb ? GuestRam.Hugetlb2m : cell.Realm.PageSize == PageSize.Mib2 ? GuestRam.AnonymousThp : GuestRam.Memfd4k;
        // Host CPU numbers mean nothing inside the guest: the agent is not pinned there.
        var command = string.Join(' ', launch.Environment.Select(kv => $"{kv.Key}={kv.Value}").Prepend("env").Append(launch.File).Concat(launch.Args));
        var guest = new QemuGuest(Arch, Accel(), cell.Realm.Vcpus, cell.Realm.Memory.Value / Bytes.MiB, ram, kernel, initrd, command,
            Path.Combine(Path.GetTempPath(), $"perflab-vm-{Guid.NewGuid():N}.sock"), realm);
        effective.Set(SettingSource.Vm, "accel", guest.Accel);
        effective.Set(SettingSource.Vm, "guest_ram", ram switch
        {
            GuestRam.Hugetlb2m => "memfd, 2 MiB hugetlb",
            GuestRam.AnonymousThp => "anonymous, THP (QEMU madvises guest RAM)",
            _ => "memfd, 4 KiB pages",
        });
        effective.Set(SettingSource.Vm, "kernel", kernel);
        effective.Set(SettingSource.Vm, "agent_command", command);
        if (realm) effective.Set(SettingSource.Vm, "realm", "QEMU rme-guest (Arm CCA)");
        return new AgentProcess(QemuCommand.Binary(guest.Arch), QemuCommand.Args(guest), new Dictionary<string, string>(), timeout, guest.Socket);
    }
}
