using System.Runtime.InteropServices;
using PerfLab.Core.Results;
using PerfLab.Core.Suites;
using PerfLab.Core.Units;
using PerfLab.Lab.Backends;
using PerfLab.Lab.Backends.Launchers;
using PerfLab.Lab.Backends.Mechanics;

namespace PerfLab.Lab.Tests.Backends;

public class CcaProbeTests
{
    [Fact]
    public void This_host_says_SKIP_cca_with_its_reason()
    {
        using var scratch = new Scratch();
        var outcome = scratch.Run("""
            name: cca-skip
            workloads: [{name: w, kind: noop}]
            scenarios: [{type: single-stream, min_queries: 5, min_duration_s: 0}]
            matrix: {platform: [native, cca]}
            """, default);
        var cca = outcome.Cells.Single(c => c.Cell.Realm.Platform == Core.Suites.Platform.Cca);
        Assert.Equal(CellStatus.Skipped, cca.Status);
        var expected = new CcaLauncher().Support.Problem;
        Assert.NotNull(expected);
        Assert.Equal(expected, cca.Reason);
        Assert.Equal(CellStatus.Ok, outcome.Cells.Single(c => c.Cell.Realm.Platform == Core.Suites.Platform.Native).Status);
    }

    [Fact]
    public void QEMU_7_2_as_recorded_here_has_no_rme_guest_object()
    {
        var recorded = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Recorded", "qemu-system-aarch64-7.2-object-help.txt"));
        Assert.Contains("secret", recorded); // it is a real object listing
        Assert.False(CcaProbe.QemuHasRmeGuest(recorded));
        Assert.True(CcaProbe.QemuHasRmeGuest(recorded + "  rme-guest\n"));
    }

    [Fact]
    public void A_host_is_described_in_the_order_a_person_would_fix_it()
    {
        var full = new CcaHostSupport("arm64", true, "present", "lkvm", true, null, false);
        Assert.Null(full.Problem);
        Assert.Contains("not an arm64 host", (full with { Architecture = "x64" }).Problem);
        Assert.Contains("/dev/kvm", (full with { KvmDevice = false }).Problem);
        Assert.Contains("no KVM Realm support", (full with { RealmCapability = null }).Problem);
        Assert.Contains("rme-guest", (full with { LkvmRealmFlag = false }).Problem);
    }

    [Fact]
    public void Launch_commands_carry_the_cells_settings()
    {
        var lkvm = CcaProbe.LkvmCommand("/k", "/i", 4, 8192, "virtio");
        Assert.Equal(["run", "--realm", "--disable-sve", "-c", "4", "-m", "8192"], lkvm.Take(7));
        Assert.DoesNotContain("--pmu", lkvm); // perflab rim measures a Realm without SVE or PMU: the launch must match
    }

    [Fact]
    public void A_Realm_is_the_arm64_vm_guest_plus_the_rme_guest_object_and_nothing_else()
    {
        var vm = new QemuGuest(Architecture.Arm64, "kvm", 2, 4096, GuestRam.Memfd4k, "/k", "/i", "env perflab agent", "/s.sock");
        var plain = QemuCommand.Args(vm);
        var realm = QemuCommand.Args(vm with { Realm = true });
        Assert.Equal("qemu-system-aarch64", QemuCommand.Binary(Architecture.Arm64));
        Assert.Equal("virt,gic-version=max,memory-backend=mem", After(plain, "-machine"));
        Assert.Equal("virt,gic-version=max,memory-backend=mem,confidential-guest-support=rme0", After(realm, "-machine"));
        Assert.Equal("rme-guest,id=rme0", realm[realm.ToList().LastIndexOf("-object") + 1]);
        // Everything else is the same guest: what the arm64 VM tier runs on nested KVM is what a Realm runs.
        var rest = realm.Where(a => !a.Contains("rme")).ToList();
        rest.RemoveAt(rest.IndexOf("-object", rest.IndexOf("-object") + 1));
        Assert.Equal(plain.Where(a => !a.StartsWith("virt,", StringComparison.Ordinal)), rest.Where(a => !a.StartsWith("virt,", StringComparison.Ordinal)));
        Assert.Equal("host", After(plain, "-cpu"));
        Assert.Equal("2", After(plain, "-smp"));
        Assert.Equal("4096M", After(plain, "-m"));
        Assert.StartsWith("console=ttyAMA0 ", After(plain, "-append"));
        Assert.Contains("perflab_cmd=\"env perflab agent\"", After(plain, "-append"));
        Assert.Contains("name=perflab", plain.Last());
    }

    [Fact]
    public void The_x86_guest_keeps_its_machine_and_console_and_cannot_be_a_Realm()
    {
        var vm = new QemuGuest(Architecture.X64, "tcg", 1, 1024, GuestRam.Hugetlb2m, "/k", "/i", "agent", "/s.sock");
        var args = QemuCommand.Args(vm);
        Assert.Equal("memory-backend=mem", After(args, "-machine"));
        Assert.Equal("max", After(args, "-cpu"));
        Assert.Contains("hugetlb=on,hugetlbsize=2M", After(args, "-object"));
        Assert.StartsWith("console=ttyS0 ", After(args, "-append"));
        Assert.Throws<ArgumentException>(() => QemuCommand.Args(vm with { Realm = true }));
    }

    [Fact]
    public void The_cca_launcher_refuses_by_name_before_it_starts_anything()
    {
        var launcher = new CcaLauncher();
        var spec = new ScenarioSpec("ss", ScenarioKind.SingleStream, null, Nanoseconds.FromSeconds(1), Nanoseconds.FromSeconds(60), 64, null, null, null, 0.9, 0.99);
        var cell = new Cell("c", new WorkloadSpec("w", WorkloadKinds.Noop, new Dictionary<string, string>()), spec,
            new RealmConfig(Platform.Cca, PageSize.Kib4, HugePageBacking.Thp, new Bytes(2 << 20), MpamSetting.Off, 1, new Bytes(1L << 30), Pinning.None), false);
        var why = launcher.CannotRun(cell);
        Assert.NotNull(why); // no host here offers Realms
        var e = Assert.Throws<RealmFailedException>(() => launcher.Start(cell, new AgentLaunch("perflab", [], new Dictionary<string, string>(), []), TimeSpan.FromSeconds(1), new EffectiveRealm()));
        Assert.Equal(why, e.Message);
    }

    private static string After(IReadOnlyList<string> args, string flag) => args[args.ToList().IndexOf(flag) + 1];
}
