using PerfLab.Core.Suites;

namespace PerfLab.Core.Tests.Suites;

/// <summary>The suite file's sweep scenario and openai workload: what they expand to and what they refuse.</summary>
public class OpenAiAndSweepTests
{
    private static string Suite(string scenario, string workload = "{name: w, kind: noop}") => $"""
        name: t
        workloads:
          - {workload}
        scenarios:
          - {scenario}
        matrix: {"{platform: native}"}
        """;

    private static Suite Parse(string yaml) => SuiteLoader.Parse(yaml, "s.yaml");

    [Fact]
    public void A_sweep_is_one_server_scenario_per_rate_named_for_it()
    {
        var s = Parse(Suite("{type: sweep, name: knee, qps: [2, 8, 4], ttft_limit_ms: 50}"));
        Assert.Equal(["knee-2qps", "knee-8qps", "knee-4qps"], s.Scenarios.Select(x => x.Name));
        Assert.All(s.Scenarios, x => Assert.Equal((ScenarioKind.Server, "knee"), (x.Kind, x.Sweep)));
        Assert.Equal([2.0, 8, 4], s.Scenarios.Select(x => x.TargetQps!.Value));
        Assert.All(s.Scenarios, x => Assert.Equal(50_000_000, x.TtftLimit!.Value.Value));
        Assert.Equal(3, s.Cells.Count);
    }

    [Fact]
    public void A_sweep_range_is_geometric_from_its_first_rate_to_its_last()
    {
        var s = Parse(Suite("{type: sweep, qps: {from: 1, to: 64, steps: 7}}"));
        Assert.Equal([1.0, 2, 4, 8, 16, 32, 64], s.Scenarios.Select(x => x.TargetQps!.Value));
        Assert.Equal("sweep-1qps", s.Scenarios[0].Name);
    }

    [Theory]
    [InlineData("{type: sweep, qps: 5}", "scenarios[0].qps")]
    [InlineData("{type: sweep, qps: [1, x]}", "not a rate")]
    [InlineData("{type: sweep, qps: [2, 2]}", "must differ")]
    [InlineData("{type: sweep, qps: {from: 8, to: 4}}", "must be above from")]
    [InlineData("{type: sweep, qps: [1, 2], search_start_qps: 3}", "applies only with qps: search")]
    public void A_bad_sweep_is_refused_naming_the_field(string scenario, string message)
    {
        var e = Assert.Throws<SuiteValidationException>(() => Parse(Suite(scenario)));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void The_openai_workload_serves_its_engine_with_the_parameters_that_engine_takes()
    {
        var s = Parse(Suite("{type: single-stream}", "{name: h, kind: openai, serve: llm, preset: 110m, threads: 2, api: chat, base_url: ''}"));
        var w = s.Workloads[0];
        Assert.Equal("chat", w.GetString("api"));
        var served = WorkloadKinds.Served(w);
        Assert.Equal(WorkloadKinds.Llm, served.Kind);
        Assert.Equal(("110m", "2"), (served.GetString("preset"), served.GetString("threads")));
        Assert.Equal(WorkloadKinds.Llm.Parameters.Select(p => p.Name).Order(), served.Parameters.Keys.Order());
        Assert.Equal("plain", served.GetString("weights"));
        Assert.Equal(WorkloadKinds.Noop, WorkloadKinds.Served(Parse(Suite("{type: offline}", "{name: h, kind: openai, serve: noop}")).Workloads[0]).Kind);
    }

    [Theory]
    [InlineData("{name: h, kind: openai, base_url: 'ftp://x'}", "base_url")]
    [InlineData("{name: h, kind: openai, base_url: 'http://h:8000/?a=1'}", "base_url")]
    [InlineData("{name: h, kind: openai, api_key_env: 'MY KEY'}", "api_key_env")]
    [InlineData("{name: h, kind: openai, prompts: file}", "prompts: file and prompts_file go together")]
    [InlineData("{name: h, kind: openai, prompts_file: p.jsonl}", "prompts: file and prompts_file go together")]
    [InlineData("{name: h, kind: openai, serve: micro}", "serve")]
    public void A_bad_openai_workload_is_refused_naming_the_field(string workload, string message)
    {
        var e = Assert.Throws<SuiteValidationException>(() => Parse(Suite("{type: single-stream}", workload)));
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("{name: l, kind: llm, engine: llamacpp, format: fp32}", "workloads[0].format", "llamacpp runs GGUF files")]
    [InlineData("{name: l, kind: llm, engine: ort, format: f16}", "workloads[0].format", "f16 is a GGUF format")]
    [InlineData("{name: l, kind: llm, engine: ort-genai, batching: on}", "workloads[0].batching", "ort-genai has no continuous batching")]
    [InlineData("{name: h, kind: openai, engine: ort-genai, batching: on}", "workloads[0].batching", "ort-genai has no continuous batching")]
    public void An_engine_format_or_batching_that_do_not_go_together_are_refused_naming_the_field(string workload, string field, string message)
    {
        var e = Assert.Throws<SuiteValidationException>(() => Parse(Suite("{type: single-stream}", workload)));
        Assert.Contains(field, e.Message);
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("{name: l, kind: llm, engine: llamacpp}")]
    [InlineData("{name: l, kind: llm, engine: llamacpp, format: f16, batching: on}")]
    [InlineData("{name: l, kind: llm, engine: ort, batching: on, block_size: 128}")]
    [InlineData("{name: h, kind: openai, base_url: 'http://h:8000', engine: ort-genai}")]
    public void Engines_formats_and_batching_that_go_together_are_accepted(string workload) =>
        Assert.Single(Parse(Suite("{type: single-stream}", workload)).Workloads);
}
