using System.Text.Json;
using PerfLab.Core.Results;
using PerfLab.Core.Suites;
using PerfLab.Results.Schema;

namespace PerfLab.Results;

/// <summary>What a merge made: the merged folder, every shard's record, and the shards whose cells are not all there.</summary>
public sealed record MergeOutcome(string Folder, IReadOnlyList<ShardRecord> Shards, int Launches)
{
    public IReadOnlyList<string> CrossHostBaselines { get; init; } = [];

    public IReadOnlyList<ShardRecord> Incomplete => Shards.Where(s => s.Missing is not null).ToList();
}

/// <summary>
/// `perflab merge`: one run folder from the shard folders of one suite. Every launch keeps its own result and values
/// (combined and compared exactly as if one host had run them all: the shard plan kept each baseline with the cells
/// compared with it, so no overhead spans two hosts), samples are appended in shard order, each shard's manifest and
/// audit log are kept under shards/&lt;i&gt;/, and the manifest names the host, scheduler, job and node of every shard. A shard
/// not given, or stopped before its last launch, is named with the command that runs its cells again; its cells are
/// recorded as skipped, not as zero.
/// </summary>
public static class RunMerge
{
    /// <param name="crossHost">compute a cell's overhead against a baseline another host measured (shard_by: platform), labelled as such</param>
    public static MergeOutcome Merge(IReadOnlyList<string> shardFolders, string runsDir, bool crossHost = false)
    {
        if (shardFolders.Count == 0) throw new ResultsFormatException("give the shard folders to merge (perflab run --shard i/N wrote them)");
        var shards = shardFolders.Select(f => (Folder: Path.GetFullPath(f), Manifest: RunFolderReader.ReadManifest(f))).ToList();
        foreach (var s in shards.Where(s => s.Manifest.Shard is null))
            throw new ResultsFormatException($"{s.Folder}: not a shard (its run was not started with --shard i/N); merge takes the shards of one suite");
        var first = shards[0];
        var count = first.Manifest.Shard!.Count;
        foreach (var s in shards.Skip(1))
        {
            if (s.Manifest.Suite.Source != first.Manifest.Suite.Source)
                throw new ResultsFormatException($"{s.Folder}: ran another suite than {first.Folder} (their recorded suite texts differ); merge the shards of one suite");
            if (s.Manifest.Shard!.Count != count)
                throw new ResultsFormatException($"{s.Folder}: shard {s.Manifest.Shard.Index}/{s.Manifest.Shard.Count}, {first.Folder}: of {count}; merge shards of one plan");
            if (s.Manifest.Suite.Repetitions != first.Manifest.Suite.Repetitions)
                throw new ResultsFormatException($"{s.Folder}: {s.Manifest.Suite.Repetitions} launches per cell, {first.Folder}: {first.Manifest.Suite.Repetitions}; merge shards run alike");
        }
        foreach (var dup in shards.GroupBy(s => s.Manifest.Shard!.Index).Where(g => g.Count() > 1))
            throw new ResultsFormatException($"shard {dup.Key}/{count} given twice ({string.Join(", ", dup.Select(d => d.Folder))}); give one of them");

        Suite suite;
        try { suite = SuiteLoader.Parse(first.Manifest.Suite.Source, first.Manifest.Suite.Path); }
        catch (SuiteValidationException e) { throw new ResultsFormatException($"{first.Folder}: its recorded suite does not validate with this perflab:\n{e.Message}"); }
        IReadOnlyList<IReadOnlyList<Cell>> plan;
        try { plan = ShardPlan.Assign(suite, count); }
        catch (ShardPlanException e) { throw new ResultsFormatException($"{first.Folder}: {e.Message}"); }
        foreach (var s in shards)
        {
            var planned = plan[s.Manifest.Shard!.Index - 1].Select(c => c.Id).ToList();
            if (!planned.SequenceEqual(s.Manifest.Shard.Cells))
                throw new ResultsFormatException($"{s.Folder}: its cells are not this perflab's plan for shard {s.Manifest.Shard.Index}/{count}; merge with the perflab that ran the shards");
        }

        var repetitions = first.Manifest.Suite.Repetitions;
        var byIndex = shards.ToDictionary(s => s.Manifest.Shard!.Index);
        var records = new List<ShardRecord>();
        var suitePath = first.Manifest.Suite.Path;
        for (var i = 1; i <= count; i++)
        {
            if (!byIndex.TryGetValue(i, out var s))
            {
                records.Add(new ShardRecord(i, count, "none", null, "-", plan[i - 1].Select(c => c.Id).ToList())
                {
                    Missing = $"shard {i}/{count} was not given: perflab run --suite {suitePath} --shard {i}/{count}, then merge again",
                });
                continue;
            }
            var m = s.Manifest;
            // A complete shard ran its plan (a cell it skipped is recorded once, with why); any other state stopped early.
            string? missing = m.State == RunState.Complete ? null
                : $"shard {i}/{count} stopped {m.State.ToString().ToLowerInvariant()} with {m.Cells.Count} launches recorded: " +
                  $"perflab run --resume {s.Folder}, then merge again";
            records.Add(m.Shard! with { RunId = m.RunId, Folder = s.Folder, State = m.State, Host = m.Host, Missing = missing });
        }

        // A baseline measured by another host gives no overhead unless asked for: the difference would be the hosts' too.
        var nodeOf = records.SelectMany(r => r.Cells.Select(id => (id, Node: r.Folder is null ? null : $"{r.Node} ({r.Host?.HostClass ?? "unknown host"})")))
            .ToDictionary(x => x.id, x => x.Node);
        var crossHostNotes = new List<string>();
        var cells = suite.Cells.Select(c =>
        {
            if (c.BaselineId is not { } b || nodeOf[c.Id] is not { } here || nodeOf[b] is not { } there || here == there) return c;
            crossHostNotes.Add(crossHost
                ? $"{c.Id}: overhead computed across two hosts, as asked (--cross-host): the cell on {here}, its baseline {b} on {there}"
                : $"{c.Id}: no overhead: its baseline {b} ran on {there}, the cell on {here} (perflab merge --cross-host computes it anyway)");
            return crossHost ? c : c with { BaselineId = null };
        }).ToList();
        suite = suite with { Cells = cells };
        var hostClasses = shards.Select(s => s.Manifest.Host?.HostClass).Distinct().ToList();
        var host = hostClasses.Count == 1 ? first.Manifest.Host : null; // hosts differ: each shard names its own
        var skippedUpFront = shards.SelectMany(s => s.Manifest.SkippedUpFront).ToList();
        var launches = 0;
        string folderPath;
        using (var w = RunFolderWriter.Create(runsDir, suite, host, first.Manifest.Packages, skippedUpFront, repetitions: repetitions, mergedFrom: records,
                   crossHostBaselines: crossHostNotes))
        {
            folderPath = w.Path;
            var cellsById = suite.Cells.ToDictionary(c => c.Id);
            foreach (var s in shards.OrderBy(s => s.Manifest.Shard!.Index))
            {
                foreach (var rec in s.Manifest.Cells)
                {
                    var file = Path.Combine(RunFiles.LaunchDir(s.Folder, rec.Id, rec.Launch, repetitions), RunFiles.LaunchResult);
                    LaunchFile? lf;
                    try { lf = File.Exists(file) ? JsonSerializer.Deserialize<LaunchFile>(File.ReadAllText(file), RunFiles.Json) : null; }
                    catch (JsonException e) { throw new ResultsFormatException($"{file}: not a launch record ({e.Message})"); }
                    if (lf?.Result is null) throw new ResultsFormatException($"{file}: missing; the shard's manifest records this launch");
                    var cell = cellsById[rec.Id];
                    var values = lf.Values?.ToDictionary(kv => kv.Key, kv => kv.Value);
                    w.AddLaunch(lf.Result with { Cell = cell, Launch = rec.Launch }, lf.Result.Status == CellStatus.Skipped ? "-" : $"agent:{cell.Workload.Kind.Name}", values);
                    launches++;
                }
            }
            // A missing shard's cells (or an unfinished shard's unrecorded ones) are there, skipped, with the command that runs them.
            var present = shards.SelectMany(s => s.Manifest.Cells.Select(c => c.Id)).ToHashSet();
            foreach (var r in records.Where(r => r.Missing is not null))
                foreach (var id in r.Cells.Where(id => !present.Contains(id)))
                    w.AddLaunch(CellResult.Empty(cellsById[id], CellStatus.Skipped, r.Missing!, Core.Suites.Evidence.Measured), "-");
            w.Audit("merge", new Dictionary<string, string>
            {
                ["shards"] = string.Join(" ", records.Select(r => $"{r.Index}/{r.Count}:{r.RunId ?? "missing"}@{r.Node}")),
                ["scheduler"] = string.Join(" ", records.Select(r => r.Scheduler).Distinct()),
            });
            w.Finish(interrupted: false);
        }

        foreach (var s in shards)
        {
            AppendRows(Path.Combine(s.Folder, RunFiles.Samples), Path.Combine(folderPath, RunFiles.Samples));
            AppendRows(Path.Combine(s.Folder, RunFiles.MicroSamples), Path.Combine(folderPath, RunFiles.MicroSamples));
            CopyMissing(Path.Combine(s.Folder, "cells"), Path.Combine(folderPath, "cells"));
            var keep = Path.Combine(folderPath, "shards", s.Manifest.Shard!.Index.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Directory.CreateDirectory(keep);
            foreach (var f in new[] { RunFiles.Manifest, RunFiles.Audit, RunFiles.AuditHead, RunFiles.SummaryCsv })
                if (File.Exists(Path.Combine(s.Folder, f))) File.Copy(Path.Combine(s.Folder, f), Path.Combine(keep, f), overwrite: true);
        }
        return new MergeOutcome(folderPath, records, launches) { CrossHostBaselines = crossHostNotes };
    }

    /// <summary>Appends a shard's CSV rows (its header dropped; the merged file's header written first if it has none).</summary>
    private static void AppendRows(string from, string to)
    {
        if (!File.Exists(from)) return;
        var lines = File.ReadAllLines(from);
        if (lines.Length == 0) return;
        var hasHeader = File.Exists(to) && new FileInfo(to).Length > 0;
        if (hasHeader && File.ReadLines(to).First() != lines[0])
            throw new ResultsFormatException($"{from}: its columns differ from the merged {Path.GetFileName(to)}'s; merge shards written by one perflab");
        File.AppendAllLines(to, hasHeader ? lines.Skip(1) : lines);
    }

    /// <summary>Copies a shard's per-cell files the merged writer did not write itself (capacity samples, profiles…).</summary>
    private static void CopyMissing(string from, string to)
    {
        if (!Directory.Exists(from)) return;
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            if (File.Exists(target)) continue;
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
