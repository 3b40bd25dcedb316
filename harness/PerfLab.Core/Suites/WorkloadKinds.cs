namespace PerfLab.Core.Suites;

/// <summary>One parameter a workload kind accepts: a number in a range, or one of a set of words.</summary>
public sealed record ParameterSpec(string Name, string Default, string Description, double Min = 0, double Max = double.MaxValue,
    IReadOnlyList<string>? Choices = null, bool Integer = false, bool Text = false, FreeForm Free = FreeForm.None)
{
    public string ValidText => Free switch
    {
        FreeForm.Url => "an http:// or https:// URL, or empty",
        FreeForm.Path => "a file path, or empty",
        FreeForm.EnvName => "an environment variable's name (letters, digits, '_'), or empty",
        FreeForm.Model => "a model name as the server knows it (no spaces), or empty",
        _ => ValidFixed,
    };

    private string ValidFixed => Text ? "a name of letters, digits, '.', '-' and '_'" : Choices is { } c
        ? "one of " + string.Join(", ", c)
        : $"{(Integer ? "a whole number" : "a number")} from {Min} to {(Max == double.MaxValue ? "any" : Max.ToString(System.Globalization.CultureInfo.InvariantCulture))}";
}

/// <summary>Optional free-form text parameters and what makes one valid (empty means: not given).</summary>
public enum FreeForm { None, Url, Path, EnvName, Model }

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
    public static readonly WorkloadKind Noop = new("noop", [Samples, Concurrency,
        new("token_interval_us", "0", "served prompts only (openai serve: noop): a token every this many µs, sleeping between, so a stream's " +
            "per-token cost to the server shows in its CPU time (0: every token at once)", 0, 1_000_000)]);

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
        new("format", "int4", "weights: int4 (MatMulNBits; llamacpp: GGUF Q4_0), fp32 (ONNX engines) or f16 (llamacpp: GGUF F16)",
            Choices: ["int4", "fp32", "f16"]),
        // 32, not the faster 128 (bench/REPORT.md): at 128 a QEMU guest's CPU and an AVX-512 host gave different greedy tokens for
        // the same tiny model (at 32 the same), and the lab checks that every platform serves the same tokens.
        new("block_size", "32", "int4 quantization block size of the ONNX engines (128 decodes 14-26 % faster, bench/REPORT.md); llamacpp's Q4_0 has its own, 32", Choices: ["32", "64", "128"]),
        new("accuracy_level", "4", "MatMulNBits accuracy level (4: int8 activations)", 0, 4, Integer: true),
        new("model_seed", "1", "seed of the synthetic weights", 0, 1e15, Integer: true),
        new("engine", "ort", "ort (our engine), ort-genai or llamacpp (the peers: ONNX Runtime GenAI, llama.cpp through LLamaSharp)",
            Choices: ["ort", "ort-genai", "llamacpp"]),
        new("batching", "off", "on: concurrent sequences' decode steps run as one batch, sequences joining and leaving between steps " +
            "(continuous batching; ort and llamacpp); off: each sequence decodes alone on the shared engine", Choices: ["off", "on"]),
        new("weights", "plain", "plain, or encrypted (AES-256-GCM shards the Realm opens with a key the broker releases after attestation)",
            Choices: ["plain", "encrypted"]),
        // Default 1, not 0: a second spinning intra-op thread took the CPU from the lab's own HTTP server and load generator
        // beside it (TPOT over HTTP 2.8 ms against 0.49 ms over the channel, tests under a CPU hog, 2026-11-29).
        new("threads", "1", "compute threads per sequence (ONNX Runtime intra-op; llama.cpp n_threads); with batching: on, of the batch. " +
            "0: as many as the agent's CPUs allow (its CPUs ÷ concurrency, at least 1; with batching, all its CPUs)", 0, 256, Integer: true),
        new("dataset", "synthetic", "synthetic (seeded lengths) or builtin (our real-text prompts)", Choices: ["synthetic", "builtin"]),
        new("dataset_seed", "7", "seed of the synthetic prompts", 0, 1e15, Integer: true),
        new("input_tokens_mean", "64", "synthetic prompts: mean length (log-normal)", 1, 1_000_000),
        new("input_tokens_max", "256", "synthetic prompts: longest prompt", 1, 1_000_000, Integer: true),
        new("output_tokens_mean", "32", "synthetic prompts: mean output length (log-normal)", 1, 1_000_000),
        new("output_tokens_max", "128", "longest output for any prompt", 1, 1_000_000, Integer: true),
    ]);

    /// <summary>
    /// What no single parameter's check can see in the llm's engine, format and batching together: (parameter, why) or null.
    /// </summary>
    public static (string Parameter, string Why)? LlmProblem(IReadOnlyDictionary<string, string> v)
    {
        var engine = v["engine"];
        if (engine == "llamacpp")
        {
            if (v["format"] == "fp32") return ("format", "llamacpp runs GGUF files: int4 (Q4_0) or f16, not fp32");
        }
        else if (v["format"] == "f16") return ("format", $"f16 is a GGUF format for engine llamacpp; {engine} runs int4 or fp32");
        if (engine == "ort-genai" && v["batching"] == "on")
            return ("batching", "ort-genai has no continuous batching here; batching: on runs with engine ort or llamacpp");
        return null;
    }

    /// <summary>The kinds <c>openai</c>'s own server can serve (serve:), each through the same engines as over the channel.</summary>
    public static readonly IReadOnlyList<WorkloadKind> Servable = [Noop, Synthetic, Llm];

    /// <summary>
    /// An OpenAI-compatible HTTP endpoint as the system under test, driven from the host over HTTP with streaming.
    /// With base_url empty the lab serves it: the agent runs <c>perflab serve</c>'s server inside the cell's Realm over the
    /// engine named by serve: and that kind's parameters (given here too). With base_url set the endpoint is the user's
    /// and the lab launches nothing: it measures whatever runs there.
    /// </summary>
    public static readonly WorkloadKind OpenAi = new("openai",
    [
        new("base_url", "", "the endpoint (e.g. http://10.0.0.5:8000); empty: the lab's own server in the cell's Realm", Free: FreeForm.Url),
        new("model", "", "the model name sent in each request; empty: the server's first model", Free: FreeForm.Model),
        new("api", "completions", "which API: /v1/completions or /v1/chat/completions", Choices: ["completions", "chat"]),
        new("api_key_env", "", "environment variable holding the API key (sent as a bearer token)", Free: FreeForm.EnvName),
        new("timeout_s", "60", "a query that has not finished this long after it was sent fails (timeout)", 0.001, 86_400),
        new("first_chunk_timeout_s", "30", "a stream that sends nothing this long fails (hang)", 0.001, 86_400),
        new("max_connections", "64", "connections the client keeps to the endpoint (queries beyond wait for one, and that wait counts)", 1, 4096, Integer: true),
        new("serve", "llm", "what the lab's own server runs (base_url empty): " + string.Join(", ", Servable.Select(k => k.Name)),
            Choices: Servable.Select(k => k.Name).ToArray()),
        new("prompts", "synthetic", "synthetic (seeded token ids), builtin (our real-text prompts) or file (prompts_file)", Choices: ["synthetic", "builtin", "file"]),
        new("prompts_file", "", "JSONL: {\"text\"|\"token_ids\", \"output_tokens\"} per line, or ShareGPT conversations (every turn)", Free: FreeForm.Path),
        new("output_length", "dataset", "dataset (each prompt's own) or natural (max_tokens only, the server decides when to stop)", Choices: ["dataset", "natural"]),
        new("prompt_reuse", "distinct", "distinct: each launch draws prompts no other launch of the cell sent (a prefix cache cannot flatter a rerun); same: every launch sends the same ones",
            Choices: ["distinct", "same"]),
        new("vocab", "32000", "synthetic prompts to an external server: token ids are drawn below this (its model's vocabulary; the lab's own model uses its own)", 2, 10_000_000, Integer: true),
        // Then every parameter of the kinds it can serve, once each, for the served engine (the llm's prompt set and
        // encrypted weights are not among them: prompts come over HTTP, and its weights are plain).
        .. new[] { Llm, Synthetic, Noop }.SelectMany(k => k.Parameters).Where(p => p.Name is not ("weights" or "dataset")).DistinctBy(p => p.Name),
    ]);

    public static readonly IReadOnlyDictionary<string, WorkloadKind> All = new[] { Noop, Synthetic, Micro, Llm, OpenAi }.ToDictionary(k => k.Name);

    /// <summary>The workload an <c>openai</c> workload's own server runs: its serve: kind with the parameters that kind accepts.</summary>
    public static WorkloadSpec Served(WorkloadSpec openai)
    {
        var kind = Named(openai.GetString("serve"));
        var values = kind.Parameters.ToDictionary(p => p.Name, p => openai.Parameters.TryGetValue(p.Name, out var v) ? v : p.Default);
        return new WorkloadSpec(openai.Name, kind, values);
    }

    /// <summary>The kind of this name, or an error that lists the valid ones.</summary>
    public static WorkloadKind Named(string name) => All.TryGetValue(name, out var k) ? k
        : throw new ArgumentException($"unknown workload kind '{name}'; valid kinds: {string.Join(", ", All.Keys)}");
}
