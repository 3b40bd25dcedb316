using System.Text.Json;
using PerfLab.Cli;
using PerfLab.Cli.Commands;
using PerfLab.Results;

namespace PerfLab.Lab.Tests.Fleet;

/// <summary>
/// Integration (real agents): a suite run in three shards and merged is the suite — every cell, every launch, overheads
/// against baselines of the same shard — and a shard left out is named, its cells skipped with the command that runs them.
/// </summary>
public class ShardMergeIntegrationTests
{
    [Fact]
    public void Three_shards_merge_into_one_run_and_a_missing_shard_is_named_with_its_rerun()
    {
        using var scratch = new Scratch();
        var suite = scratch.Write("fleet.yaml", FleetSuites.Quick("fleet"));
        var shardsDir = Path.Combine(scratch.Dir, "shards");
        for (var i = 1; i <= 3; i++)
        {
            var output = new StringWriter();
            Assert.Equal(ExitCode.Ok, RunCommand.Execute(suite, shardsDir, "precise", true, output, TextWriter.Null, default, shard: new(i, 3)));
            Assert.Contains($"shard {i}/3:", output.ToString());
        }
        var folders = Directory.GetDirectories(shardsDir).Order().ToList();
        Assert.Equal(3, folders.Count);
        Assert.All(folders, f => Assert.Matches(@"-shard\dof3$", f));

        var stdout = new StringWriter();
        Assert.Equal(ExitCode.Ok, MergeCommand.Execute(folders, Path.Combine(scratch.Dir, "merged"), stdout, TextWriter.Null));
        var merged = Directory.GetDirectories(Path.Combine(scratch.Dir, "merged")).Single();
        var manifest = RunFolderReader.ReadManifest(merged);
        Assert.Equal(8, manifest.ExpandedCells.Count);
        Assert.Equal(16, manifest.Cells.Count); // 8 cells × 2 launches, from the shards' launch records
        Assert.All(manifest.Cells, c => Assert.Equal("ok", c.Status));
        Assert.Equal([1, 2, 3], manifest.MergedFrom.Select(s => s.Index));
        Assert.All(manifest.MergedFrom, s => Assert.Equal("none", s.Scheduler));
        Assert.Equal(manifest.ExpandedCells.Select(c => c.Id).Order(), manifest.MergedFrom.SelectMany(s => s.Cells).Order());
        Assert.NotNull(manifest.Host); // one host class: the merged run names it, as a run on one host does
        // Every emulated Realm cell has its overhead against the native baseline of its own shard.
        using (var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(merged, "summary.json"))))
        {
            var realm = summary.RootElement.GetProperty("cells").EnumerateArray().Where(c => c.GetProperty("platform").GetString() == "cca-emulated").ToList();
            Assert.Equal(4, realm.Count);
            Assert.All(realm, c => Assert.NotEmpty(c.GetProperty("overheads").EnumerateArray()));
        }
        // Samples: every shard's rows, one header.
        var rows = File.ReadAllLines(Path.Combine(merged, "samples.csv"));
        Assert.Equal(folders.Sum(f => File.ReadAllLines(Path.Combine(f, "samples.csv")).Length - 1), rows.Length - 1);
        Assert.Single(rows, r => r.StartsWith("cell,", StringComparison.Ordinal));
        Assert.All(new[] { 1, 2, 3 }, i => Assert.True(File.Exists(Path.Combine(merged, "shards", i.ToString(), "manifest.json"))));

        // Shard 2 left out: named, with the command that runs it; its cells skipped, not zero; exit 1.
        stdout = new StringWriter();
        Assert.Equal(ExitCode.Failed, MergeCommand.Execute([folders[0], folders[2]], Path.Combine(scratch.Dir, "partial"), stdout, TextWriter.Null));
        Assert.Contains("--shard 2/3", stdout.ToString());
        var partial = RunFolderReader.ReadManifest(Directory.GetDirectories(Path.Combine(scratch.Dir, "partial")).Single());
        var missing = partial.MergedFrom.Single(s => s.Missing is not null);
        Assert.Equal(2, missing.Index);
        Assert.All(missing.Cells, id => Assert.Equal("skipped", partial.Cells.Single(c => c.Id == id).Status));

        // Not shards of one suite, or the same shard twice: bad input, nothing written.
        var other = scratch.Write("other.yaml", FleetSuites.Quick("other").Replace("min_queries: 40", "min_queries: 41"));
        Assert.Equal(ExitCode.Ok, RunCommand.Execute(other, Path.Combine(scratch.Dir, "other"), "precise", true, TextWriter.Null, TextWriter.Null, default, shard: new(1, 3)));
        var err = new StringWriter();
        Assert.Equal(ExitCode.BadInput, MergeCommand.Execute([folders[0], Directory.GetDirectories(Path.Combine(scratch.Dir, "other")).Single()],
            Path.Combine(scratch.Dir, "bad"), TextWriter.Null, err));
        Assert.Contains("another suite", err.ToString());
        err = new StringWriter();
        Assert.Equal(ExitCode.BadInput, MergeCommand.Execute([folders[0], folders[0]], Path.Combine(scratch.Dir, "bad"), TextWriter.Null, err));
        Assert.Contains("given twice", err.ToString());
        Assert.False(Directory.Exists(Path.Combine(scratch.Dir, "bad")));

        // Shard 3 as if its perflab had died (its manifest still says running): what it recorded is merged, and it is
        // named with the command that finishes it.
        var m3 = Path.Combine(folders[2], "manifest.json");
        var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(m3))!;
        node["state"] = "running";
        File.WriteAllText(m3, node.ToJsonString());
        stdout = new StringWriter();
        Assert.Equal(ExitCode.Failed, MergeCommand.Execute(folders, Path.Combine(scratch.Dir, "died"), stdout, TextWriter.Null));
        Assert.Contains($"perflab run --resume {folders[2]}", stdout.ToString());
        Assert.Equal(16, RunFolderReader.ReadManifest(Directory.GetDirectories(Path.Combine(scratch.Dir, "died")).Single()).Cells.Count);
    }

    [Fact]
    public void By_platform_a_baseline_from_another_host_gives_no_overhead_unless_asked_and_says_so()
    {
        using var scratch = new Scratch();
        var suite = scratch.Write("byplatform.yaml", FleetSuites.Quick("byplatform").Replace("repetitions: 2", "repetitions: 1\nshard_by: platform"));
        var shardsDir = Path.Combine(scratch.Dir, "shards");
        var err = new StringWriter();
        Assert.Equal(ExitCode.BadInput, RunCommand.Execute(suite, shardsDir, "precise", true, TextWriter.Null, err, default, shard: new(1, 1)));
        Assert.Contains("need at least 2 shards", err.ToString());
        for (var i = 1; i <= 2; i++)
            Assert.Equal(ExitCode.Ok, RunCommand.Execute(suite, shardsDir, "precise", true, TextWriter.Null, TextWriter.Null, default, shard: new(i, 2)));
        var folders = Directory.GetDirectories(shardsDir).Order().ToList();
        Assert.All(folders, f => Assert.Single(RunFolderReader.ReadManifest(f).ExpandedCells.Select(c => c.Realm.Platform).Distinct()));

        // Same node: the overheads are computed as in one run.
        Assert.Equal(ExitCode.Ok, MergeCommand.Execute(folders, Path.Combine(scratch.Dir, "same"), TextWriter.Null, TextWriter.Null));
        Assert.Equal(4, RealmOverheads(Path.Combine(scratch.Dir, "same")));

        // The native shard as if another machine ran it: no overhead, each named; with --cross-host, computed and named.
        var manifest = Path.Combine(folders[0], "manifest.json");
        var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(manifest))!;
        Assert.Equal("native", node["expanded_cells"]![0]!["realm"]!["platform"]!.GetValue<string>());
        node["shard"]!["node"] = "another-host";
        File.WriteAllText(manifest, node.ToJsonString());
        var stdout = new StringWriter();
        Assert.Equal(ExitCode.Ok, MergeCommand.Execute(folders, Path.Combine(scratch.Dir, "apart"), stdout, TextWriter.Null));
        Assert.Equal(0, RealmOverheads(Path.Combine(scratch.Dir, "apart")));
        Assert.Equal(4, stdout.ToString().Split('\n').Count(l => l.Contains("no overhead: its baseline", StringComparison.Ordinal) && l.Contains("another-host", StringComparison.Ordinal)));
        Assert.Equal(4, RunFolderReader.ReadManifest(Directory.GetDirectories(Path.Combine(scratch.Dir, "apart")).Single()).CrossHostBaselines.Count);
        stdout = new StringWriter();
        Assert.Equal(ExitCode.Ok, MergeCommand.Execute(folders, Path.Combine(scratch.Dir, "asked"), stdout, TextWriter.Null, crossHost: true));
        Assert.Equal(4, RealmOverheads(Path.Combine(scratch.Dir, "asked")));
        Assert.Contains("overhead computed across two hosts, as asked", stdout.ToString());
    }

    /// <summary>How many cca-emulated cells of the one run under <paramref name="runs"/> carry an overhead.</summary>
    private static int RealmOverheads(string runs)
    {
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory.GetDirectories(runs).Single(), "summary.json")));
        return summary.RootElement.GetProperty("cells").EnumerateArray()
            .Count(c => c.GetProperty("platform").GetString() == "cca-emulated" && c.GetProperty("overheads").GetArrayLength() > 0);
    }
}
