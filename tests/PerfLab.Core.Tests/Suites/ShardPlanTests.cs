using PerfLab.Core.Fleet;
using PerfLab.Core.Suites;

namespace PerfLab.Core.Tests.Suites;

/// <summary>Shards of a run: every cell in exactly one shard, a baseline with the cells compared with it, the same plan everywhere.</summary>
public class ShardPlanTests
{
    // 3 workloads × 2 scenarios × (native baseline + 2 page sizes of cca-emulated): 6 groups of 3 cells.
    private static Suite Suite(string shardBy = "group") => SuiteLoader.Parse($$"""
        name: shards
        shard_by: {{shardBy}}
        repetitions: 2
        workloads:
          - {name: a, kind: noop}
          - {name: b, kind: synthetic}
          - {name: c, kind: noop}
        scenarios:
          - {type: offline, min_queries: 10, min_duration_s: 1}
          - {type: single-stream, min_queries: 10, min_duration_s: 30}
        matrix: {platform: [native, cca-emulated], page_size: [4k, 2m]}
        exclude:
          - {platform: native, page_size: 2m}
        baseline: {platform: native, page_size: 4k}
        """, "shards.yaml");

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(9)]
    public void Every_cell_runs_in_exactly_one_shard_with_its_baseline(int count)
    {
        var suite = Suite();
        var plan = ShardPlan.Assign(suite, count);
        Assert.Equal(count, plan.Count);
        Assert.Equal(suite.Cells.Select(c => c.Id).Order(), plan.SelectMany(s => s).Select(c => c.Id).Order());
        foreach (var shard in plan)
            foreach (var cell in shard.Where(c => c.BaselineId is not null))
                Assert.Contains(shard, c => c.Id == cell.BaselineId);
        // Within a shard, the suite's own order (launches interleave as in a whole run).
        var order = suite.Cells.Select(c => c.Id).ToList();
        Assert.All(plan, s => Assert.Equal(s.Select(c => order.IndexOf(c.Id)).Order(), s.Select(c => order.IndexOf(c.Id))));
    }

    [Fact]
    public void The_plan_is_the_same_every_time_and_balances_planned_time()
    {
        var suite = Suite();
        Assert.Equal(18, suite.Cells.Count);
        var a = ShardPlan.Assign(suite, 3).Select(s => s.Select(c => c.Id).ToList()).ToList();
        var b = ShardPlan.Assign(Suite(), 3).Select(s => s.Select(c => c.Id).ToList()).ToList();
        Assert.Equal(a, b);
        // Three long groups (single-stream, 30 s) and three short ones (offline, 1 s): one of each per shard.
        var seconds = ShardPlan.Assign(suite, 3).Select(s => ShardPlan.PlannedSeconds(suite, s, 1)).ToList();
        Assert.Equal(seconds.Max(), seconds.Min(), 6);
        // More shards than groups: the extra ones are empty, not split groups.
        Assert.Equal(3, ShardPlan.Assign(suite, 9).Count(s => s.Count == 0));
    }

    [Fact]
    public void A_shard_suite_keeps_everything_but_the_other_cells()
    {
        var suite = Suite();
        var part = ShardPlan.For(suite, new Shard(2, 3));
        Assert.Equal(ShardPlan.Assign(suite, 3)[1].Select(c => c.Id), part.Cells.Select(c => c.Id));
        Assert.Equal(suite.SourceText, part.SourceText);
        Assert.Same(suite, ShardPlan.For(suite, new Shard(1, 1)));
    }

    [Fact]
    public void By_platform_every_shard_holds_one_platform_and_every_platform_has_a_shard()
    {
        var suite = Suite("platform");
        Assert.Equal(ShardBy.Platform, suite.ShardBy);
        var plan = ShardPlan.Assign(suite, 5);
        Assert.Equal(suite.Cells.Select(c => c.Id).Order(), plan.SelectMany(s => s).Select(c => c.Id).Order());
        Assert.All(plan, s => Assert.Single(s.Select(c => c.Realm.Platform).Distinct()));
        // cca-emulated has twice native's cells (two page sizes): it gets the extra shards first.
        Assert.Equal(2, plan.Count(s => s[0].Realm.Platform == Platform.Native));
        Assert.Equal(3, plan.Count(s => s[0].Realm.Platform == Platform.CcaEmulated));
        var e = Assert.Throws<ShardPlanException>(() => ShardPlan.Assign(suite, 1));
        Assert.Contains("2 platforms (native, cca-emulated) need at least 2 shards, 1 given", e.Message);
        // By group, a shard mixes platforms: its baseline comes with it.
        Assert.Contains(ShardPlan.Assign(Suite(), 5), s => s.Select(c => c.Realm.Platform).Distinct().Count() > 1);
    }

    [Fact]
    public void By_platform_each_platform_gets_its_own_sbatch_script_and_node_features()
    {
        var suite = Suite("platform");
        var all = new SlurmRequest("/s/shards.yaml", "shards", 5, "bench", null, "/f", "/w", ["perflab"], Exclusive: true);
        var scripts = SlurmBatch.Scripts(suite, all, new Dictionary<string, string> { ["cca-emulated"] = "arm64", ["*"] = "x86" });
        Assert.Equal(["job-native.sbatch", "job-cca-emulated.sbatch"], scripts.Select(s => s.Name));
        var plan = ShardPlan.Assign(suite, 5);
        foreach (var (_, r) in scripts)
            Assert.All(r.Tasks, t => Assert.Equal(r.Constraint == "arm64" ? Platform.CcaEmulated : Platform.Native, plan[t - 1][0].Realm.Platform));
        Assert.Contains("#SBATCH --constraint=arm64\n", SlurmBatch.Script(scripts[1].Request, 10));
        Assert.Contains("#SBATCH --constraint=x86\n", SlurmBatch.Script(scripts[0].Request, 10));
        // By group: one script for every shard, the any-platform constraint.
        var one = Assert.Single(SlurmBatch.Scripts(Suite(), all, new Dictionary<string, string> { ["*"] = "x86" }));
        Assert.Equal(("job.sbatch", "x86", 5), (one.Name, one.Request.Constraint, one.Request.Tasks.Count));
        Assert.Equal("1-3,5,7-8", SlurmBatch.ArraySpec([1, 2, 3, 5, 7, 8]));
    }

    [Theory]
    [InlineData("0/3")]
    [InlineData("4/3")]
    [InlineData("1/0")]
    [InlineData("2")]
    [InlineData("a/b")]
    [InlineData("1/1001")]
    [InlineData("-1/3")]
    public void A_bad_shard_is_refused_saying_what_is_valid(string text)
    {
        var e = Assert.Throws<FormatException>(() => Shard.Parse(text));
        Assert.Contains(text, e.Message);
        Assert.Contains("1 ≤ i ≤ N", e.Message);
    }

    [Fact]
    public void The_sbatch_script_runs_one_shard_per_array_task_on_whole_nodes()
    {
        var suite = Suite();
        var r = new SlurmRequest("/s/shards.yaml", "shards", 3, "bench", "arm64&cca", "/shared/fleet/x", "/work", ["/opt/perflab/perflab"], Exclusive: true);
        var minutes = SlurmBatch.TimeLimitMinutes(suite, 3, suite.Repetitions);
        var longest = ShardPlan.Assign(suite, 3).Max(s => ShardPlan.PlannedSeconds(suite, s, suite.Repetitions));
        Assert.Equal((int)Math.Ceiling(longest * 2 / 60) + 10, minutes);
        var script = SlurmBatch.Script(r, minutes);
        Assert.StartsWith("#!/bin/bash\n", script);
        Assert.Contains("#SBATCH --array=1-3\n", script);
        Assert.Contains("#SBATCH --partition=bench\n", script);
        Assert.Contains("#SBATCH --constraint=arm64&cca\n", script);
        Assert.Contains("#SBATCH --exclusive\n", script);
        Assert.Contains($"#SBATCH --time={minutes}\n", script);
        Assert.Contains("exec '/opt/perflab/perflab' run --suite '/s/shards.yaml' --shard \"${SLURM_ARRAY_TASK_ID}/3\" --results '/shared/fleet/x/shards'", script);
        var shared = SlurmBatch.Script(r with { Exclusive = false, Constraint = null }, minutes);
        Assert.DoesNotContain("--exclusive", shared);
        Assert.DoesNotContain("--constraint", shared);
        // A path with a quote stays one word.
        Assert.Contains("'/it'\\''s/perflab'", SlurmBatch.Script(r with { Perflab = ["/it's/perflab"] }, minutes));
    }
}
