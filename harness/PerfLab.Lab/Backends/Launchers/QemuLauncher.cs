using System.Diagnostics;
using System.Globalization;
using PerfLab.Core.Results;
using PerfLab.Core.Suites;
using PerfLab.Core.Units;
using PerfLab.Lab.Os;

namespace PerfLab.Lab.Backends.Launchers;

/// <summary>
/// A plain (non-confidential) virtual machine: QEMU boots Debian's kernel with PerfLab's initramfs, the host's root is
/// shared read-only over virtio-9p and the agent runs from it, talking over virtio-serial. KVM acceleration where the
/// CPU has hardware virtualization (probed), TCG elsewhere; TCG cells are evidence `emulated` — a functional check,
/// never a timing. Guest RAM is backed by 4 KiB memfd pages or 2 MiB hugetlb pages as the cell asks.
/// </summary>
public sealed class QemuLauncher : IRealmLauncher
{
    /// <summary>kvm when the CPU can run a guest kernel natively (vmx/svm), else tcg.</summary>
    public static string Accel()
    {
        var flags = File.Exists("/proc/cpuinfo") ? File.ReadAllText("/proc/cpuinfo") : "";
        return File.Exists("/dev/kvm") && (flags.Contains(" vmx") || flags.Contains(" svm")) ? "kvm" : "tcg";
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
        var accel = Accel();
        var memMiB = cell.Realm.Memory.Value / Bytes.MiB;
        var hugetlb = cell.Realm.PageSize == PageSize.Mib2 && cell.Realm.Backing == HugePageBacking.Hugetlb;
        var thp = cell.Realm.PageSize == PageSize.Mib2 && !hugetlb;
        // Host CPU numbers mean nothing inside the guest: the agent is not pinned there.
        var command = string.Join(' ', launch.Environment.Select(kv => $"{kv.Key}={kv.Value}").Prepend("env").Append(launch.File).Concat(launch.Args));
        var socket = Path.Combine(Path.GetTempPath(), $"perflab-vm-{Guid.NewGuid():N}.sock");
        var qemu = new List<string>
        {
            "-accel", accel, "-cpu", accel == "kvm" ? "host,-arch-capabilities" : "max",
            "-smp", cell.Realm.Vcpus.ToString(CultureInfo.InvariantCulture), "-m", $"{memMiB}M",
            // 4 KiB: shmem memfd (no THP); THP: anonymous RAM, which QEMU madvises for huge pages; hugetlb: a hugetlb memfd.
            "-object", hugetlb ? $"memory-backend-memfd,id=mem,size={memMiB}M,hugetlb=on,hugetlbsize=2M,prealloc=on"
                : thp ? $"memory-backend-ram,id=mem,size={memMiB}M" : $"memory-backend-memfd,id=mem,size={memMiB}M",
            "-machine", "memory-backend=mem",
            "-kernel", kernel, "-initrd", initrd,
            "-append", $"console=ttyS0 quiet panic=-1 perflab_cmd=\"{command}\"",
            "-nographic", "-no-reboot",
            "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
            "-device", "virtio-serial-pci",
            "-chardev", $"socket,id=ch,path={socket},server=on,wait=off",
            "-device", "virtserialport,chardev=ch,name=perflab",
        };
        effective.Set(SettingSource.Vm, "accel", accel);
        effective.Set(SettingSource.Vm, "guest_ram", hugetlb ? "memfd, 2 MiB hugetlb" : thp ? "anonymous, THP (QEMU madvises guest RAM)" : "memfd, 4 KiB pages");
        effective.Set(SettingSource.Vm, "kernel", kernel);
        effective.Set(SettingSource.Vm, "agent_command", command);
        return new AgentProcess("qemu-system-x86_64", qemu, new Dictionary<string, string>(), timeout, socket);
    }
}
