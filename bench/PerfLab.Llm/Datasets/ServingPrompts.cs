using System.Text.Json;

namespace PerfLab.Llm.Datasets;

/// <summary>One turn of a conversation as an OpenAI chat request carries it.</summary>
public sealed record ChatTurn(string Role, string Content);

/// <summary>
/// One request an HTTP client sends: a text prompt, token ids, or the turns of a conversation up to a user's turn; the
/// length its answer should have; and how many of its prompt tokens repeat earlier turns of the same conversation (the
/// prefix a server's cache may already hold, reported rather than hidden).
/// </summary>
public sealed record ServingPrompt(string? Text, long[]? TokenIds, IReadOnlyList<ChatTurn>? Turns, int PromptTokens, int OutputTokens,
    int PrefixTokens = 0, string? Conversation = null);

/// <summary>
/// Prompts users bring, as JSONL: plain lines ({"text" | "token_ids", "output_tokens"}, our prompts-en.jsonl format) and
/// conversations, ShareGPT's ({"conversations": [{"from": "human"|"gpt"|"system", "value"}]}) or OpenAI's
/// ({"messages": [{"role", "content"}]}). A conversation gives one request per user turn that has an answer: the turns
/// before it and the user's turn, with the recorded answer's length (GPT-2 tokens) as its output length. Every turn is
/// used: reading a multi-turn conversation as its first turn alone hides the long shared prefixes real chats send.
/// </summary>
public static class ServingPrompts
{
    public static IReadOnlyList<ServingPrompt> FromJsonl(TextReader reader, string source)
    {
        var list = new List<ServingPrompt>();
        var lineNo = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var where = $"{source}:{lineNo}";
            JsonDocument doc;
            try { doc = JsonDocument.Parse(line); }
            catch (JsonException e) { throw new InvalidDataException($"{where}: not a JSON object ({e.Message})"); }
            using (doc)
            {
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{where}: not a JSON object");
                if (root.TryGetProperty("conversations", out var conv)) list.AddRange(Conversation(Turns(conv, "from", "value", where), where));
                else if (root.TryGetProperty("messages", out var msgs)) list.AddRange(Conversation(Turns(msgs, "role", "content", where), where));
                else list.Add(Plain(line, where));
            }
        }
        if (list.Count == 0) throw new InvalidDataException($"{source}: no prompts (plain lines need text or token_ids; a conversation needs a user turn with an answer)");
        return list;
    }

    /// <summary>Our plain prompts (text and output length) as serving prompts.</summary>
    public static IReadOnlyList<ServingPrompt> FromPrompts(IEnumerable<Prompt> prompts) => prompts.Select(Of).ToList();

    private static ServingPrompt Of(Prompt p) => new(p.Text, p.Text is null ? p.Tokens : null, null, p.Tokens.Length, p.OutputTokens);

    private static ServingPrompt Plain(string line, string where) => Of(Prompts.ParseLine(line, where));

    private static List<ChatTurn> Turns(JsonElement array, string roleKey, string textKey, string where)
    {
        if (array.ValueKind != JsonValueKind.Array) throw new InvalidDataException($"{where}: conversation turns must be an array");
        var turns = new List<ChatTurn>();
        foreach (var t in array.EnumerateArray())
        {
            if (t.ValueKind != JsonValueKind.Object || !t.TryGetProperty(roleKey, out var r) || r.ValueKind != JsonValueKind.String
                || !t.TryGetProperty(textKey, out var v) || v.ValueKind != JsonValueKind.String)
                throw new InvalidDataException($"{where}: each turn needs \"{roleKey}\" and \"{textKey}\" strings");
            var role = r.GetString()! switch
            {
                "human" or "user" => "user",
                "gpt" or "assistant" or "chatgpt" or "bard" or "bing" => "assistant",
                "system" => "system",
                var other => throw new InvalidDataException($"{where}: unknown role '{other}'; valid: human/user, gpt/assistant, system"),
            };
            turns.Add(new ChatTurn(role, v.GetString()!));
        }
        return turns;
    }

    private static IEnumerable<ServingPrompt> Conversation(List<ChatTurn> turns, string where)
    {
        var tokenizer = Prompts.Tokenizer;
        var tokens = turns.Select(t => tokenizer.CountTokens(t.Content) + 2).ToArray();   // +2: the role line around it
        var sent = 0;
        for (var i = 0; i + 1 < turns.Count; i++)
        {
            if (turns[i].Role != "user" || turns[i + 1].Role != "assistant") continue;
            var prompt = tokens.Take(i + 1).Sum();
            var answer = Math.Max(1, tokenizer.CountTokens(turns[i + 1].Content));
            // What this request repeats of the conversation's earlier requests: everything they sent and were answered.
            yield return new ServingPrompt(null, null, turns.Take(i + 1).ToList(), prompt, answer, sent, where);
            sent = tokens.Take(i + 2).Sum();
        }
    }
}
