using System.Diagnostics;
using System.Globalization;
using PerfLab.Core.Suites;
using PerfLab.Core.Units;
using PerfLab.Llm.Inference;
using PerfLab.Llm.Model;

namespace PerfLab.Lab.Backends;

/// <summary>
/// A plain (non-confidential) virtual machine: QEMU boots Debian's kernel with PerfLab's initramfs, the host's
/// root is shared read-only over virtio-9p and the agent runs from it, talking over virtio-serial. KVM
/// acceleration where the CPU has hardware virtualization (probed), TCG elsewhere; TCG cells are evidence
/// `emulated` — a functional check, never a timing. Guest RAM is backed by 4 KiB memfd pages or 2 MiB hugetlb
/// pages as the cell asks.
/// </summary>
public sealed class VmBackend : NativeBackend
{
    public override Platform Platform => Platform.Vm;

    /// <summary>kvm when the CPU can run a guest kernel natively (vmx/svm), else tcg.</summary>
    public static string Accel()
    {
        var flags = File.Exists("/proc/cpuinfo") ? File.ReadAllText("/proc/cpuinfo") : "";
        return File.Exists("/dev/kvm") && (flags.Contains(" vmx") || flags.Contains(" svm")) ? "kvm" : "tcg";
    }

    public override Evidence EvidenceFor(RealmConfig config) => Accel() == "kvm" ? Evidence.Measured : Evidence.Emulated;

    public override string? CannotRun(Cell cell)
    {
        if (VmImage.Problem() is { } p) return p;
        if (cell.Realm.PageSize == PageSize.Mib2 && cell.Realm.Backing == HugePageBacking.Hugetlb
            && PagePolicy_CannotProvide(cell.Realm.Memory.Value) is { } why)
            return "guest RAM on 2 MiB hugetlb pages: " + why;
        if (cell.Realm.PageSize is PageSize.Kib64 or PageSize.Gib1) return $"{cell.Realm.PageSize.ToShort()} guest RAM backing is not offered by this backend";
        return base.CannotRun(cell);
    }

    private static string? PagePolicy_CannotProvide(long bytes) => PerfLab.Lab.Os.PagePolicy.CannotProvide(PageSize.Mib2, HugePageBacking.Hugetlb, bytes);

    protected override AgentProcess StartAgent(Cell cell, string file, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> env,
        TimeSpan timeout, IDictionary<string, string> effective)
    {
        var sw = Stopwatch.StartNew();
        var (initrd, built) = VmImage.Ensure();
        effective["vm.image"] = initrd;
        effective["vm.image_ms"] = sw.Elapsed.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) + (built ? " (built)" : " (cached)");
        // The guest sees the host's root read-only: anything the agent would build must exist before it boots.
        if (cell.Workload.Kind == "llm") ModelCache.BuildIfMissing(LlmSettings.From(cell.Workload).Model);

        var (kernel, _) = VmImage.FindKernel()!.Value;
        var accel = Accel();
        var memMiB = cell.Realm.Memory.Value / Bytes.MiB;
        var hugetlb = cell.Realm.PageSize == PageSize.Mib2 && cell.Realm.Backing == HugePageBacking.Hugetlb;
        var thp = cell.Realm.PageSize == PageSize.Mib2 && !hugetlb;
        // Host CPU numbers mean nothing inside the guest: the agent's own pinning is dropped there.
        var guestArgs = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] == "--cpus") { i++; continue; }
            guestArgs.Add(args[i]);
        }
        var command = string.Join(' ', env.Select(kv => $"{kv.Key}={kv.Value}").Prepend("env").Concat([file]).Concat(guestArgs));
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
        effective["vm.accel"] = accel;
        effective["vm.guest_ram"] = hugetlb ? "memfd, 2 MiB hugetlb" : thp ? "anonymous, THP (QEMU madvises guest RAM)" : "memfd, 4 KiB pages";
        effective["vm.kernel"] = kernel;
        effective["vm.agent_command"] = command;
        return new AgentProcess("qemu-system-x86_64", qemu, new Dictionary<string, string>(), timeout, socket);
    }
}
