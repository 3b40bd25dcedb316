using PerfLab.Core.Results;

namespace PerfLab.Lab.Tests.Runner;

/// <summary>
/// Integration: the llm workload on every engine through the whole harness (real agents, real ONNX Runtime and
/// llama.cpp), batching off and on; llama.cpp also inside an emulated Realm, its GGUF streamed in.
/// </summary>
public class LlmEnginesRunTests
{
    private const string Tiny = "kind: llm, preset: tiny, samples: 12, concurrency: 3, input_tokens_mean: 24, input_tokens_max: 64, output_tokens_mean: 10, output_tokens_max: 24";

    private const string Yaml = $$"""
        name: engines-test
        seed: 9
        agent_timeout_s: 120
        workloads:
          - {name: ort-off, engine: ort, batching: off, {{Tiny}}}
          - {name: ort-on, engine: ort, batching: on, {{Tiny}}}
          - {name: cpp-off, engine: llamacpp, batching: off, {{Tiny}}}
          - {name: cpp-on, engine: llamacpp, batching: on, {{Tiny}}}
        scenarios:
          - {type: offline, min_queries: 36, min_duration_s: 0}
        matrix: {platform: [native, cca-emulated], rsi_batch: 2m, vcpus: 1, pinning: auto}
        exclude:
          - {platform: cca-emulated, workload: ort-off}
          - {platform: cca-emulated, workload: ort-on}
          - {platform: cca-emulated, workload: cpp-off}
        """;

    [Fact]
    public void Every_engine_serves_every_query_and_batching_changes_no_token()
    {
        using var scratch = new Scratch();
        var outcome = scratch.Run(Yaml);
        Assert.All(outcome.Cells, c => Assert.True(c.Status == CellStatus.Ok, $"{c.Cell.Id}: {c.Status} {c.Reason}"));
        Assert.All(outcome.Cells, c =>
        {
            Assert.Equal(36, c.Analysis!.QueriesCompleted);
            Assert.True(c.Analysis.Distributions.ContainsKey("ttft") && c.Analysis.Distributions.ContainsKey("tpot"), c.Cell.Id);
        });
        string Digest(string workload) =>
            outcome.Cells.Single(c => c.Cell.Workload.Name == workload && c.Cell.Realm.Platform == Core.Suites.Platform.Native).EffectiveRealm["agent.tokens_digest"];
        // The same answers with batching on as off, on each engine: sequences batched together get exactly their own tokens.
        Assert.Equal(Digest("ort-off"), Digest("ort-on"));
        Assert.Equal(Digest("cpp-off"), Digest("cpp-on"));
        // Two engines of two quantizations (MatMulNBits int4, GGUF Q4_0) of one set of weights: their answers differ.
        Assert.NotEqual(Digest("ort-off"), Digest("cpp-off"));
        Assert.All(outcome.Cells.Where(c => c.Cell.Workload.Name.EndsWith("-on")), c => Assert.StartsWith("on (3 slots)", c.EffectiveRealm["agent.llm.batching"]));
        Assert.All(outcome.Cells.Where(c => c.Cell.Workload.Name.StartsWith("cpp")), c => Assert.Equal("llamacpp", c.EffectiveRealm["agent.llm.engine"]));
        // In the emulated Realm the GGUF file itself was streamed in and verified, and the Realm's answers are the host's.
        var realm = outcome.Cells.Single(c => c.Cell.Realm.Platform == Core.Suites.Platform.CcaEmulated);
        Assert.Contains("verified against the manifest", realm.EffectiveRealm["agent.weights_source"]);
        Assert.Equal(Digest("cpp-on"), realm.EffectiveRealm["agent.tokens_digest"]);
    }
}
