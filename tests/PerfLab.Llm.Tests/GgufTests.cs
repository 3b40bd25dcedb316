using System.Runtime.InteropServices;
using System.Security.Cryptography;
using PerfLab.Llm.Gguf;
using PerfLab.Llm.Inference;
using PerfLab.Llm.Model;

namespace PerfLab.Llm.Tests;

/// <summary>
/// Our GGUF writer read back by ggml's own reader (libggml-base from LLamaSharp's CPU backend, called directly): the
/// same tensors, types, shapes and metadata, and every tensor's bytes where ggml says they are hash to what we wrote.
/// </summary>
[Collection("tiny models")]
public class GgufTests(TinyModels models)
{
    [Fact]
    public void Ggml_reads_back_every_tensor_and_its_bytes_round_trip()
    {
        var manifest = ModelFiles.ReadManifest(models.Q40.Directory);
        var path = Path.Combine(models.Q40.Directory, GgufBuilder.FileName);
        var ctx = GgmlGguf.gguf_init_from_file(path, new GgmlGguf.InitParams { NoAlloc = true, Ctx = IntPtr.Zero });
        Assert.NotEqual(IntPtr.Zero, ctx);
        try
        {
            var tensors = manifest.Tensors.Where(t => t.Name != "gguf.header").ToList();
            Assert.Equal(tensors.Count, GgmlGguf.gguf_get_n_tensors(ctx));
            var dataStart = (long)GgmlGguf.gguf_get_data_offset(ctx);
            using var file = File.OpenRead(path);
            for (var i = 0; i < tensors.Count; i++)
            {
                var name = Marshal.PtrToStringUTF8(GgmlGguf.gguf_get_tensor_name(ctx, i))!;
                var mine = tensors.Single(t => t.Name == name);
                Assert.Equal(mine.Offset, dataStart + (long)GgmlGguf.gguf_get_tensor_offset(ctx, i));
                Assert.Equal(mine.Length, (long)GgmlGguf.gguf_get_tensor_size(ctx, i));
                Assert.Equal(mine.Dtype, ((GgmlType)GgmlGguf.gguf_get_tensor_type(ctx, i)).ToString().ToLowerInvariant());
                var bytes = new byte[mine.Length];
                file.Position = dataStart + (long)GgmlGguf.gguf_get_tensor_offset(ctx, i);
                file.ReadExactly(bytes);
                Assert.Equal(mine.Sha256, Convert.ToHexStringLower(SHA256.HashData(bytes)));
            }
            var s = manifest.Shape;
            Assert.Equal("llama", Marshal.PtrToStringUTF8(GgmlGguf.gguf_get_val_str(ctx, GgmlGguf.gguf_find_key(ctx, "general.architecture"))));
            Assert.Equal((uint)s.Layers, GgmlGguf.gguf_get_val_u32(ctx, GgmlGguf.gguf_find_key(ctx, "llama.block_count")));
            Assert.Equal((uint)s.KvHeads, GgmlGguf.gguf_get_val_u32(ctx, GgmlGguf.gguf_find_key(ctx, "llama.attention.head_count_kv")));
            Assert.Equal((uint)s.Vocab, GgmlGguf.gguf_get_val_u32(ctx, GgmlGguf.gguf_find_key(ctx, "llama.vocab_size")));
        }
        finally { GgmlGguf.gguf_free(ctx); }
        // And the manifest's own check passes over the whole file (header included).
        ModelFiles.Verify(models.Q40.Directory);
    }

    [Fact]
    public void A_changed_header_byte_fails_verification_naming_the_header()
    {
        var dir = Path.Combine(models.Root, "tiny-q4_0-tampered");
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(models.Q40.Directory)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)), true);
        using (var f = File.Open(Path.Combine(dir, GgufBuilder.FileName), FileMode.Open))
        {
            f.Position = 40; // inside the first key's name
            var b = f.ReadByte();
            f.Position = 40;
            f.WriteByte((byte)(b ^ 0x20));
        }
        var e = Assert.Throws<InvalidDataException>(() => ModelFiles.Verify(dir));
        Assert.Contains("gguf.header", e.Message);
    }

    [Fact]
    public void Q4_0_blocks_hold_each_weight_within_half_a_step_and_the_extreme_exactly()
    // Half a step where the nibble is not clamped; a weight of the other sign than the block's extreme can need q = −8·sign,
    // which Q4_0 clamps to 7 steps, so it may be off by up to a whole step (ggml's format, not our rounding).
    {
        var rng = new Random(5);
        var row = Enumerable.Range(0, 96).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        row[40] = -1.5f;                                  // the second block's extreme, negative
        var q = new byte[3 * Q40.BlockBytes];
        Q40.QuantizeRow(row, q);
        var back = new float[row.Length];
        Q40.DequantizeRow(q, back);
        for (var b = 0; b < 3; b++)
        {
            var d = Math.Abs((float)BitConverter.ToHalf(q, b * Q40.BlockBytes));
            for (var j = 0; j < 32; j++)
            {
                var x = row[b * 32 + j];
                var bound = Math.Abs(x) <= 7 * d ? d / 2 : d;
                Assert.True(Math.Abs(back[b * 32 + j] - x) <= bound * 1.01f + 1e-3f, $"weight {b * 32 + j}: {x} came back {back[b * 32 + j]} (step {d})");
            }
        }
        Assert.Equal(-1.5f, back[40], 2);
        Assert.Equal(18 * 3, (int)GgufWriter.ByteSize(GgmlType.Q4_0, [96]));
        Assert.Throws<ArgumentException>(() => GgufWriter.ByteSize(GgmlType.Q4_0, [48]));
    }
}

/// <summary>ggml's GGUF reader, from the libggml-base that LLamaSharp's CPU backend ships (the test's independent reader).</summary>
internal static partial class GgmlGguf
{
    [StructLayout(LayoutKind.Sequential)]
    public struct InitParams
    {
        [MarshalAs(UnmanagedType.U1)] public bool NoAlloc;
        public IntPtr Ctx;
    }

    static GgmlGguf() => NativeLibrary.SetDllImportResolver(typeof(GgmlGguf).Assembly, (name, _, _) =>
        name == "ggml-base" ? NativeLibrary.Load(Locate()) : IntPtr.Zero);

    /// <summary>The backend's libggml-base for this machine: the copy under runtimes/ of the test's output.</summary>
    private static string Locate()
    {
        var root = Path.Combine(AppContext.BaseDirectory, "runtimes");
        var found = Directory.Exists(root) ? Directory.GetFiles(root, "libggml-base.so", SearchOption.AllDirectories) : [];
        var arch = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64";
        return found.Where(f => f.Contains(arch)).OrderBy(f => f.Contains("noavx") ? 2 : f.Contains("avx512") ? 1 : 0).FirstOrDefault()
               ?? throw new FileNotFoundException($"libggml-base.so for {arch} not found under {root}");
    }

    [DllImport("ggml-base")] public static extern IntPtr gguf_init_from_file([MarshalAs(UnmanagedType.LPUTF8Str)] string path, InitParams p);
    [DllImport("ggml-base")] public static extern void gguf_free(IntPtr ctx);
    [DllImport("ggml-base")] public static extern long gguf_get_n_tensors(IntPtr ctx);
    [DllImport("ggml-base")] public static extern nuint gguf_get_data_offset(IntPtr ctx);
    [DllImport("ggml-base")] public static extern IntPtr gguf_get_tensor_name(IntPtr ctx, long i);
    [DllImport("ggml-base")] public static extern nuint gguf_get_tensor_offset(IntPtr ctx, long i);
    [DllImport("ggml-base")] public static extern nuint gguf_get_tensor_size(IntPtr ctx, long i);
    [DllImport("ggml-base")] public static extern int gguf_get_tensor_type(IntPtr ctx, long i);
    [DllImport("ggml-base")] public static extern long gguf_find_key(IntPtr ctx, [MarshalAs(UnmanagedType.LPUTF8Str)] string key);
    [DllImport("ggml-base")] public static extern IntPtr gguf_get_val_str(IntPtr ctx, long i);
    [DllImport("ggml-base")] public static extern uint gguf_get_val_u32(IntPtr ctx, long i);
}

/// <summary>The engines side by side on the same tiny shape: llama.cpp through LLamaSharp, and batching in both engines.</summary>
[Collection("tiny models")]
public class LlamaCppAndBatchingTests(TinyModels models, Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly long[][] Prompts =
        [[464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13, 198, 40], [40, 588, 257], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]];

    [Fact]
    public void Llama_cpp_loads_our_gguf_and_generates_the_requested_tokens_deterministically()
    {
        using var e = new LlamaCppEngine(models.Q40.Directory, 1, 128);
        var a = new List<int>();
        Assert.Equal(24, e.Generate(Prompts[0], 24, a.Add));
        var b = new List<int>();
        e.Generate(Prompts[0], 24, b.Add);
        Assert.Equal(24, a.Count);
        Assert.Equal(a, b);
        Assert.All(a, t => Assert.InRange(t, 0, ModelSpec.Gpt2Vocab - 1));
        // Not a constant answer: a model that loaded as zeros would repeat one token.
        Assert.True(a.Distinct().Count() > 1, string.Join(",", a));
        output.WriteLine(string.Join(",", a));
    }

    [Fact]
    public void An_f16_file_of_the_same_weights_loads_and_reads_back_as_f16()
    {
        var f16 = Gguf.GgufBuilder.Build(ModelSpec.FromPreset("tiny", WeightFormat.F16), Path.Combine(models.Root, "tiny-f16"));
        ModelFiles.Verify(f16.Directory);
        var m = ModelFiles.ReadManifest(f16.Directory);
        var q = m.Tensors.Single(t => t.Name == "blk.0.attn_q.weight");
        Assert.Equal("f16", q.Dtype);
        Assert.Equal((long)m.Shape.Hidden * m.Shape.Hidden * 2, q.Length);
        // F16 holds the fp32 weights to within half an F16 step: the same draw as the ONNX fp32 file's q_proj row 0.
        using (var file = File.OpenRead(Path.Combine(f16.Directory, Gguf.GgufBuilder.FileName)))
        {
            var row = new byte[m.Shape.Hidden * 2];
            file.Position = q.Offset;
            file.ReadExactly(row);
            var want = new float[m.Shape.Hidden];
            Weights.FillRow(want, Weights.RowSeed(1, "model.layers.0.self_attn.q_proj", 0), 1f / MathF.Sqrt(m.Shape.Hidden));
            for (var j = 0; j < want.Length; j++)
            {
                var got = (float)BitConverter.ToHalf(row, j * 2);
                // F16 keeps 11 significant bits: half a step is 2^-11 of the value (and subnormals are below 1e-7).
                Assert.True(Math.Abs(got - want[j]) <= Math.Abs(want[j]) / 2048 + 1e-7, $"weight {j}: {want[j]} stored as {got}");
            }
        }
        using var e = new LlamaCppEngine(f16.Directory, 1, 64);
        var tokens = new List<int>();
        Assert.Equal(8, e.Generate(Prompts[0], 8, tokens.Add));
        Assert.True(tokens.Distinct().Count() > 1, string.Join(",", tokens));
    }

    [Fact]
    public void Our_batched_decoder_gives_each_sequence_the_tokens_it_gets_alone()
    {
        using var d = new OrtDecoder(models.Fp32.Directory);
        var alone = Prompts.Select(p => Alone(new OrtGreedyEngine(d, dispose: false), p, 16)).ToArray();
        using var batched = new OrtBatchDecoder(d, 4, 128);
        AssertBatchedMatches(batched, alone);
    }

    [Fact]
    public void Llama_cpp_batched_gives_each_sequence_the_tokens_it_gets_alone()
    {
        using var e = new LlamaCppEngine(models.Q40.Directory, 1, 128);
        var alone = Prompts.Select(p => Alone(e, p, 16)).ToArray();
        using var batched = e.Batched(4);
        AssertBatchedMatches(batched, alone);
    }

    private static List<int> Alone(IGreedyEngine e, long[] prompt, int n)
    {
        var tokens = new List<int>();
        e.Generate(prompt, n, tokens.Add);
        return tokens;
    }

    /// <summary>
    /// Sequences join at different steps and the first leaves early, so rows move (ours) and sequence ids are reused
    /// (llama.cpp) while others are mid-answer; each must still get exactly its own tokens.
    /// </summary>
    private void AssertBatchedMatches(IBatchedEngine batched, List<int>[] alone)
    {
        var got = alone.Select(_ => new List<int>()).ToArray();
        var want = new[] { 6, 16, 16 };            // sequence 0 stops after 6 tokens, then its slot is reused
        var live = new List<(int Seq, int Slot)>();
        void Join(int seq, int slot) { got[seq].Add(batched.Start(slot, Prompts[seq])); live.Add((seq, slot)); }
        Join(0, 0);
        Join(1, 1);
        for (var step = 0; live.Count > 0; step++)
        {
            if (step == 7) Join(2, 0 + 2);
            var slots = live.Select(l => l.Slot).ToArray();
            var last = live.Select(l => got[l.Seq][^1]).ToArray();
            var next = new int[slots.Length];
            batched.Step(slots, last, next);
            for (var i = live.Count - 1; i >= 0; i--)
            {
                got[live[i].Seq].Add(next[i]);
                if (got[live[i].Seq].Count < want[live[i].Seq]) continue;
                batched.Release(live[i].Slot);
                live.RemoveAt(i);
            }
        }
        for (var s = 0; s < alone.Length; s++)
        {
            output.WriteLine($"{batched.Name} sequence {s}: alone {string.Join(",", alone[s].Take(want[s]))} | batched {string.Join(",", got[s])}");
            Assert.Equal(alone[s].Take(want[s]), got[s]);
        }
    }
}
