using PerfLab.Core.Gate;
using PerfLab.Core.Results;
using PerfLab.Results;
using PerfLab.Results.Schema;

namespace PerfLab.Lab.Tests.Runner;

/// <summary>The llm workload through the whole harness: real agents, real ONNX Runtime, the tiny model.</summary>
public class LlmRunTests
{
    private const string Yaml = """
        name: llm-test
        seed: 5
        agent_timeout_s: 120
        workloads:
          - {name: tiny, kind: llm, preset: tiny, samples: 16, input_tokens_mean: 24, input_tokens_max: 64, output_tokens_mean: 12, output_tokens_max: 32}
        scenarios:
          - {type: offline, min_queries: 40, min_duration_s: 0}
          - {type: server, qps: 20, min_queries: 40, min_duration_s: 1, ttft_limit_ms: 500, tpot_limit_ms: 100}
        matrix: {platform: native, page_size: [4k, 2m], vcpus: 1, pinning: auto}
        baseline: {page_size: 4k}
        """;

    [Fact]
    public void Four_KiB_and_two_MiB_cells_serve_identical_tokens_and_the_weights_land_on_their_pages()
    {
        using var scratch = new Scratch();
        var outcome = scratch.Run(Yaml);
        Assert.All(outcome.Cells, c => Assert.Equal(CellStatus.Ok, c.Status));
        foreach (var scenario in new[] { "offline", "server" })
        {
            var small = outcome.Cells.Single(c => c.Cell.Scenario.Name == scenario && c.Cell.Realm.PageSize == Core.Units.PageSize.Kib4);
            var large = outcome.Cells.Single(c => c.Cell.Scenario.Name == scenario && c.Cell.Realm.PageSize == Core.Units.PageSize.Mib2);
            Assert.Equal(small.EffectiveRealm["agent.tokens_digest"], large.EffectiveRealm["agent.tokens_digest"]);
            Assert.NotEqual("0", small.EffectiveRealm["agent.tokens_digest"]);
            Assert.Equal("0", small.EffectiveRealm["smaps.AnonHugePages_kb"]);
            Assert.True(long.Parse(large.EffectiveRealm["smaps.AnonHugePages_kb"]) > 0, "ONNX Runtime's allocations should sit on THP in the 2 MiB cell");
            Assert.True(small.Analysis!.Distributions.ContainsKey("ttft") && small.Analysis.Distributions.ContainsKey("tpot"));
            Assert.Equal(40, small.Analysis.QueriesCompleted);
        }
        // And the gate reads LLM runs like any other.
        var side = GateSides.Load(outcome.FolderPath);
        var report = GateEvaluator.Evaluate(side.Input, side.Input, side.Spec!);
        Assert.NotEmpty(report.Rows);
        Assert.All(report.Rows, r => Assert.True(r.Comparison.Verdict is Verdict.Unchanged or Verdict.Inconclusive));
        Assert.All(report.Rows, r => Assert.Equal(1.0, r.Comparison.Ratio, 9));
    }

    [Fact]
    public void A_corrupt_model_fails_its_cell_with_the_tensor_named_and_the_suite_goes_on()
    {
        using var scratch = new Scratch();
        var cache = Path.Combine(scratch.Dir, "models");
        var old = Environment.GetEnvironmentVariable("PERFLAB_MODEL_CACHE");
        Environment.SetEnvironmentVariable("PERFLAB_MODEL_CACHE", cache);
        try
        {
            var spec = Llm.Model.ModelSpec.FromPreset("tiny");
            var dir = Llm.Model.ModelCache.BuildIfMissing(spec);
            var weights = Path.Combine(dir, Llm.Model.BuiltModel.WeightsFileName);
            var bytes = File.ReadAllBytes(weights);
            bytes[^100] ^= 0xFF;
            File.WriteAllBytes(weights, bytes);
            var outcome = scratch.Run(Yaml.Replace("page_size: [4k, 2m]", "page_size: 4k")
                .Replace("workloads:", "workloads:\n  - {name: synth, kind: synthetic, output_tokens: 4, working_set_mib: 0}"));
            var llm = outcome.Cells.Where(c => c.Cell.Workload.Name == "tiny").ToList();
            Assert.All(llm, c => Assert.Equal(CellStatus.Failed, c.Status));
            Assert.All(llm, c => Assert.Contains("hashes to", c.Reason));
            Assert.All(outcome.Cells.Where(c => c.Cell.Workload.Name == "synth"), c => Assert.Equal(CellStatus.Ok, c.Status));
        }
        finally
        {
            Environment.SetEnvironmentVariable("PERFLAB_MODEL_CACHE", old);
        }
    }
}
