using PerfLab.Llm.Inference;
using PerfLab.Llm.Model;

namespace PerfLab.Llm.Tests;

[Collection("tiny models")]
public class DecoderTests(TinyModels models, Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly long[] Prompt = [464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13, 198, 40];

    [Fact]
    public void A_prompt_prefilled_whole_and_one_token_at_a_time_give_the_same_logits()
    {
        // Prefill returns the last position's logits: each prefix prefilled whole must match the incremental decode's step.
        using var d = new OrtDecoder(models.Fp32.Directory);
        var v = d.Shape.Vocab;
        using var inc = d.NewSequence(64);
        var stepped = new List<float[]> { inc.Prefill(Prompt.AsSpan(0, 1)).ToArray() };
        for (var t = 1; t < Prompt.Length; t++) stepped.Add(inc.Step(Prompt[t]).ToArray());
        var maxDiff = 0.0;
        for (var t = 1; t <= Prompt.Length; t++)
        {
            using var whole = d.NewSequence(64);
            var last = whole.Prefill(Prompt.AsSpan(0, t));
            Assert.Equal(v, last.Length);
            for (var j = 0; j < v; j++) maxDiff = Math.Max(maxDiff, Math.Abs(last[j] - stepped[t - 1][j]));
        }
        output.WriteLine($"max |whole − incremental| over {Prompt.Length} prefixes × {v} logits: {maxDiff:E2}");
        Assert.True(maxDiff <= 1e-4, $"max difference {maxDiff}");
        Assert.True(stepped[^1].Any(x => Math.Abs(x) > 1e-3), "logits are not all zero");
    }
}

[Collection("tiny models")]
public class PackedQkvTests(TinyModels models)
{
    [Fact]
    public void Packing_q_k_and_v_into_one_projection_changes_no_logit()
    {
        var unpacked = LlamaBuilder.Build(ModelSpec.FromPreset("tiny", WeightFormat.Fp32) with { PackedQkv = false }, Path.Combine(models.Root, "tiny-fp32-unpacked"));
        float[] Logits(string dir)
        {
            using var d = new OrtDecoder(dir);
            using var seq = d.NewSequence(32);
            var l = seq.Prefill([464, 2068, 7586, 21831]).ToArray();
            return [.. l, .. seq.Step(18045)];
        }
        var a = Logits(models.Fp32.Directory);
        var b = Logits(unpacked.Directory);
        Assert.Equal(a.Length, b.Length);
        var maxDiff = a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
        Assert.True(maxDiff <= 1e-4, $"max difference {maxDiff}");
        Assert.NotEqual(ModelFiles.ReadManifest(models.Fp32.Directory).ModelSha256, ModelFiles.ReadManifest(unpacked.Directory).ModelSha256);
    }
}

[Collection("tiny models")]
public class AllocationTests(TinyModels models)
{
    [Fact]
    public void A_decode_step_allocates_no_managed_memory()
    {
        using var d = new OrtDecoder(models.Int4.Directory);
        using var seq = d.NewSequence(256);
        var logits = seq.Prefill([464, 2068, 7586]);
        var next = DecoderSequence.ArgMax(logits);
        next = DecoderSequence.ArgMax(seq.Step(next)); // the first step binds the step buffers once
        // Steady state: a step that allocated would allocate in every window of 32 steps. On a busy host a one-off
        // runtime allocation (a method's tier-up, delayed by the load) can land in one window (seen: 7,616 bytes), so
        // the quietest of four windows must be clean.
        var windows = new List<long>();
        for (var w = 0; w < 4; w++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 32; i++) next = DecoderSequence.ArgMax(seq.Step(next));
            windows.Add(GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.True(windows.Min() == 0, $"bytes allocated per window of 32 decode steps: {string.Join(", ", windows)}");
    }

    [Fact]
    public void A_prefill_does_not_allocate_its_logits_afresh()
    {
        using var d = new OrtDecoder(models.Int4.Directory);
        var prompt = Enumerable.Range(0, 48).Select(i => (long)(i * 37 % 5000)).ToArray();
        var bytes = new List<long>();
        for (var i = 0; i < 4; i++)
        {
            using var seq = d.NewSequence(64);
            var before = GC.GetAllocatedBytesForCurrentThread();
            seq.Prefill(prompt);
            bytes.Add(GC.GetAllocatedBytesForCurrentThread() - before);
        }
        // The logits are vocab floats (201 KB for GPT-2's): a prefill that allocated them would show it in every one after the
        // first; what is left (the prompt's ids, ORT's wrappers) is a few hundred bytes.
        var logitsBytes = (long)d.Shape.Vocab * sizeof(float);
        Assert.True(bytes.Skip(1).Max() < logitsBytes / 100, $"bytes allocated per prefill: {string.Join(", ", bytes)} (the logits are {logitsBytes})");
    }
}

[Collection("tiny models")]
public class EngineTests(TinyModels models)
{
    private static readonly long[] Prompt = [464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13];

    private static List<int> Greedy(IGreedyEngine e, int n)
    {
        var tokens = new List<int>();
        e.Generate(Prompt, n, tokens.Add);
        return tokens;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Both_engines_produce_the_same_greedy_tokens(bool int4)
    {
        var m = int4 ? models.Int4 : models.Fp32;
        using var ours = new OrtGreedyEngine(new OrtDecoder(m.Directory));
        using var peer = new GenAiGreedyEngine(m.Directory, m.Spec.Shape.MaxSequence);
        var a = Greedy(ours, 24);
        var b = Greedy(peer, 24);
        Assert.Equal(24, a.Count);
        Assert.Equal(a, b);
        Assert.True(a.Distinct().Count() > 1, "greedy output should not be one token repeated");
    }

    [Fact]
    public void Same_spec_gives_byte_identical_files()
    {
        var again = LlamaBuilder.Build(ModelSpec.FromPreset("tiny", WeightFormat.Int4), Path.Combine(models.Root, "tiny-int4-again"));
        Assert.Equal(File.ReadAllBytes(models.Int4.ModelPath), File.ReadAllBytes(again.ModelPath));
        Assert.Equal(File.ReadAllBytes(models.Int4.WeightsPath), File.ReadAllBytes(again.WeightsPath));
        Assert.Equal(File.ReadAllText(models.Int4.ManifestPath), File.ReadAllText(again.ManifestPath));
        var other = LlamaBuilder.Build(ModelSpec.FromPreset("tiny", WeightFormat.Int4, seed: 2), Path.Combine(models.Root, "tiny-int4-seed2"));
        Assert.NotEqual(File.ReadAllBytes(models.Int4.WeightsPath), File.ReadAllBytes(other.WeightsPath));
    }
}

public class ArgMaxTests
{
    private static int Reference(float[] v)
    {
        var best = 0;
        for (var i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    [Fact]
    public void The_vectorised_argmax_finds_the_first_largest_value_as_the_scalar_loop_does()
    {
        var rng = new Random(11);
        foreach (var length in Enumerable.Range(1, 70).Concat([127, 128, 129, 1000, ModelSpec.Gpt2Vocab]))
        for (var trial = 0; trial < 20; trial++)
        {
            // Few distinct values: ties everywhere, so "first" is tested, not just "largest".
            var v = Enumerable.Range(0, length).Select(_ => (float)rng.Next(trial % 2 == 0 ? 5 : 1_000_000) - 2).ToArray();
            if (trial == 3) v[^1] = 1e9f;               // the winner in the scalar tail
            if (trial == 5) v[0] = 1e9f;                // the winner in the first vector
            Assert.Equal(Reference(v), DecoderSequence.ArgMax(v));
        }
    }
}
