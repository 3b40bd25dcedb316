using System.Globalization;

namespace PerfLab.Core.Channel;

/// <summary>The kinds of line on the host↔agent channel.</summary>
public enum MessageKind { Hello, Load, Ready, Query, FirstToken, Complete, Stats, Bye, Error, Chunk, Ack, Call, Reply, Failed }

/// <summary>
/// One parsed line. The numbers are stored positionally (so the hot messages parse without allocating) and read by
/// their meaning: <see cref="SampleIndex"/> of a query, <see cref="Tokens"/> and <see cref="InsideNs"/> of a completion,
/// <see cref="Bytes"/> of a chunk, <see cref="LoadNs"/> of ready, <see cref="Pid"/> of hello. Text carries the rest.
/// </summary>
public readonly record struct ChannelMessage(MessageKind Kind, long Id = 0, long Value = 0, long Value2 = 0, string Text = "")
{
    public int SampleIndex => (int)Value;
    public int Tokens => (int)Value;
    public long InsideNs => Value2;
    public long Bytes => Value;
    public long LoadNs => Value;
    public long Pid => Id;
}

/// <summary>
/// The host↔agent line protocol, version 3. One message per line, words separated by one space:
///   agent → host   hello perflab-channel/3 &lt;pid&gt;
///   host → agent   load &lt;json: workload and realm settings&gt;
///   agent → host   ready &lt;load_ns&gt; &lt;json: what the agent loaded&gt;
///   host → agent   query &lt;id&gt; &lt;sample-index&gt;
///   agent → host   first-token &lt;id&gt;
///   agent → host   complete &lt;id&gt; &lt;tokens&gt; &lt;inside_ns&gt;
///   agent → host   failed &lt;id&gt; &lt;tokens so far&gt; &lt;reason&gt;   (this query failed; the agent serves on)
///   host → agent   stats            agent → host   stats &lt;json&gt;
///   host → agent   bye              agent → host   bye
///   agent → host   error &lt;text&gt;     (fatal: the agent cannot go on)
///   host → agent   chunk &lt;index&gt; &lt;bytes&gt;   agent → host   ack &lt;index&gt;
///       (emulated Realms: one RSI-batch-sized chunk of the payload is in the shared buffer; the agent copies it
///        through its bounce buffer into private memory and acknowledges: one host call per chunk)
///   agent → host   call &lt;id&gt; &lt;json&gt;     host → agent   reply &lt;id&gt; &lt;json&gt;
///       (the Realm asks the host for a service while it loads: an emulated platform's attestation token, or a request
///        the host forwards to the key broker; the host answers each call once, in any order)
/// The hot messages (query, first-token, complete) are positional integers so both sides parse them without
/// allocating; the rare ones carry JSON. A host refuses an agent whose hello names another version.
/// </summary>
public static class ChannelProtocol
{
    public const string Version = "perflab-channel/3"; // 2: the Realm's calls (call/reply) while it loads; 3: a query fails alone (failed)

    private static readonly (string Word, MessageKind Kind)[] Words =
    [
        ("query", MessageKind.Query), ("first-token", MessageKind.FirstToken), ("complete", MessageKind.Complete),
        ("hello", MessageKind.Hello), ("load", MessageKind.Load), ("ready", MessageKind.Ready),
        ("stats", MessageKind.Stats), ("bye", MessageKind.Bye), ("error", MessageKind.Error),
        ("chunk", MessageKind.Chunk), ("ack", MessageKind.Ack), ("call", MessageKind.Call), ("reply", MessageKind.Reply),
        ("failed", MessageKind.Failed),
    ];

    public static string Hello(int pid) => $"hello {Version} {pid}";
    public static string Load(string json) => "load " + json;
    public static string Ready(long loadNs, string json) => $"ready {loadNs} {json}";
    public static string Query(long id, int sample) => $"query {id} {sample}";
    public static string FirstToken(long id) => $"first-token {id}";
    public static string Complete(long id, int tokens, long insideNs) => $"complete {id} {tokens} {insideNs}";
    public static string Failed(long id, int tokens, string reason) => $"failed {id} {tokens} {reason.ReplaceLineEndings(" ")}";
    public static string StatsRequest() => "stats";
    public static string Stats(string json) => "stats " + json;
    public static string Bye() => "bye";
    public static string Error(string text) => "error " + text.ReplaceLineEndings(" ");
    public static string Chunk(long index, long bytes) => $"chunk {index} {bytes}";
    public static string Ack(long index) => $"ack {index}";
    public static string Call(long id, string json) => $"call {id} {json}";
    public static string Reply(long id, string json) => $"reply {id} {json}";

    /// <summary>Parses one line; returns false (and a reason) for anything not in the protocol.</summary>
    public static bool TryParse(ReadOnlySpan<char> line, out ChannelMessage message, out string? problem)
    {
        message = default;
        problem = null;
        var space = line.IndexOf(' ');
        var word = space < 0 ? line : line[..space];
        var rest = space < 0 ? ReadOnlySpan<char>.Empty : line[(space + 1)..];
        foreach (var (w, kind) in Words)
        {
            if (!word.SequenceEqual(w)) continue;
            switch (kind)
            {
                case MessageKind.Query:
                    if (!Ints(rest, out var q0, out var q1, out _, 2)) break;
                    message = new ChannelMessage(kind, q0, q1);
                    return true;
                case MessageKind.FirstToken or MessageKind.Ack:
                    if (!Ints(rest, out var f0, out _, out _, 1)) break;
                    message = new ChannelMessage(kind, f0);
                    return true;
                case MessageKind.Chunk:
                    if (!Ints(rest, out var k0, out var k1, out _, 2)) break;
                    message = new ChannelMessage(kind, k0, k1);
                    return true;
                case MessageKind.Complete:
                    if (!Ints(rest, out var c0, out var c1, out var c2, 3)) break;
                    message = new ChannelMessage(kind, c0, c1, c2);
                    return true;
                case MessageKind.Hello:
                {
                    var s = rest.IndexOf(' ');
                    if (s < 0 || !long.TryParse(rest[(s + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) break;
                    message = new ChannelMessage(kind, pid, Text: rest[..s].ToString());
                    return true;
                }
                case MessageKind.Call or MessageKind.Reply:
                {
                    var s = rest.IndexOf(' ');
                    if (s < 0 || !long.TryParse(rest[..s], NumberStyles.None, CultureInfo.InvariantCulture, out var cid)) break;
                    message = new ChannelMessage(kind, cid, Text: rest[(s + 1)..].ToString());
                    return true;
                }
                case MessageKind.Failed:
                {
                    // id, tokens so far, then the reason as free text
                    var s1 = rest.IndexOf(' ');
                    if (s1 < 0 || !long.TryParse(rest[..s1], NumberStyles.None, CultureInfo.InvariantCulture, out var fid)) break;
                    var tail = rest[(s1 + 1)..];
                    var s2 = tail.IndexOf(' ');
                    if (!long.TryParse(s2 < 0 ? tail : tail[..s2], NumberStyles.None, CultureInfo.InvariantCulture, out var ftok)) break;
                    message = new ChannelMessage(kind, fid, ftok, Text: s2 < 0 ? "failed" : tail[(s2 + 1)..].ToString());
                    return true;
                }
                case MessageKind.Ready:
                {
                    var s = rest.IndexOf(' ');
                    if (s < 0 || !long.TryParse(rest[..s], NumberStyles.None, CultureInfo.InvariantCulture, out var ns)) break;
                    message = new ChannelMessage(kind, Value: ns, Text: rest[(s + 1)..].ToString());
                    return true;
                }
                default:
                    message = new ChannelMessage(kind, Text: rest.ToString());
                    return true;
            }
            problem = $"malformed '{w}' message: '{Trim(line)}'";
            return false;
        }
        problem = $"unknown message '{Trim(line)}'; valid: {string.Join(", ", Words.Select(x => x.Word))}";
        return false;
    }

    private static string Trim(ReadOnlySpan<char> s) => s.Length > 80 ? s[..80].ToString() + "…" : s.ToString();

    private static bool Ints(ReadOnlySpan<char> s, out long a, out long b, out long c, int count)
    {
        a = b = c = 0;
        for (var i = 0; i < count; i++)
        {
            var sp = s.IndexOf(' ');
            var part = i == count - 1 ? s : sp < 0 ? ReadOnlySpan<char>.Empty : s[..sp];
            if (!long.TryParse(part, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)) return false;
            switch (i) { case 0: a = v; break; case 1: b = v; break; default: c = v; break; }
            s = sp < 0 ? ReadOnlySpan<char>.Empty : s[(sp + 1)..];
        }
        return true;
    }
}
