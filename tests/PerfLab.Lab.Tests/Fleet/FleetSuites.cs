namespace PerfLab.Lab.Tests.Fleet;

/// <summary>The short suite the fleet tests spread: two SUTs, two scenarios, native baselines and emulated Realms (4 groups).</summary>
internal static class FleetSuites
{
    public static string Quick(string name) => $$"""
        name: {{name}}
        repetitions: 2
        seed: 1
        agent_timeout_s: 60
        warmup_s: 0
        warmup_max_s: 0
        workloads:
          - {name: noop, kind: noop}
          - {name: syn, kind: synthetic, samples: 64, prompt_tokens: 8, output_tokens: 4, decode_us_per_token: 100}
        scenarios:
          - {type: offline, min_queries: 40, min_duration_s: 0}
          - {type: single-stream, min_queries: 40, min_duration_s: 0}
        matrix: {platform: [native, cca-emulated], vcpus: 1}
        baseline: {platform: native}
        """;
}
