using System.Diagnostics;
using PerfLab.Core.Units;
using PerfLab.Llm.Inference;
using PerfLab.Llm.Model;

namespace PerfLab.Benchmarks;

/// <summary>
/// Decode speed of the LLM workload against the memory-bandwidth roofline, in one process, interleaved:
/// a STREAM-style triad before every configuration, so each tokens/s figure sits beside the bandwidth the
/// machine had at that moment. Also prefill (TTFT) time, our engine against ORT GenAI and llama.cpp (GGUF Q4_0 of the
/// same weights, through LLamaSharp), and managed bytes allocated per decode step.
/// </summary>
public static class LlmDecode
{
    private const int PromptTokens = 64, Warmup = 8, Steps = 48;

    public static int Run(string[] args, TextWriter o)
    {
        var preset = args.Length > 0 ? args[0] : "1b";
        o.WriteLine($"# llm-decode: preset {preset}, prompt {PromptTokens} tokens, {Warmup} warm-up + {Steps} measured decode steps; " +
                    $"{Environment.ProcessorCount} CPUs; THP {File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled").Trim()}; " +
                    $"GLIBC_TUNABLES={Environment.GetEnvironmentVariable("GLIBC_TUNABLES") ?? "(unset)"}");
        o.WriteLine("| engine | block | threads | triad GB/s | decode ms/token (median) | tokens/s | matrix GB/s | % of triad | prefill ms | managed B/step |");
        o.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        var triad = new Triad(32 << 20);
        // The first engine in a process ran 10 % slower (41.6 vs 37.4 ms/token, prefill 1.31 vs 1.03 s) than every
        // later one, whichever engine it was: a throwaway session first, so the table compares engines, not order.
        Ours(ModelCache.BuildIfMissing(ModelSpec.FromPreset(preset)), 1);
        if (args.Length > 1 && args[1] == "profile")
            return Profile(preset, args.Length > 2 ? int.Parse(args[2]) : 1, args.Length > 3 ? int.Parse(args[3]) : ModelSpec.DefaultBlockSize, o);
        if (args.Length > 1 && args[1] == "ab")
        {
            // Alternating order, to tell an engine's speed from the machine's drift.
            var dir = ModelCache.BuildIfMissing(ModelSpec.FromPreset(preset));
            var threads = args.Length > 2 ? int.Parse(args[2]) : 1;
            foreach (var engine in new[] { "ort-genai", "ort", "ort-genai", "ort", "ort-genai", "ort" })
            {
                var bw = triad.Measure(threads);
                var r = engine == "ort" ? Ours(dir, threads) : Peer(dir, threads);
                o.WriteLine($"| {engine} | {ModelSpec.DefaultBlockSize} | {threads} | {bw:0.0} | {r.StepMs:0.00} | {1000 / r.StepMs:0.0} | | | {r.PrefillMs:0.0} | |");
            }
            return 0;
        }
        // Every engine at one thread count, then at the next: the rows compared with each other ran minutes apart at most.
        var b32 = ModelCache.BuildIfMissing(ModelSpec.FromPreset(preset, WeightFormat.Int4, 32));
        var b128 = ModelCache.BuildIfMissing(ModelSpec.FromPreset(preset, WeightFormat.Int4, 128));
        // What packing Q, K and V into one projection buys: the same weights as three projections (the graph before).
        var unpacked = ModelCache.BuildIfMissing(ModelSpec.FromPreset(preset, WeightFormat.Int4, 128) with { PackedQkv = false });
        var q40 = ModelCache.BuildIfMissing(ModelSpec.FromPreset(preset, WeightFormat.Q4_0));
        (string Engine, string Block, string Dir, Func<string, int, Result> Run)[] rows =
        [
            ("ort", "32", b32, Ours), ("ort-genai", "32", b32, Peer), ("ort", "128", b128, Ours), ("ort-genai", "128", b128, Peer),
            ("ort, Q/K/V unpacked", "128", unpacked, Ours), ("llamacpp", "Q4_0 (32)", q40, LlamaCpp),
        ];
        foreach (var threads in new[] { 1, 2 })
        foreach (var (engine, block, dir, run) in rows)
        {
            var bw = triad.Measure(threads);
            var r = run(dir, threads);
            var gbs = ModelFiles.ReadManifest(dir).StreamedBytesPerToken / (r.StepMs / 1e3) / 1e9;
            o.WriteLine($"| {engine} | {block} | {threads} | {bw:0.0} | {r.StepMs:0.00} | {1000 / r.StepMs:0.0} | {gbs:0.0} | {gbs / bw * 100:0} | " +
                        $"{r.PrefillMs:0.0} | {(r.AllocPerStep < 0 ? "–" : r.AllocPerStep.ToString("0"))} |");
        }
        foreach (var (name, dir) in new[] { ("block 32", b32), ("block 128", b128), ("GGUF Q4_0", q40) })
        {
            var m = ModelFiles.ReadManifest(dir);
            o.WriteLine($"({name}: file {m.WeightsBytes / 1e6:0} MB, matrix bytes streamed per token (nibbles and scales) {m.StreamedBytesPerToken / 1e6:0.0} MB)");
        }
        return 0;
    }

    // No RSS here: after the first engine a process reuses memory the last one freed, so its RSS says nothing;
    // the agent's smaps in a harness run (a fresh process per cell) is where memory is measured.
    private sealed record Result(double StepMs, double PrefillMs, double AllocPerStep);

    private static long[] Prompt(int vocab)
    {
        var rng = new Random(3);
        return Enumerable.Range(0, PromptTokens).Select(_ => (long)rng.Next(vocab - 1)).ToArray();
    }

    private static Result Ours(string dir, int threads)
    {
        using var d = new OrtDecoder(dir, new DecoderOptions(threads));
        using var seq = d.NewSequence(PromptTokens + Warmup + Steps + 1);
        var sw = Stopwatch.StartNew();
        var logits = seq.Prefill(Prompt(d.Shape.Vocab));
        var prefillMs = sw.Elapsed.TotalMilliseconds;
        var next = DecoderSequence.ArgMax(logits);
        for (var i = 0; i < Warmup; i++) next = DecoderSequence.ArgMax(seq.Step(next));
        var times = new double[Steps];
        var alloc0 = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Steps; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            next = DecoderSequence.ArgMax(seq.Step(next));
            times[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        var alloc = (GC.GetAllocatedBytesForCurrentThread() - alloc0) / (double)Steps;
        return new Result(Median(times), prefillMs, alloc);
    }

    private static Result Peer(string dir, int threads)
    {
        // GenAI takes its thread count from the session options in genai_config.json.
        var config = Path.Combine(dir, BuiltModel.GenAiConfigFile);
        var original = File.ReadAllText(config);
        File.WriteAllText(config, original.Replace("\"log_id\": \"onnxruntime-genai\"", $"\"log_id\": \"onnxruntime-genai\", \"intra_op_num_threads\": {threads}"));
        try
        {
            using var model = new Microsoft.ML.OnnxRuntimeGenAI.Model(dir);
            using var p = new Microsoft.ML.OnnxRuntimeGenAI.GeneratorParams(model);
            p.SetSearchOption("max_length", PromptTokens + Warmup + Steps + 1);
            using var g = new Microsoft.ML.OnnxRuntimeGenAI.Generator(model, p);
            var prompt = Prompt(50257).Select(x => (int)x).ToArray();
            var sw = Stopwatch.StartNew();
            g.AppendTokens(prompt);
            g.GenerateNextToken();
            var prefillMs = sw.Elapsed.TotalMilliseconds;
            for (var i = 0; i < Warmup; i++) g.GenerateNextToken();
            var times = new double[Steps];
            for (var i = 0; i < Steps; i++)
            {
                var t0 = Stopwatch.GetTimestamp();
                g.GenerateNextToken();
                times[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            }
            return new Result(Median(times), prefillMs, -1);
        }
        finally { File.WriteAllText(config, original); }
    }

    /// <summary>
    /// Where a decode step's time goes, from ONNX Runtime's own profiler: kernel time per op type per step, and what the
    /// run took beyond its kernels (the session's own work between them). Profiling adds its own cost: read shares, not speeds.
    /// </summary>
    private static int Profile(string preset, int threads, int block, TextWriter o)
    {
        var dir = ModelCache.BuildIfMissing(ModelSpec.FromPreset(preset, WeightFormat.Int4, block));
        var prefix = Path.Combine(Path.GetTempPath(), $"perflab-ort-profile-{Environment.ProcessId}");
        string file;
        using (var d = new OrtDecoder(dir, new DecoderOptions(threads, ProfilePrefix: prefix)))
        using (var seq = d.NewSequence(PromptTokens + Warmup + Steps + 1))
        {
            var logits = seq.Prefill(Prompt(d.Shape.Vocab));
            var next = DecoderSequence.ArgMax(logits);
            for (var i = 0; i < Warmup + Steps; i++) next = DecoderSequence.ArgMax(seq.Step(next));
            file = d.Session.EndProfiling();
        }
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(file));
        File.Delete(file);
        // Runs in order: the prefill, the warm-up steps, then the measured ones; a node's events fall inside its run.
        var runs = json.RootElement.EnumerateArray().Where(e => e.GetProperty("cat").GetString() == "Session" && e.GetProperty("name").GetString() == "model_run")
            .Select(e => (Ts: e.GetProperty("ts").GetInt64(), Dur: e.GetProperty("dur").GetInt64())).OrderBy(r => r.Ts).Skip(1 + Warmup).ToList();
        var first = runs[0].Ts;
        var byOp = new Dictionary<string, (double Us, int Count)>();
        foreach (var e in json.RootElement.EnumerateArray())
        {
            if (e.GetProperty("cat").GetString() != "Node" || !e.GetProperty("name").GetString()!.EndsWith("_kernel_time") || e.GetProperty("ts").GetInt64() < first) continue;
            var op = e.GetProperty("args").GetProperty("op_name").GetString()!;
            var (us, n) = byOp.GetValueOrDefault(op);
            byOp[op] = (us + e.GetProperty("dur").GetInt64(), n + 1);
        }
        var runUs = runs.Average(r => r.Dur);
        var kernelUs = byOp.Values.Sum(v => v.Us) / runs.Count;
        o.WriteLine($"# ONNX Runtime profile: preset {preset}, block {block}, {threads} thread(s), {runs.Count} decode steps; a step (model_run) {runUs / 1e3:0.00} ms");
        o.WriteLine("| op | kernels per step | ms per step | % of the step |");
        o.WriteLine("|---|---:|---:|---:|");
        foreach (var (op, (us, n)) in byOp.OrderByDescending(kv => kv.Value.Us))
            o.WriteLine($"| {op} | {n / (double)runs.Count:0} | {us / runs.Count / 1e3:0.000} | {us / runs.Count / runUs * 100:0.0} |");
        o.WriteLine($"| (between kernels) | | {(runUs - kernelUs) / 1e3:0.000} | {(runUs - kernelUs) / runUs * 100:0.0} |");
        return 0;
    }

    private static Result LlamaCpp(string dir, int threads)
    {
        using var e = new LlamaCppEngine(dir, threads, PromptTokens + Warmup + Steps + 1);
        using var b = e.Batched(1);
        var sw = Stopwatch.StartNew();
        var next = b.Start(0, Prompt(50257));
        var prefillMs = sw.Elapsed.TotalMilliseconds;
        int[] slot = [0], last = [0], output = [0];
        for (var i = 0; i < Warmup; i++) { last[0] = next; b.Step(slot, last, output); next = output[0]; }
        var times = new double[Steps];
        for (var i = 0; i < Steps; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            last[0] = next;
            b.Step(slot, last, output);
            next = output[0];
            times[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        return new Result(Median(times), prefillMs, -1);
    }

    private static double Median(double[] v)
    {
        var s = v.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    /// <summary>STREAM's triad a = b + s·c over arrays far larger than the caches; bytes counted as STREAM does (24 per element).</summary>
    private sealed class Triad(int elements)
    {
        private readonly double[] _a = new double[elements], _b = Enumerable.Repeat(1.0, elements).ToArray(), _c = Enumerable.Repeat(2.0, elements).ToArray();

        public double Measure(int threads)
        {
            var best = 0.0;
            for (var rep = 0; rep < 5; rep++)
            {
                var sw = Stopwatch.StartNew();
                var chunk = _a.Length / threads;
                Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
                {
                    var a = _a.AsSpan(t * chunk, chunk);
                    var b = _b.AsSpan(t * chunk, chunk);
                    var c = _c.AsSpan(t * chunk, chunk);
                    for (var i = 0; i < a.Length; i++) a[i] = b[i] + 3.0 * c[i];
                });
                best = Math.Max(best, 24.0 * _a.Length / sw.Elapsed.TotalSeconds / 1e9);
            }
            return best;
        }
    }
}
