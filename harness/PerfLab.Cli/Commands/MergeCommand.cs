using System.CommandLine;
using PerfLab.Results;

namespace PerfLab.Cli.Commands;

/// <summary>`perflab merge`: one run folder from the shard folders of one suite.</summary>
public static class MergeCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var shards = new Argument<string[]>("shards") { Description = "the shard folders (perflab run --shard i/N), one per shard", Arity = ArgumentArity.OneOrMore };
        var results = new Option<DirectoryInfo>("--results") { Description = "where the merged run folder goes", DefaultValueFactory = _ => new DirectoryInfo("results/runs") };
        var crossHost = new Option<bool>("--cross-host")
        {
            Description = "compute overheads whose baseline another host measured (suites with shard_by: platform); each is named as such. Without it they are left out, and named",
        };
        var cmd = new Command("merge", "Make one run folder from the shards of a suite run on several hosts (perflab run --shard i/N): every launch\n" +
                                       "kept with its host, overheads only between cells of one shard (one host), each shard's host, scheduler, job\n" +
                                       "and node in the manifest. A missing or unfinished shard is named with the command that runs it again; exits 1 then.\n" +
                                       "Example: perflab merge results/runs/*-mission-shard*of3")
        {
            shards, results, crossHost,
        };
        cmd.SetAction(p => (int)Execute(p.GetValue(shards)!, p.GetValue(results)!.FullName, stdout, stderr, p.GetValue(crossHost)));
        return cmd;
    }

    public static ExitCode Execute(IReadOnlyList<string> shardFolders, string runsDir, TextWriter stdout, TextWriter stderr, bool crossHost = false)
    {
        foreach (var f in shardFolders.Where(f => !Directory.Exists(f)))
        {
            stderr.WriteLine($"error: {f}: not a folder; give the shard folders perflab run --shard wrote");
            return ExitCode.BadInput;
        }
        MergeOutcome outcome;
        try { outcome = RunMerge.Merge(shardFolders, runsDir, crossHost); }
        catch (ResultsFormatException e)
        {
            stderr.WriteLine("error: " + e.Message);
            return ExitCode.BadInput;
        }
        return Report(outcome, stdout);
    }

    public static ExitCode Report(MergeOutcome outcome, TextWriter stdout)
    {
        foreach (var s in outcome.Shards)
            stdout.WriteLine($"shard {s.Index}/{s.Count}: {s.Cells.Count} cells, " + (s.Missing ?? $"{s.Host?.HostClass ?? "unknown host"}, {s.Scheduler}{(s.Job is { } j ? " job " + j : "")} on {s.Node}"));
        foreach (var note in outcome.CrossHostBaselines) stdout.WriteLine(note);
        var hosts = outcome.Shards.Where(s => s.Host is not null).Select(s => s.Host!.HostClass).Distinct().Count();
        stdout.WriteLine($"merged run folder: {outcome.Folder} ({outcome.Launches} launches from {outcome.Shards.Count(s => s.Folder is not null)} shards on {hosts} host class(es))");
        var failed = RunFolderReader.ReadManifest(outcome.Folder).Cells.Count(c => c.Status == "failed");
        if (outcome.Incomplete.Count > 0) stdout.WriteLine($"{outcome.Incomplete.Count} shard(s) incomplete; their cells are recorded as skipped");
        return outcome.Incomplete.Count > 0 || failed > 0 ? ExitCode.Failed : ExitCode.Ok;
    }
}
