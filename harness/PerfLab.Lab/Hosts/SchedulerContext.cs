namespace PerfLab.Lab.Hosts;

/// <summary>
/// Who started this process, as the scheduler's own environment says: Slurm (an array task's job id and task, the node),
/// Kubernetes (an Indexed Job's completion index; job and node passed in by the manifest `perflab fleet k8s` writes) or
/// nobody. Recorded in a shard's manifest so a merged run names the job and node behind every cell.
/// </summary>
public sealed record SchedulerContext(string Scheduler, string? Job, string Node)
{
    public static SchedulerContext From(Func<string, string?> env, string machineName)
    {
        if (env("SLURM_JOB_ID") is { Length: > 0 } slurmJob)
        {
            var job = env("SLURM_ARRAY_JOB_ID") is { Length: > 0 } array && env("SLURM_ARRAY_TASK_ID") is { Length: > 0 } task ? $"{array}_{task}" : slurmJob;
            return new("slurm", job, env("SLURMD_NODENAME") is { Length: > 0 } n ? n : machineName);
        }
        if (env("JOB_COMPLETION_INDEX") is { Length: > 0 } index && env("KUBERNETES_SERVICE_HOST") is { Length: > 0 })
            return new("kubernetes", $"{env("PERFLAB_JOB_NAME") ?? "job"}/{index}", env("PERFLAB_NODE_NAME") is { Length: > 0 } n ? n : machineName);
        return new("none", null, machineName);
    }

    public static SchedulerContext Current => From(Environment.GetEnvironmentVariable, Environment.MachineName);
}
