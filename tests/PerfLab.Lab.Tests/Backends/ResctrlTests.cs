using PerfLab.Core.Suites;
using PerfLab.Lab.Backends;
using PerfLab.Lab.Backends.Launchers;
using PerfLab.Lab.Backends.Mechanics;

namespace PerfLab.Lab.Tests.Backends;

/// <summary>The resctrl schemata a cell's MPAM setting becomes (the kernel's documented syntax; no resctrl on this host).</summary>
public class ResctrlTests
{
    private const string RootSchemata = "    L3:0=7ff;1=7ff\n    MB:0=100;1=100\n";

    [Fact]
    public void A_cache_portion_keeps_the_lowest_ways_of_every_domain()
    {
        var lines = Resctrl.Schemata(RootSchemata, "7ff", new MpamSetting(50, null));
        Assert.Equal(["L3:0=3f;1=3f"], lines); // 11 ways × 50 % → 6 ways
    }

    [Fact]
    public void A_bandwidth_share_is_an_MB_percentage_per_domain_and_both_can_be_set()
    {
        Assert.Equal(["MB:0=30;1=30"], Resctrl.Schemata(RootSchemata, "7ff", new MpamSetting(null, 30)));
        Assert.Equal(["L3:0=1;1=1", "MB:0=10;1=10"], Resctrl.Schemata(RootSchemata, "7ff", new MpamSetting(1, 10)));
    }

    [Fact]
    public void Without_resctrl_here_MPAM_cells_say_how_to_emulate_them()
    {
        if (Resctrl.Available) return; // on a host with resctrl the controller applies instead
        var cell = SuiteLoader.Parse("""
            name: m
            workloads: [{name: w, kind: noop}]
            scenarios: [{type: single-stream}]
            matrix: {mpam: {bandwidth_pct: 50}}
            """, "m.yaml").Cells.Single();
        Assert.Contains("co_tenant: stream", Platforms.Native().CannotRun(cell));
    }
}
