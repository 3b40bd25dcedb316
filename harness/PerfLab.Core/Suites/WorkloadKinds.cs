namespace PerfLab.Core.Suites;

/// <summary>One parameter a workload kind accepts: a number in a range, or one of a set of words.</summary>
public sealed record ParameterSpec(string Name, string Default, string Description, double Min = 0, double Max = double.MaxValue,
    IReadOnlyList<string>? Choices = null, bool Integer = false, bool Text = false)
{
    public string ValidText => Text ? "a name of letters, digits, '.', '-' and '_'" : Choices is { } c
        ? "one of " + string.Join(", ", c)
        : $"{(Integer ? "a whole number" : "a number")} from {Min} to {(Max == double.MaxValue ? "any" : Max.ToString(System.Globalization.CultureInfo.InvariantCulture))}";
}

/// <summary>Where a workload kind runs: inside the Realm as the agent's SUT, or on the host as a native measurement.</summary>
public enum WorkloadPlacement { Agent, Host }

/// <summary>
/// A workload kind: its name, its parameters (validated by the suite loader) and where it runs. Its behaviour (SUT
/// factory, payload, host preparation) is its entry in the Lab's workload registry (harness/PerfLab.Lab/Workloads).
/// </summary>
public sealed record WorkloadKind(string Name, IReadOnlyList<ParameterSpec> Parameters, WorkloadPlacement Placement = WorkloadPlacement.Agent)
{
    public override string ToString() => Name;
}

/// <summary>
/// The workload kinds, with their parameters: the declarative half of the workload registry (pure, so the suite
/// loader can validate against it). A new kind is a row here and its behaviour in harness/PerfLab.Lab/Workloads.
/// </summary>
public static class WorkloadKinds
{
    private static readonly ParameterSpec Samples = new("samples", "256", "performance sample count of the query sample library", 1, 1_000_000, Integer: true);
    private static readonly ParameterSpec Concurrency = new("concurrency", "1", "sequences the agent serves at once", 1, 256, Integer: true);

    /// <summary>Answers at once: measures the load generator and the channel, nothing else.</summary>
    public static readonly WorkloadKind Noop = new("noop", [Samples, Concurrency]);

    /// <summary>
    /// A token-streaming stand-in for an LLM: real CPU work for prefill and each decoded token, and a real memory walk
    /// over a working set so that page size and TLB reach matter.
    /// </summary>
    public static readonly WorkloadKind Synthetic = new("synthetic",
    [
        Samples, Concurrency,
        new("prompt_tokens", "64", "tokens in each prompt", 1, 1_000_000, Integer: true),
        new("output_tokens", "16", "tokens generated per query", 1, 1_000_000, Integer: true),
        new("prefill_us_per_token", "2", "busy CPU time per prompt token, in microseconds", 0, 1_000_000),
        new("decode_us_per_token", "200", "busy CPU time per generated token, in microseconds", 0, 10_000_000),
        new("working_set_mib", "64", "memory the SUT allocates (malloc) and walks; its page size is the cell's", 0, 65536, Integer: true),
        new("touch_pages_per_token", "64", "random pages of the working set read per generated token", 0, 1_000_000, Integer: true),
    ]);

    /// <summary>A native microbenchmark case of native/wsbench (its names: wsbench --list), run once per cell on the host.</summary>
    public static readonly WorkloadKind Micro = new("micro", [new("case", "", "the wsbench case, e.g. kvm.exit.pio", Text: true)], WorkloadPlacement.Host);

    /// <summary>A Llama-architecture decoder built by PerfLab (deterministic synthetic weights) on ONNX Runtime.</summary>
    public static readonly WorkloadKind Llm = new("llm",
    [
        Samples, Concurrency,
        new("preset", "tiny", "model shape", Choices: ["tiny", "110m", "1b"]),
        new("format", "int4", "weights: int4 (MatMulNBits) or fp32", Choices: ["int4", "fp32"]),
        new("block_size", "32", "int4 quantization block size", Choices: ["32", "64", "128"]),
        new("accuracy_level", "4", "MatMulNBits accuracy level (4: int8 activations)", 0, 4, Integer: true),
        new("model_seed", "1", "seed of the synthetic weights", 0, 1e15, Integer: true),
        new("engine", "ort", "ort (our engine) or ort-genai (the peer)", Choices: ["ort", "ort-genai"]),
        new("weights", "plain", "plain, or encrypted (AES-256-GCM shards the Realm opens with a key the broker releases after attestation)",
            Choices: ["plain", "encrypted"]),
        new("threads", "1", "ONNX Runtime intra-op threads per sequence", 1, 256, Integer: true),
        new("dataset", "synthetic", "synthetic (seeded lengths) or builtin (our real-text prompts)", Choices: ["synthetic", "builtin"]),
        new("dataset_seed", "7", "seed of the synthetic prompts", 0, 1e15, Integer: true),
        new("input_tokens_mean", "64", "synthetic prompts: mean length (log-normal)", 1, 1_000_000),
        new("input_tokens_max", "256", "synthetic prompts: longest prompt", 1, 1_000_000, Integer: true),
        new("output_tokens_mean", "32", "synthetic prompts: mean output length (log-normal)", 1, 1_000_000),
        new("output_tokens_max", "128", "longest output for any prompt", 1, 1_000_000, Integer: true),
    ]);

    public static readonly IReadOnlyDictionary<string, WorkloadKind> All = new[] { Noop, Synthetic, Micro, Llm }.ToDictionary(k => k.Name);

    /// <summary>The kind of this name, or an error that lists the valid ones.</summary>
    public static WorkloadKind Named(string name) => All.TryGetValue(name, out var k) ? k
        : throw new ArgumentException($"unknown workload kind '{name}'; valid kinds: {string.Join(", ", All.Keys)}");
}
