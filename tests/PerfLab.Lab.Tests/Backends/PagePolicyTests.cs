using PerfLab.Core.Suites;
using PerfLab.Lab.Backends;
using PerfLab.Lab.Backends.Launchers;
using PerfLab.Lab.Backends.Mechanics;

namespace PerfLab.Lab.Tests.Backends;

/// <summary>The page-size policy really takes effect in the agent process, as the kernel reports it (smaps_rollup).</summary>
public class PagePolicyTests
{
    private static string Suite(string pageSize, string backing = "thp") => $$"""
        name: pages
        workloads:
          - {name: w, kind: synthetic, working_set_mib: 64, touch_pages_per_token: 8, output_tokens: 2}
        scenarios:
          - {type: single-stream, min_queries: 3, min_duration_s: 0}
        matrix: {page_size: {{pageSize}}, huge_backing: {{backing}}}
        """;

    private static IReadOnlyDictionary<string, string> LaunchAndMeasure(string yaml)
    {
        var cell = SuiteLoader.Parse(yaml, "t.yaml").Cells.Single();
        var backend = Platforms.Native();
        var why = backend.CannotRun(cell);
        Skip.If(why != null, why);
        using var realm = backend.Launch(cell, TimeSpan.FromSeconds(20));
        realm.CollectStats();
        realm.Teardown();
        return realm.Effective.All.ToDictionary(kv => kv.Key, kv => kv.Value);
    }

    [SkippableFact]
    public void Four_KiB_cells_get_no_huge_pages_and_two_MiB_cells_get_them()
    {
        var small = LaunchAndMeasure(Suite("4k"));
        Assert.Equal("0", small["smaps.AnonHugePages_kb"]);
        Assert.Equal("4k", small["page_size_obtained"]);
        Assert.Contains("THP disabled", small["agent.page_policy"]);

        var large = LaunchAndMeasure(Suite("2m"));
        Assert.True(long.Parse(large["smaps.AnonHugePages_kb"]) >= 32 * 1024,
            $"expected most of the 64 MiB working set on THP, smaps says AnonHugePages {large["smaps.AnonHugePages_kb"]} kB");
        Assert.Equal("thp-2m", large["page_size_obtained"]);
        Assert.Equal("glibc.malloc.hugetlb=1", large["env.GLIBC_TUNABLES"]);
    }

    [SkippableFact]
    public void Hugetlb_backing_lands_in_Hugetlb_when_pages_are_reserved()
    {
        const string knob = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages";
        Skip.IfNot(File.Exists(knob), "this host has no 2 MiB hugetlb pool");
        var before = File.ReadAllText(knob).Trim();
        try
        {
            try { File.WriteAllText(knob, "64"); }
            catch (UnauthorizedAccessException) { Skip.If(true, "reserving hugetlb pages needs root"); }
            catch (IOException e) { Skip.If(true, "cannot reserve hugetlb pages: " + e.Message); }
            var eff = LaunchAndMeasure(Suite("2m", "hugetlb"));
            Assert.True(long.Parse(eff["smaps.Hugetlb_kb"]) >= 64 * 1024, $"Hugetlb {eff["smaps.Hugetlb_kb"]} kB");
            Assert.Equal("hugetlb", eff["page_size_obtained"]);
        }
        finally
        {
            // Put the host back as it was: other tests and users share it.
            try { File.WriteAllText(knob, before); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    [Fact]
    public void Sixty_four_KiB_pages_are_skipped_on_this_architecture_with_the_reason()
    {
        var cell = SuiteLoader.Parse(Suite("64k"), "t.yaml").Cells.Single();
        Assert.Contains("arm64", Platforms.Native().CannotRun(cell));
    }
}
