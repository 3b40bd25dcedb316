using System.Globalization;
using PerfLab.Core.Suites;

namespace PerfLab.Core.Fleet;

/// <summary>What a Slurm array job of a suite asks for: one task per shard, on which partition and nodes, for how long.</summary>
/// <param name="Tasks">the shards this script's array runs (all of them, or one platform's with shard_by: platform)</param>
public sealed record SlurmRequest(string SuitePath, string SuiteName, int Shards, string Partition, string? Constraint, string FleetDir,
    string WorkDir, IReadOnlyList<string> Perflab, bool Exclusive)
{
    public IReadOnlyList<int> Tasks { get; init; } = Enumerable.Range(1, Shards).ToList();
}

/// <summary>
/// The sbatch script of a fleet run. Each array task runs one shard (`perflab run --shard $SLURM_ARRAY_TASK_ID/N`) into the
/// fleet folder's shards/, which must be on storage every node sees. Tasks take whole nodes (--exclusive) unless told not
/// to: two shards on one node would disturb each other's figures. The time limit is the longest shard's plan, doubled,
/// plus ten minutes for the build of models and guests on a fresh node.
/// </summary>
public static class SlurmBatch
{
    /// <summary>
    /// The sbatch scripts of a fleet run: one for all shards, or with shard_by: platform one per platform, each with
    /// that platform's node features (constraints keyed by platform name, "*" for any), so each kind of host runs its own cells.
    /// </summary>
    public static IReadOnlyList<(string Name, SlurmRequest Request)> Scripts(Suite suite, SlurmRequest all, IReadOnlyDictionary<string, string> constraints)
    {
        var anyConstraint = constraints.GetValueOrDefault("*");
        if (suite.ShardBy == ShardBy.Group) return [("job.sbatch", all with { Constraint = anyConstraint })];
        var plan = ShardPlan.Assign(suite, all.Shards);
        return plan.Select((cells, i) => (Platform: cells.Count > 0 ? cells[0].Realm.Platform.Name() : null, Shard: i + 1))
            .Where(x => x.Platform is not null)
            .GroupBy(x => x.Platform!)
            .Select(g => ($"job-{g.Key}.sbatch", all with
            {
                Tasks = g.Select(x => x.Shard).ToList(), Constraint = constraints.GetValueOrDefault(g.Key) ?? anyConstraint,
            }))
            .ToList();
    }

    /// <summary>Slurm's --array list: runs of consecutive shards as ranges ("1-3,7").</summary>
    public static string ArraySpec(IReadOnlyList<int> tasks)
    {
        var parts = new List<string>();
        for (var i = 0; i < tasks.Count;)
        {
            var j = i;
            while (j + 1 < tasks.Count && tasks[j + 1] == tasks[j] + 1) j++;
            parts.Add(j == i ? tasks[i].ToString(CultureInfo.InvariantCulture) : $"{tasks[i]}-{tasks[j]}");
            i = j + 1;
        }
        return string.Join(',', parts);
    }

    public static int TimeLimitMinutes(Suite suite, int shards, int repetitions)
    {
        var longest = ShardPlan.Assign(suite, shards).Max(s => ShardPlan.PlannedSeconds(suite, s, repetitions));
        return (int)Math.Ceiling(longest * 2 / 60) + 10;
    }

    public static string Script(SlurmRequest r, int timeLimitMinutes)
    {
        static string Q(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
        var lines = new List<string>
        {
            "#!/bin/bash",
            $"# perflab fleet slurm: suite {r.SuiteName} in {r.Shards} shards, one array task each (written by perflab; rerun one shard alone with sbatch --array=i)",
            $"# task i runs shard i/{r.Shards}; this script runs shards {ArraySpec(r.Tasks)}",
            $"#SBATCH --job-name=perflab-{r.SuiteName}",
            $"#SBATCH --array={ArraySpec(r.Tasks)}",
            $"#SBATCH --partition={r.Partition}",
        };
        if (r.Constraint is { Length: > 0 } c) lines.Add($"#SBATCH --constraint={c}");
        if (r.Exclusive) lines.Add("#SBATCH --exclusive");
        lines.Add($"#SBATCH --time={timeLimitMinutes.ToString(CultureInfo.InvariantCulture)}");
        lines.Add($"#SBATCH --output={Path.Combine(r.FleetDir, "logs", "shard-%a.out")}");
        lines.Add($"#SBATCH --chdir={r.WorkDir}");
        lines.Add("set -euo pipefail");
        lines.Add("exec " + string.Join(" ", r.Perflab.Select(Q)) + $" run --suite {Q(r.SuitePath)} --shard \"${{SLURM_ARRAY_TASK_ID}}/{r.Shards}\" " +
                  $"--results {Q(Path.Combine(r.FleetDir, "shards"))} --plain");
        return string.Join('\n', lines) + "\n";
    }
}
