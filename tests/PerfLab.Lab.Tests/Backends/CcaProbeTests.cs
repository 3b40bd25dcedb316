using PerfLab.Core.Results;
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
        var qemu = CcaProbe.QemuCommand("/k", "/i", 2, 4096);
        Assert.Contains("rme-guest,id=rme0", qemu);
        Assert.Contains("4096M", qemu);
        Assert.Equal("2", qemu[qemu.ToList().IndexOf("-smp") + 1]);
    }
}
