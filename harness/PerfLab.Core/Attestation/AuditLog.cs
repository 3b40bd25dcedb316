using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace PerfLab.Core.Attestation;

/// <summary>What checking an audit log found: the first line that breaks the chain and why, or none.</summary>
public sealed record AuditCheck(int Lines, int? BadLine, string? Why, string? Head)
{
    public bool Intact => BadLine is null;
}

/// <summary>
/// An append-only audit log as JSON lines, each holding its sequence number, time, event, fields, the previous line's
/// hash and its own (SHA-256 over the line without its hash). An edited line no longer matches its hash; a deleted or
/// swapped line breaks the sequence and the chain; a deleted tail is found against the head hash kept apart from the log.
/// </summary>
public static class AuditLog
{
    public const string Genesis = "0000000000000000000000000000000000000000000000000000000000000000";

    /// <summary>The line for one event after the line whose hash is <paramref name="previousHash"/>; returns it and its hash.</summary>
    public static (string Line, string Hash) Entry(long seq, string previousHash, DateTime utc, string evt, IReadOnlyDictionary<string, string> fields)
    {
        var body = Body(seq, previousHash, utc.ToString("O", CultureInfo.InvariantCulture), evt, fields);
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body)));
        return (body[..^1] + $",\"hash\":\"{hash}\"}}", hash);
    }

    private static string Body(long seq, string prev, string time, string evt, IReadOnlyDictionary<string, string> fields)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteNumber("seq", seq);
            w.WriteString("time", time);
            w.WriteString("event", evt);
            w.WriteStartObject("fields");
            foreach (var (k, v) in fields.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteString(k, v);
            w.WriteEndObject();
            w.WriteString("prev", prev);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>Checks every line's hash, the sequence and the chain; with <paramref name="expectedHead"/>, that nothing was cut from the end.</summary>
    public static AuditCheck Verify(IReadOnlyList<string> lines, string? expectedHead = null)
    {
        var prev = Genesis;
        for (var i = 0; i < lines.Count; i++)
        {
            var n = i + 1;
            long seq;
            string time, evt, linePrev, hash;
            Dictionary<string, string> fields;
            try
            {
                using var doc = JsonDocument.Parse(lines[i]);
                var root = doc.RootElement;
                seq = root.GetProperty("seq").GetInt64();
                time = root.GetProperty("time").GetString()!;
                evt = root.GetProperty("event").GetString()!;
                fields = root.GetProperty("fields").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
                linePrev = root.GetProperty("prev").GetString()!;
                hash = root.GetProperty("hash").GetString()!;
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                return new AuditCheck(lines.Count, n, $"line {n} is not an audit entry: {e.Message}", null);
            }
            var own = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Body(seq, linePrev, time, evt, fields))));
            if (own != hash) return new AuditCheck(lines.Count, n, $"line {n} (seq {seq}, {evt}) was edited: its content no longer has its hash", null);
            if (seq != i) return new AuditCheck(lines.Count, n, $"line {n} has seq {seq}, expected {i}: a line before it was deleted or lines were reordered", null);
            if (linePrev != prev) return new AuditCheck(lines.Count, n, $"line {n} (seq {seq}) does not follow the line before it: the chain is broken", null);
            prev = hash;
        }
        if (expectedHead is not null && expectedHead != prev)
            return new AuditCheck(lines.Count, lines.Count, $"the log ends at {prev[..12]}…, its head was {expectedHead[..Math.Min(12, expectedHead.Length)]}…: lines were cut from its end", null);
        return new AuditCheck(lines.Count, null, null, prev);
    }
}
