using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using PerfLab.Llm.Model;

namespace PerfLab.Llm.Gguf;

/// <summary>
/// Writes the same Llama shapes as <see cref="LlamaBuilder"/> as GGUF for llama.cpp (architecture "llama"), Q4_0 or F16,
/// from the same synthetic weights: every row is drawn from the same seed under the same tensor name, so the ONNX and
/// GGUF files quantize one set of fp32 weights two ways. All matrices, the LM head and the embedding take the file's type
/// (a Q4_0 file streams 18 bytes per 32 weights; our int4 block 32, 20); norms are F32. No tokenizer is written
/// (tokenizer.ggml.model "none" with the vocabulary's size): the lab feeds token ids, as it does to ONNX Runtime.
/// Two differences that change no cost: llama.cpp's llama architecture rotates adjacent pairs where our ONNX graph rotates
/// halves, and the text either model writes is meaningless anyway.
/// </summary>
public static class GgufBuilder
{
    /// <summary>Bumped whenever the file changes, so cached files of an older builder are not reused.</summary>
    public const int FileVersion = 1;
    public const string FileName = "model.gguf";

    public static BuiltModel Build(ModelSpec spec, string directory)
    {
        if (spec.Problem() is { } problem) throw new ArgumentException($"model spec '{spec.Preset}': {problem}");
        if (spec.Format is not (WeightFormat.Q4_0 or WeightFormat.F16)) throw new ArgumentException($"{spec.Format} is not a GGUF type (q4_0, f16)");
        var s = spec.Shape;
        var type = spec.Format == WeightFormat.Q4_0 ? GgmlType.Q4_0 : GgmlType.F16;
        Directory.CreateDirectory(directory);
        var w = new GgufWriter();
        w.Add("general.architecture", "llama");
        w.Add("general.name", $"perflab-llama-{spec.Preset}");
        w.Add("general.file_type", type == GgmlType.Q4_0 ? 2u : 1u); // LLAMA_FTYPE_MOSTLY_Q4_0 / _F16
        w.Add("llama.context_length", (uint)s.MaxSequence);
        w.Add("llama.embedding_length", (uint)s.Hidden);
        w.Add("llama.block_count", (uint)s.Layers);
        w.Add("llama.feed_forward_length", (uint)s.Intermediate);
        w.Add("llama.rope.dimension_count", (uint)s.HeadSize);
        w.Add("llama.rope.freq_base", s.RopeTheta);
        w.Add("llama.attention.head_count", (uint)s.Heads);
        w.Add("llama.attention.head_count_kv", (uint)s.KvHeads);
        w.Add("llama.attention.layer_norm_rms_epsilon", s.RmsEpsilon);
        w.Add("llama.vocab_size", (uint)s.Vocab);
        w.Add("tokenizer.ggml.model", "none");

        // (gguf name, the ONNX builder's name whose seeds it shares, K inputs, N outputs); N 0: a norm of K ones.
        var tensors = new List<(string Gguf, string Seed, int K, int N)>
        {
            ("token_embd.weight", "model.embed_tokens.weight", s.Hidden, s.Vocab),
        };
        for (var i = 0; i < s.Layers; i++)
        {
            var p = $"model.layers.{i}";
            tensors.Add(($"blk.{i}.attn_norm.weight", "", s.Hidden, 0));
            tensors.Add(($"blk.{i}.attn_q.weight", $"{p}.self_attn.q_proj", s.Hidden, s.Hidden));
            tensors.Add(($"blk.{i}.attn_k.weight", $"{p}.self_attn.k_proj", s.Hidden, s.KvHidden));
            tensors.Add(($"blk.{i}.attn_v.weight", $"{p}.self_attn.v_proj", s.Hidden, s.KvHidden));
            tensors.Add(($"blk.{i}.attn_output.weight", $"{p}.self_attn.o_proj", s.Hidden, s.Hidden));
            tensors.Add(($"blk.{i}.ffn_norm.weight", "", s.Hidden, 0));
            tensors.Add(($"blk.{i}.ffn_gate.weight", $"{p}.mlp.gate_proj", s.Hidden, s.Intermediate));
            tensors.Add(($"blk.{i}.ffn_up.weight", $"{p}.mlp.up_proj", s.Hidden, s.Intermediate));
            tensors.Add(($"blk.{i}.ffn_down.weight", $"{p}.mlp.down_proj", s.Intermediate, s.Hidden));
        }
        tensors.Add(("output_norm.weight", "", s.Hidden, 0));
        tensors.Add(("output.weight", "lm_head", s.Hidden, s.Vocab));
        foreach (var t in tensors)
        {
            if (t.N == 0) w.Declare(t.Gguf, GgmlType.F32, t.K);
            else w.Declare(t.Gguf, type, t.K, t.N);
        }

        var path = Path.Combine(directory, FileName);
        var entries = new List<TensorEntry>();
        long streamed = 0;
        using (var f = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            var placed = w.WriteHeader(f, out var header);
            // The header (metadata and tensor infos) is hashed like a tensor, so verification covers every byte of the file.
            entries.Add(Entry("gguf.header", "header", [], 0, (header.LongLength, SHA256.HashData(header))));
            for (var i = 0; i < tensors.Count; i++)
            {
                var (name, seedName, k, n) = tensors[i];
                // The ONNX builder's scales: 1 for the embedding, 1/√K for a projection.
                var bytes = n == 0 ? Ones(k) : Matrix(spec, type, seedName, k, n, name == "token_embd.weight" ? 1f : 1f / MathF.Sqrt(k));
                GgufWriter.WriteTensor(f, placed[i], bytes);
                entries.Add(Entry(name, placed[i].Type.ToString().ToLowerInvariant(), placed[i].Dims, placed[i].Offset, (bytes.LongLength, SHA256.HashData(bytes))));
                if (n != 0 && name != "token_embd.weight") streamed += bytes.LongLength;
            }
        }
        var length = new FileInfo(path).Length;
        var manifest = new ModelManifest(1, spec.Preset, s, spec.FormatName, 32, 0, spec.Seed, FileName, entries[0].Sha256, FileName, length, streamed, entries,
            FileVersion);
        File.WriteAllText(Path.Combine(directory, BuiltModel.ManifestFile), JsonSerializer.Serialize(manifest, ModelManifest.Json));
        return new BuiltModel(directory, path, path, Path.Combine(directory, BuiltModel.ManifestFile), spec, length, streamed);
    }

    private static TensorEntry Entry(string name, string dtype, long[] dims, long offset, (long Length, byte[] Sha) h) =>
        new(name, dtype, dims, offset, h.Length, Convert.ToHexStringLower(h.Sha));

    private static byte[] Ones(int n) => MemoryMarshal.AsBytes(Enumerable.Repeat(1f, n).ToArray().AsSpan()).ToArray();

    /// <summary>N rows of K weights (row n = output n, drawn as the ONNX builder draws it), quantized to the file's type.</summary>
    private static byte[] Matrix(ModelSpec spec, GgmlType type, string seedName, int k, int n, float scale)
    {
        var rowBytes = (int)GgufWriter.ByteSize(type, [k]);
        var bytes = new byte[(long)rowBytes * n];
        Parallel.For(0, n, row =>
        {
            Span<float> x = new float[k];
            Weights.FillRow(x, Weights.RowSeed(spec.Seed, seedName, row), scale);
            var dst = bytes.AsSpan((int)((long)row * rowBytes), rowBytes);
            if (type == GgmlType.Q4_0) Q40.QuantizeRow(x, dst);
            else
                for (var j = 0; j < k; j++) System.Buffers.Binary.BinaryPrimitives.WriteHalfLittleEndian(dst.Slice(j * 2), (Half)x[j]);
        });
        return bytes;
    }
}
