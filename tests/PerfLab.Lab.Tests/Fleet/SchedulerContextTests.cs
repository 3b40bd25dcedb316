using PerfLab.Lab.Hosts;

namespace PerfLab.Lab.Tests.Fleet;

/// <summary>Who ran a shard, read from the scheduler's own environment variables.</summary>
public class SchedulerContextTests
{
    private static Func<string, string?> Env(params (string K, string V)[] vars) => k => vars.FirstOrDefault(v => v.K == k).V;

    [Fact]
    public void A_slurm_array_task_names_its_job_task_and_node()
    {
        var c = SchedulerContext.From(Env(("SLURM_JOB_ID", "42"), ("SLURM_ARRAY_JOB_ID", "40"), ("SLURM_ARRAY_TASK_ID", "3"), ("SLURMD_NODENAME", "n7")), "host");
        Assert.Equal(new SchedulerContext("slurm", "40_3", "n7"), c);
        Assert.Equal(new SchedulerContext("slurm", "42", "host"), SchedulerContext.From(Env(("SLURM_JOB_ID", "42")), "host"));
    }

    [Fact]
    public void A_kubernetes_indexed_job_pod_names_its_index_and_node_and_nothing_else_is_none()
    {
        var k = SchedulerContext.From(Env(("JOB_COMPLETION_INDEX", "2"), ("KUBERNETES_SERVICE_HOST", "10.0.0.1"), ("PERFLAB_JOB_NAME", "perflab-x"),
            ("PERFLAB_NODE_NAME", "arm-7")), "pod-abc");
        Assert.Equal(new SchedulerContext("kubernetes", "perflab-x/2", "arm-7"), k);
        // An index without a cluster around it is not Kubernetes.
        Assert.Equal(new SchedulerContext("none", null, "box"), SchedulerContext.From(Env(("JOB_COMPLETION_INDEX", "2")), "box"));
    }
}
