using PerfLab.Core.Results;

namespace PerfLab.Lab.Tests.Runner;

/// <summary>Integration: a crashing, hanging or killed agent (real processes) fails its own cell; the others run and the folder stays whole.</summary>
public class FailureTests
{
    private const string Yaml = """
        name: faults
        agent_timeout_s: 2
        warmup_s: 0    # the faults count queries from the agent's start: here they fall in the measured window
        workloads:
          - {name: healthy, kind: synthetic, output_tokens: 4, decode_us_per_token: 50, working_set_mib: 0}
          - {name: crashing, kind: synthetic, output_tokens: 4, working_set_mib: 0}
          - {name: hanging, kind: synthetic, output_tokens: 4, working_set_mib: 0}
          - {name: killed, kind: synthetic, output_tokens: 4, working_set_mib: 0}
        scenarios:
          - {type: single-stream, min_queries: 20, min_duration_s: 0}
        matrix: {platform: native}
        """;

    [Fact]
    public void Each_broken_agent_fails_only_its_cell_with_the_reason()
    {
        using var scratch = new Scratch();
        var outcome = scratch.Run(Yaml, default, new FaultInjection(new Dictionary<string, string>
        {
            ["crashing"] = "crash:3", ["hanging"] = "hang:3", ["killed"] = "kill:3",
        }));
        var byWorkload = outcome.Cells.ToDictionary(c => c.Cell.Workload.Name);

        Assert.Equal(CellStatus.Ok, byWorkload["healthy"].Status);
        Assert.Equal(20, byWorkload["healthy"].Analysis!.QueriesCompleted);

        var crash = byWorkload["crashing"];
        Assert.Equal(CellStatus.Failed, crash.Status);
        Assert.Contains("the agent", crash.Reason);
        Assert.Contains("fault hook", crash.StderrTail); // the unhandled exception's message, from the agent's stderr

        var hang = byWorkload["hanging"];
        Assert.Equal(CellStatus.Failed, hang.Status);
        Assert.Contains("stopped answering", hang.Reason);

        var kill = byWorkload["killed"];
        Assert.Equal(CellStatus.Failed, kill.Status);
        Assert.Contains("killed by signal 9", kill.Reason);

        // What the failed cells measured before failing is kept.
        Assert.Equal(3, crash.Analysis!.QueriesCompleted);
        var manifest = File.ReadAllText(Path.Combine(outcome.FolderPath, "manifest.json"));
        Assert.Contains("\"state\": \"complete\"", manifest);
        Assert.Equal(4, File.ReadAllLines(Path.Combine(outcome.FolderPath, "summary.csv")).Skip(1).Select(l => l.Split(',')[0]).Distinct().Count());
    }

    [Fact]
    public void An_agent_that_crashes_in_the_warm_up_fails_its_cell_and_says_so()
    {
        using var scratch = new Scratch();
        var outcome = scratch.Run(Yaml.Replace("warmup_s: 0 ", "warmup_s: 1 "), default, new FaultInjection(new Dictionary<string, string> { ["crashing"] = "crash:3" }));
        var byWorkload = outcome.Cells.ToDictionary(c => c.Cell.Workload.Name);
        Assert.Equal(CellStatus.Ok, byWorkload["healthy"].Status);
        var crash = byWorkload["crashing"];
        Assert.Equal(CellStatus.Failed, crash.Status);
        Assert.StartsWith("warm-up failed: ", crash.Reason);
        Assert.Contains("fault hook", crash.StderrTail);
    }
}
