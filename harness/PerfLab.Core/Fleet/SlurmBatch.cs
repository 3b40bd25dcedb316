using System.Globalization;
using PerfLab.Core.Suites;

namespace PerfLab.Core.Fleet;

/// <summary>What a Slurm array job of a suite asks for: one task per shard, on which partition and nodes, for how long.</summary>
public sealed record SlurmRequest(string SuitePath, string SuiteName, int Shards, string Partition, string? Constraint, string FleetDir,
    string WorkDir, IReadOnlyList<string> Perflab, bool Exclusive);

/// <summary>
/// The sbatch script of a fleet run. Each array task runs one shard (`perflab run --shard $SLURM_ARRAY_TASK_ID/N`) into the
/// fleet folder's shards/, which must be on storage every node sees. Tasks take whole nodes (--exclusive) unless told not
/// to: two shards on one node would disturb each other's figures. The time limit is the longest shard's plan, doubled,
/// plus ten minutes for the build of models and guests on a fresh node.
/// </summary>
public static class SlurmBatch
{
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
            $"#SBATCH --job-name=perflab-{r.SuiteName}",
            $"#SBATCH --array=1-{r.Shards}",
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
