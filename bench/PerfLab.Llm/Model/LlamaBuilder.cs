using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using PerfLab.Llm.Onnx;

namespace PerfLab.Llm.Model;

/// <summary>What the builder wrote, and the byte counts a bandwidth roofline needs.</summary>
public sealed record BuiltModel(string Directory, string ModelPath, string WeightsPath, string ManifestPath, ModelSpec Spec,
    long WeightsFileBytes, long StreamedBytesPerToken)
{
    public const string ModelFile = "model.onnx", WeightsFileName = "model.weights", ManifestFile = "manifest.json", GenAiConfigFile = "genai_config.json";
}

/// <summary>The manifest beside a model: its spec, files, hashes and every tensor of the weights file.</summary>
public sealed record ModelManifest(int Schema, string Preset, LlamaShape Shape, string Format, int BlockSize, int AccuracyLevel, ulong Seed,
    string ModelFile, string ModelSha256, string WeightsFile, long WeightsBytes, long StreamedBytesPerToken, List<TensorEntry> Tensors,
    int GraphVersion = LlamaBuilder.GraphVersion)
{
    public static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
}

/// <summary>
/// Writes a Llama-architecture decoder as ONNX in ONNX Runtime's CPU-optimised form: Gather embedding;
/// per layer SimplifiedLayerNormalization / SkipSimplifiedLayerNormalization (RMSNorm with the residual add
/// fused), Q/K/V/O projections, GroupQueryAttention with the KV cache and rotary embedding inside it, SwiGLU
/// MLP; final norm and LM head. Projections are MatMulNBits (4-bit, symmetric, block 32/64/128) or plain fp32
/// MatMul. Inputs and outputs follow ONNX Runtime GenAI's names so the same files run under both engines.
/// </summary>
public static class LlamaBuilder
{
    /// <summary>Bumped whenever the graph changes, so cached models built by an older builder are not reused.</summary>
    public const int GraphVersion = 4;

    public static BuiltModel Build(ModelSpec spec, string directory)
    {
        if (spec.Problem() is { } problem) throw new ArgumentException($"model spec '{spec.Preset}': {problem}");
        Directory.CreateDirectory(directory);
        var s = spec.Shape;
        var g = new OnnxGraph($"perflab-llama-{spec.Preset}");
        var weightsPath = Path.Combine(directory, BuiltModel.WeightsFileName);
        long streamed = 0;
        using (var w = new WeightsFile(weightsPath))
        {
            g.Input("input_ids", ElementType.Int64, "batch_size", "sequence_length");
            g.Input("attention_mask", ElementType.Int64, "batch_size", "total_sequence_length");
            for (var i = 0; i < s.Layers; i++)
            {
                g.Input($"past_key_values.{i}.key", ElementType.Float, "batch_size", s.KvHeads, "past_sequence_length", s.HeadSize);
                g.Input($"past_key_values.{i}.value", ElementType.Float, "batch_size", s.KvHeads, "past_sequence_length", s.HeadSize);
            }
            // The last position's logits only: a prompt's other positions need none, and their LM head was most of a tiny
            // model's prefill (64 × vocab × hidden; 12.9 MB of logits per 64-token prompt).
            g.Output("logits", ElementType.Float, "batch_size", 1, s.Vocab);
            for (var i = 0; i < s.Layers; i++)
            {
                g.Output($"present.{i}.key", ElementType.Float, "batch_size", s.KvHeads, "total_sequence_length", s.HeadSize);
                g.Output($"present.{i}.value", ElementType.Float, "batch_size", s.KvHeads, "total_sequence_length", s.HeadSize);
            }

            // GroupQueryAttention wants the last position (seqlens_k) and the total length as int32. Both come from
            // the mask's sum, not its shape, so an engine may pass a fixed-size mask padded with zeros and never
            // rebind it (GenAI passes a mask of the current length; the sums agree).
            g.ConstantInt64("one_i64", [1], [1]);
            g.ConstantInt64("axis1_i64", [1], [1]);
            g.Node("ReduceSum", ["attention_mask", "axis1_i64"], ["mask_sum"], "", new Attr.I("keepdims", 0));
            g.Node("Sub", ["mask_sum", "one_i64"], ["seqlens_k_i64"]);
            g.Node("Cast", ["seqlens_k_i64"], ["seqlens_k"], "", new Attr.I("to", (int)ElementType.Int32));
            g.Node("ReduceMax", ["mask_sum"], ["total_len_i64"], "", new Attr.I("keepdims", 0));
            g.Node("Cast", ["total_len_i64"], ["total_sequence_length"], "", new Attr.I("to", (int)ElementType.Int32));

            Rotary(w, s);
            g.External(Embedding(w, spec), BuiltModel.WeightsFileName);
            g.Node("Gather", ["model.embed_tokens.weight", "input_ids"], ["hidden_0"], "", new Attr.I("axis", 0));

            string residual = "hidden_0", pending = "";
            for (var i = 0; i < s.Layers; i++)
            {
                var p = $"model.layers.{i}";
                var attnNorm = Norm(w, $"{p}.input_layernorm.weight", s.Hidden);
                string x;
                if (i == 0)
                    x = g.Node("SimplifiedLayerNormalization", [residual, attnNorm], [$"{p}.attn_norm"], "",
                        new Attr.I("axis", -1), new Attr.F("epsilon", s.RmsEpsilon), new Attr.I("stash_type", 1));
                else
                {
                    x = g.Node("SkipSimplifiedLayerNormalization", [pending, residual, attnNorm], [$"{p}.attn_norm", "", "", $"{p}.residual_attn"],
                        "com.microsoft", new Attr.F("epsilon", s.RmsEpsilon));
                    residual = $"{p}.residual_attn";
                }
                // Packed: one projection of hidden + 2 × kv_hidden outputs, which GroupQueryAttention splits itself. Two
                // kernels fewer per layer, and the small K and V matrices (N = kv_hidden) no longer run alone.
                string[] qkv = spec.PackedQkv
                    ? [Linear(g, w, spec, x, $"{p}.self_attn.qkv_proj", s.Hidden, [($"{p}.self_attn.q_proj", s.Hidden), ($"{p}.self_attn.k_proj", s.KvHidden), ($"{p}.self_attn.v_proj", s.KvHidden)], ref streamed), "", ""]
                    : [Linear(g, w, spec, x, $"{p}.self_attn.q_proj", s.Hidden, s.Hidden, ref streamed), Linear(g, w, spec, x, $"{p}.self_attn.k_proj", s.Hidden, s.KvHidden, ref streamed),
                        Linear(g, w, spec, x, $"{p}.self_attn.v_proj", s.Hidden, s.KvHidden, ref streamed)];
                var attn = g.Node("GroupQueryAttention",
                    [qkv[0], qkv[1], qkv[2], $"past_key_values.{i}.key", $"past_key_values.{i}.value", "seqlens_k", "total_sequence_length", "cos_cache", "sin_cache"],
                    [$"{p}.attn", $"present.{i}.key", $"present.{i}.value"], "com.microsoft",
                    new Attr.I("num_heads", s.Heads), new Attr.I("kv_num_heads", s.KvHeads), new Attr.I("do_rotary", 1), new Attr.I("rotary_interleaved", 0));
                var o = Linear(g, w, spec, attn, $"{p}.self_attn.o_proj", s.Hidden, s.Hidden, ref streamed);
                var mlpNorm = Norm(w, $"{p}.post_attention_layernorm.weight", s.Hidden);
                var x2 = g.Node("SkipSimplifiedLayerNormalization", [o, residual, mlpNorm], [$"{p}.mlp_norm", "", "", $"{p}.residual_mlp"],
                    "com.microsoft", new Attr.F("epsilon", s.RmsEpsilon));
                residual = $"{p}.residual_mlp";
                var gate = Linear(g, w, spec, x2, $"{p}.mlp.gate_proj", s.Hidden, s.Intermediate, ref streamed);
                var up = Linear(g, w, spec, x2, $"{p}.mlp.up_proj", s.Hidden, s.Intermediate, ref streamed);
                g.Node("Sigmoid", [gate], [$"{p}.mlp.gate_sigmoid"]);
                g.Node("Mul", [gate, $"{p}.mlp.gate_sigmoid"], [$"{p}.mlp.gate_silu"]);
                g.Node("Mul", [$"{p}.mlp.gate_silu", up], [$"{p}.mlp.act"]);
                pending = Linear(g, w, spec, $"{p}.mlp.act", $"{p}.mlp.down_proj", s.Intermediate, s.Hidden, ref streamed);
            }
            var finalNorm = Norm(w, "model.norm.weight", s.Hidden);
            var normed = g.Node("SkipSimplifiedLayerNormalization", [pending, residual, finalNorm], ["final_norm", "", "", ""],
                "com.microsoft", new Attr.F("epsilon", s.RmsEpsilon));
            g.ConstantInt64("last_start", [1], [-1]);
            g.ConstantInt64("last_end", [1], [long.MaxValue]);
            g.Node("Slice", [normed, "last_start", "last_end", "axis1_i64"], ["final_norm_last"]);
            var logits = Linear(g, w, spec, "final_norm_last", "lm_head", s.Hidden, s.Vocab, ref streamed);
            g.Node("Identity", [logits], ["logits"]);

            foreach (var t in w.Tensors.Where(t => t.Name != "model.embed_tokens.weight")) g.External(t, BuiltModel.WeightsFileName);
            var modelPath = Path.Combine(directory, BuiltModel.ModelFile);
            var modelBytes = g.ToModel("perflab");
            File.WriteAllBytes(modelPath, modelBytes);
            var manifest = new ModelManifest(1, spec.Preset, s, spec.Format.ToString().ToLowerInvariant(), spec.BlockSize, spec.AccuracyLevel, spec.Seed,
                BuiltModel.ModelFile, Convert.ToHexStringLower(SHA256.HashData(modelBytes)), BuiltModel.WeightsFileName, w.Length, streamed, w.Entries);
            var manifestPath = Path.Combine(directory, BuiltModel.ManifestFile);
            File.WriteAllText(manifestPath, JsonSerializer.Serialize(manifest, ModelManifest.Json));
            File.WriteAllText(Path.Combine(directory, BuiltModel.GenAiConfigFile), GenAiConfig(s));
            return new BuiltModel(directory, modelPath, weightsPath, manifestPath, spec, w.Length, streamed);
        }
    }

    private static void Rotary(WeightsFile w, LlamaShape s)
    {
        var half = s.HeadSize / 2;
        var cos = new float[s.MaxSequence * half];
        var sin = new float[s.MaxSequence * half];
        for (var pos = 0; pos < s.MaxSequence; pos++)
        for (var i = 0; i < half; i++)
        {
            var angle = pos * Math.Pow(s.RopeTheta, -2.0 * i / s.HeadSize);
            cos[pos * half + i] = (float)Math.Cos(angle);
            sin[pos * half + i] = (float)Math.Sin(angle);
        }
        w.Add("cos_cache", ElementType.Float, [s.MaxSequence, half], MemoryMarshal.AsBytes(cos.AsSpan()));
        w.Add("sin_cache", ElementType.Float, [s.MaxSequence, half], MemoryMarshal.AsBytes(sin.AsSpan()));
    }

    private static ExternalTensor Embedding(WeightsFile w, ModelSpec spec)
    {
        var s = spec.Shape;
        var table = new float[(long)s.Vocab * s.Hidden];
        Parallel.For(0, s.Vocab, r => Weights.FillRow(table.AsSpan(r * s.Hidden, s.Hidden), Weights.RowSeed(spec.Seed, "model.embed_tokens.weight", r), 1f));
        return w.Add("model.embed_tokens.weight", ElementType.Float, [s.Vocab, s.Hidden], MemoryMarshal.AsBytes(table.AsSpan()));
    }

    private static string Norm(WeightsFile w, string name, int size)
    {
        var ones = Enumerable.Repeat(1f, size).ToArray();
        w.Add(name, ElementType.Float, [size], MemoryMarshal.AsBytes(ones.AsSpan()));
        return name;
    }

    private static string Linear(OnnxGraph g, WeightsFile w, ModelSpec spec, string x, string name, int k, int n, ref long streamed) =>
        Linear(g, w, spec, x, name, k, [(name, n)], ref streamed);

    /// <summary>
    /// y = x·W for W of K inputs and N outputs, as MatMulNBits or fp32 MatMul; counts the bytes a token streams. W may be
    /// several matrices side by side (parts): each part's columns are drawn under its own name, so a packed projection
    /// holds exactly the weights of the separate ones.
    /// </summary>
    private static string Linear(OnnxGraph g, WeightsFile w, ModelSpec spec, string x, string name, int k, (string Name, int N)[] parts, ref long streamed)
    {
        var n = parts.Sum(p => p.N);
        var seedName = new string[n];
        var seedRow = new int[n];
        for (int pi = 0, c = 0; pi < parts.Length; pi++)
        for (var r = 0; r < parts[pi].N; r++, c++) (seedName[c], seedRow[c]) = (parts[pi].Name, r);
        var scale = 1f / MathF.Sqrt(k);
        if (spec.Format == WeightFormat.Fp32)
        {
            var wt = new float[(long)k * n]; // [K][N], what MatMul wants
            Parallel.For(0, n, col =>
            {
                Span<float> row = new float[k];
                Weights.FillRow(row, Weights.RowSeed(spec.Seed, seedName[col], seedRow[col]), scale);
                for (var i = 0; i < k; i++) wt[(long)i * n + col] = row[i];
            });
            w.Add(name + ".weight", ElementType.Float, [k, n], MemoryMarshal.AsBytes(wt.AsSpan()));
            streamed += (long)k * n * 4;
            g.Node("MatMul", [x, name + ".weight"], [name + ".out"]);
            return name + ".out";
        }
        var bs = spec.BlockSize;
        var blocks = (k + bs - 1) / bs;
        var blob = bs / 2;
        var nibbles = new byte[(long)n * blocks * blob];
        var scales = new float[(long)n * blocks];
        Parallel.For(0, n, col =>
        {
            Span<float> row = new float[k];
            Weights.FillRow(row, Weights.RowSeed(spec.Seed, seedName[col], seedRow[col]), scale);
            Weights.QuantizeRow(row, bs, nibbles.AsSpan((int)((long)col * blocks * blob), blocks * blob), scales.AsSpan(col * blocks, blocks));
        });
        w.Add(name + ".qweight", ElementType.UInt8, [n, blocks, blob], nibbles);
        w.Add(name + ".scales", ElementType.Float, [n * (long)blocks], MemoryMarshal.AsBytes(scales.AsSpan()));
        streamed += nibbles.LongLength + scales.LongLength * 4;
        g.Node("MatMulNBits", [x, name + ".qweight", name + ".scales"], [name + ".out"], "com.microsoft",
            new Attr.I("K", k), new Attr.I("N", n), new Attr.I("bits", 4), new Attr.I("block_size", bs), new Attr.I("accuracy_level", spec.AccuracyLevel));
        return name + ".out";
    }

    /// <summary>The minimal genai_config.json ONNX Runtime GenAI needs to run the same files as a "llama" decoder.</summary>
    private static string GenAiConfig(LlamaShape s) => JsonSerializer.Serialize(new
    {
        model = new
        {
            bos_token_id = 50256, eos_token_id = 50256, pad_token_id = 50256, context_length = s.MaxSequence, vocab_size = s.Vocab, type = "llama",
            decoder = new
            {
                filename = BuiltModel.ModelFile, head_size = s.HeadSize, hidden_size = s.Hidden, num_attention_heads = s.Heads,
                num_hidden_layers = s.Layers, num_key_value_heads = s.KvHeads,
                session_options = new { log_id = "onnxruntime-genai", provider_options = Array.Empty<object>() },
                inputs = new { input_ids = "input_ids", attention_mask = "attention_mask", past_key_names = "past_key_values.%d.key", past_value_names = "past_key_values.%d.value" },
                outputs = new { logits = "logits", present_key_names = "present.%d.key", present_value_names = "present.%d.value" },
            },
        },
        search = new
        {
            diversity_penalty = 0.0, do_sample = false, early_stopping = true, length_penalty = 1.0, max_length = s.MaxSequence, min_length = 0,
            no_repeat_ngram_size = 0, num_beams = 1, num_return_sequences = 1, past_present_share_buffer = false, repetition_penalty = 1.0,
            temperature = 1.0, top_k = 1, top_p = 1.0,
        },
    }, new JsonSerializerOptions { WriteIndented = true });
}
