using PerfLab.Llm.Datasets;
using PerfLab.Llm.Inference;
using PerfLab.Llm.Model;

namespace PerfLab.Llm.Tests;

[Collection("tiny models")]
public class ModelFilesTests(TinyModels models)
{
    private string Copy(string name)
    {
        var dir = Path.Combine(models.Root, name);
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(models.Int4.Directory)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)), true);
        return dir;
    }

    [Fact]
    public void A_built_model_verifies_and_its_manifest_lists_aligned_hashed_tensors()
    {
        ModelFiles.Verify(models.Int4.Directory);
        var m = ModelFiles.ReadManifest(models.Int4.Directory);
        Assert.All(m.Tensors, t => Assert.Equal(0, t.Offset % WeightsFile.Alignment));
        Assert.All(m.Tensors, t => Assert.Equal(64, t.Sha256.Length));
        // Q, K and V packed into one projection of hidden + 2 × kv_hidden outputs.
        var qkv = Assert.Single(m.Tensors, t => t.Name == "model.layers.0.self_attn.qkv_proj.qweight" && t.Dtype == "uint8");
        Assert.Equal(m.Shape.Hidden + 2 * m.Shape.KvHidden, qkv.Dims[0]);
        // int4 nibbles and fp32 scales of every matrix: 0.5 B per weight plus 4 B per block of weights.
        Assert.Equal(ModelSpec.DefaultBlockSize, m.BlockSize);
        var expected = m.Shape.MatrixParameters / 2 + m.Shape.MatrixParameters / m.BlockSize * 4;
        Assert.Equal(expected, m.StreamedBytesPerToken);
    }

    [Fact]
    public void A_missing_weights_file_is_named()
    {
        var dir = Copy("missing");
        File.Delete(Path.Combine(dir, BuiltModel.WeightsFileName));
        var e = Assert.Throws<FileNotFoundException>(() => ModelFiles.Verify(dir));
        Assert.Contains("model.weights: missing", e.Message);
    }

    [Fact]
    public void A_truncated_weights_file_is_named_with_both_lengths()
    {
        var dir = Copy("truncated");
        var path = Path.Combine(dir, BuiltModel.WeightsFileName);
        using (var f = File.OpenWrite(path)) f.SetLength(f.Length / 2);
        var e = Assert.Throws<InvalidDataException>(() => ModelFiles.Verify(dir));
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void A_flipped_byte_is_caught_by_the_tensor_hash()
    {
        var dir = Copy("flipped");
        var m = ModelFiles.ReadManifest(dir);
        var t = m.Tensors.First(x => x.Name.EndsWith("mlp.down_proj.qweight"));
        using (var f = new FileStream(Path.Combine(dir, BuiltModel.WeightsFileName), FileMode.Open))
        {
            f.Position = t.Offset + 10;
            var b = f.ReadByte();
            f.Position = t.Offset + 10;
            f.WriteByte((byte)(b ^ 0xFF));
        }
        var e = Assert.Throws<InvalidDataException>(() => ModelFiles.Verify(dir));
        Assert.Contains(t.Name, e.Message);
    }

    [Fact]
    public void Unknown_presets_and_bad_shapes_are_refused_with_the_valid_ones()
    {
        var e = Assert.Throws<ArgumentException>(() => ModelSpec.FromPreset("7b"));
        Assert.Contains("tiny, 110m, 1b", e.Message);
        var bad = ModelSpec.FromPreset("tiny") with { Shape = ModelSpec.Presets["tiny"] with { Heads = 3 } };
        Assert.Contains("multiple of heads", bad.Problem());
        Assert.Contains("block size 48", (ModelSpec.FromPreset("tiny") with { BlockSize = 48 }).Problem());
    }

    [Fact]
    public void A_prompt_longer_than_the_context_fails_the_load_with_the_numbers()
    {
        var settings = new LlmSettings(4, 1, models.Int4.Spec, "ort", 1, "synthetic", 1,
            new LengthDistribution(600, 0.01, 600), new LengthDistribution(8, 0.01, 8));
        var e = Assert.Throws<ArgumentException>(() => new LlmSut(settings, models.Int4.Directory));
        Assert.Contains("exceeds the model's context of 512", e.Message);
    }
}

public class DatasetTests
{
    [Fact]
    public void Synthetic_prompts_are_seeded_and_follow_their_lengths()
    {
        var a = Prompts.Synthetic(500, 3, new LengthDistribution(64, 0.6, 256), new LengthDistribution(32, 0.6, 128), 50257);
        var b = Prompts.Synthetic(500, 3, new LengthDistribution(64, 0.6, 256), new LengthDistribution(32, 0.6, 128), 50257);
        Assert.Equal(a.Select(p => p.Tokens), b.Select(p => p.Tokens));
        Assert.InRange(a.Average(p => p.Tokens.Length), 55, 73);
        Assert.InRange(a.Average(p => p.OutputTokens), 28, 36);
        Assert.All(a, p => Assert.InRange(p.Tokens.Length, 1, 256));
        Assert.All(a.SelectMany(p => p.Tokens), t => Assert.InRange(t, 0, 50255));
    }

    [Fact]
    public void The_builtin_set_goes_through_the_real_GPT2_tokenizer()
    {
        var prompts = Prompts.Builtin();
        Assert.Equal(16, prompts.Count);
        Assert.All(prompts, p => Assert.True(p.Tokens.Length >= 5));
        // GPT-2 encodes " the" as 262 and "Explain" as 18438.
        Assert.Equal(18438, prompts[0].Tokens[0]);
        Assert.Contains(262L, prompts.SelectMany(p => p.Tokens));
    }

    [Theory]
    [InlineData("{\"text\": \"hi\"}", "output_tokens must be at least 1")]
    [InlineData("{\"output_tokens\": 3}", "exactly one of")]
    [InlineData("not json", "not a JSON object")]
    [InlineData("", "no prompts")]
    public void A_bad_prompts_file_names_the_line_and_the_problem(string line, string problem)
    {
        var e = Assert.Throws<InvalidDataException>(() => Prompts.FromJsonl(new StringReader(line), "p.jsonl"));
        Assert.Contains(problem, e.Message);
        Assert.StartsWith("p.jsonl", e.Message);
    }
}

/// <summary>Prompts users bring to the openai workload: plain JSONL lines and conversations with all their turns.</summary>
public class ServingPromptsTests
{
    [Fact]
    public void A_sharegpt_conversation_is_one_request_per_answered_user_turn_with_the_turns_before_it()
    {
        const string jsonl = """
            {"conversations": [{"from": "system", "value": "Be brief."}, {"from": "human", "value": "What is a page table?"}, {"from": "gpt", "value": "A map from virtual to physical pages."}, {"from": "human", "value": "And a huge page?"}, {"from": "gpt", "value": "A bigger page: fewer TLB misses."}, {"from": "human", "value": "unanswered"}]}
            {"text": "plain prompt", "output_tokens": 12}
            {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello there"}]}
            """;
        var p = PerfLab.Llm.Datasets.ServingPrompts.FromJsonl(new StringReader(jsonl), "chats.jsonl");
        Assert.Equal(4, p.Count);   // two answered user turns, one plain line, one OpenAI-style conversation
        var (first, second) = (p[0], p[1]);
        Assert.Equal(["system", "user"], first.Turns!.Select(t => t.Role));
        Assert.Equal(["system", "user", "assistant", "user"], second.Turns!.Select(t => t.Role));
        // The second request repeats everything the first sent and was answered: its prefix, reported.
        Assert.Equal(0, first.PrefixTokens);
        Assert.True(second.PrefixTokens > first.PromptTokens && second.PrefixTokens < second.PromptTokens);
        // Output lengths are the recorded answers' lengths in GPT-2 tokens.
        Assert.Equal(PerfLab.Llm.Datasets.Prompts.Tokenizer.CountTokens("A map from virtual to physical pages."), first.OutputTokens);
        Assert.Equal(("plain prompt", 12), (p[2].Text, p[2].OutputTokens));
        Assert.Equal(["user"], p[3].Turns!.Select(t => t.Role));
    }

    [Fact]
    public void A_damaged_plain_line_among_conversations_is_named_by_its_own_line()
    {
        const string jsonl = "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"yo\"}]}\n\n{\"text\": \"x\", \"output_tokens\": 0}\n";
        var e = Assert.Throws<InvalidDataException>(() => PerfLab.Llm.Datasets.ServingPrompts.FromJsonl(new StringReader(jsonl), "chats.jsonl"));
        Assert.Equal("chats.jsonl:3: output_tokens must be at least 1", e.Message);
    }

    [Theory]
    [InlineData("{\"conversations\": [{\"from\": \"robot\", \"value\": \"x\"}]}", "chats.jsonl:1: unknown role 'robot'")]
    [InlineData("{\"conversations\": [{\"from\": \"human\"}]}", "chats.jsonl:1: each turn needs")]
    [InlineData("not json", "chats.jsonl:1: not a JSON object")]
    [InlineData("{\"conversations\": [{\"from\": \"human\", \"value\": \"no answer\"}]}", "chats.jsonl: no prompts")]
    public void A_damaged_line_is_refused_naming_the_file_and_line(string line, string message)
    {
        var e = Assert.Throws<InvalidDataException>(() => PerfLab.Llm.Datasets.ServingPrompts.FromJsonl(new StringReader(line), "chats.jsonl"));
        Assert.StartsWith(message, e.Message);
    }
}
