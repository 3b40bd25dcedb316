using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.ML.Tokenizers;

namespace PerfLab.Llm.Datasets;

/// <summary>One prompt: its tokens and how many tokens its answer should have (MLPerf fixes output lengths too).</summary>
public sealed record Prompt(long[] Tokens, int OutputTokens, string? Text = null);

/// <summary>A line of a prompts JSONL file: text or token ids, and the expected output length.</summary>
public sealed record PromptLine(
    [property: JsonPropertyName("text")] string? Text,
    [property: JsonPropertyName("token_ids")] long[]? TokenIds,
    [property: JsonPropertyName("output_tokens")] int OutputTokens);

/// <summary>Log-normal token lengths clamped to [1, max]: right-skewed like real prompt and answer lengths.</summary>
public sealed record LengthDistribution(double Mean, double Sigma, int Max)
{
    public int Draw(Random rng)
    {
        // A log-normal with this mean: mu = ln(mean) − sigma²/2.
        var mu = Math.Log(Mean) - Sigma * Sigma / 2;
        var z = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        return (int)Math.Clamp(Math.Round(Math.Exp(mu + Sigma * z)), 1, Max);
    }
}

/// <summary>Where prompts come from: a JSONL file, the built-in real-text set, or a seeded generator.</summary>
public static class Prompts
{
    private static readonly Lazy<Tokenizer> Gpt2 = new(() => TiktokenTokenizer.CreateForModel("gpt2"));
    public static Tokenizer Tokenizer => Gpt2.Value;

    public static IReadOnlyList<Prompt> FromJsonl(TextReader reader, string source)
    {
        var list = new List<Prompt>();
        var lineNo = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNo++;
            if (!string.IsNullOrWhiteSpace(line)) list.Add(ParseLine(line, $"{source}:{lineNo}"));
        }
        if (list.Count == 0) throw new InvalidDataException($"{source}: no prompts");
        return list;
    }

    /// <summary>One line of a prompts file; <paramref name="where"/> (file:line) starts every error.</summary>
    public static Prompt ParseLine(string line, string where)
    {
        PromptLine? p;
        try { p = JsonSerializer.Deserialize<PromptLine>(line); }
        catch (JsonException e) { throw new InvalidDataException($"{where}: not a JSON object ({e.Message})"); }
        if (p is null || (p.Text is null) == (p.TokenIds is null))
            throw new InvalidDataException($"{where}: give exactly one of \"text\" or \"token_ids\"");
        if (p.OutputTokens < 1) throw new InvalidDataException($"{where}: output_tokens must be at least 1");
        var tokens = p.TokenIds ?? Tokenizer.EncodeToIds(p.Text!).Select(i => (long)i).ToArray();
        if (tokens.Length == 0) throw new InvalidDataException($"{where}: the prompt is empty");
        return new Prompt(tokens, p.OutputTokens, p.Text);
    }

    /// <summary>Our own small set of English prompts, shipped inside the assembly.</summary>
    public static IReadOnlyList<Prompt> Builtin()
    {
        using var s = typeof(Prompts).Assembly.GetManifestResourceStream("PerfLab.Llm.Datasets.prompts-en.jsonl")
                      ?? throw new InvalidOperationException("the built-in prompt set is missing from the assembly");
        using var r = new StreamReader(s);
        return FromJsonl(r, "builtin prompts-en.jsonl");
    }

    /// <summary>
    /// Seeded synthetic prompts: token ids drawn uniformly from the vocabulary (below GPT-2's end-of-text id),
    /// lengths log-normal. Same seed, same prompts.
    /// </summary>
    public static IReadOnlyList<Prompt> Synthetic(int count, int seed, LengthDistribution input, LengthDistribution output, int vocab)
    {
        var rng = new Random(seed);
        var list = new List<Prompt>(count);
        for (var i = 0; i < count; i++)
        {
            var n = input.Draw(rng);
            var tokens = new long[n];
            for (var t = 0; t < n; t++) tokens[t] = rng.Next(Math.Min(vocab, 50256));
            list.Add(new Prompt(tokens, output.Draw(rng)));
        }
        return list;
    }
}
