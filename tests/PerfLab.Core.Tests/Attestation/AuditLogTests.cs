using PerfLab.Core.Attestation;

namespace PerfLab.Core.Tests.Attestation;

public class AuditLogTests
{
    private static (List<string> Lines, string Head) Log(int n)
    {
        var lines = new List<string>();
        var head = AuditLog.Genesis;
        for (var i = 0; i < n; i++)
        {
            var (line, hash) = AuditLog.Entry(i, head, new DateTime(2026, 11, 29, 1, 0, i, DateTimeKind.Utc), i % 2 == 0 ? "attestation.verified" : "realm.ready",
                new Dictionary<string, string> { ["cell"] = $"c{i}", ["rim"] = new string('a', 8) });
            lines.Add(line);
            head = hash;
        }
        return (lines, head);
    }

    [Fact]
    public void An_untouched_log_is_intact_and_ends_at_its_head()
    {
        var (lines, head) = Log(6);
        var check = AuditLog.Verify(lines, head);
        Assert.True(check.Intact, check.Why);
        Assert.Equal((6, head), (check.Lines, check.Head));
    }

    [Fact]
    public void An_edited_a_deleted_a_swapped_and_a_cut_line_are_each_found_where_they_are()
    {
        var (lines, head) = Log(6);

        var edited = lines.ToList();
        edited[3] = edited[3].Replace("\"c3\"", "\"c9\"");
        var e = AuditLog.Verify(edited, head);
        Assert.Equal(4, e.BadLine);
        Assert.Contains("edited", e.Why);

        var deleted = lines.Where((_, i) => i != 2).ToList();
        var d = AuditLog.Verify(deleted, head);
        Assert.Equal(3, d.BadLine);
        Assert.Contains("deleted or lines were reordered", d.Why);

        var swapped = lines.ToList();
        (swapped[1], swapped[4]) = (swapped[4], swapped[1]);
        var s = AuditLog.Verify(swapped, head);
        Assert.Equal(2, s.BadLine);

        var cut = lines.Take(5).ToList();
        Assert.True(AuditLog.Verify(cut).Intact);             // without the head, a cut tail cannot show...
        Assert.Contains("cut from its end", AuditLog.Verify(cut, head).Why); // ...with it, it does

        // Re-chaining a forged line needs every later hash redone: a line rewritten with a fresh hash breaks the next one.
        var forged = lines.ToList();
        var prev = System.Text.Json.JsonDocument.Parse(lines[1]).RootElement.GetProperty("hash").GetString()!;
        forged[2] = AuditLog.Entry(2, prev, DateTime.UtcNow, "attestation.verified", new Dictionary<string, string> { ["forged"] = "yes" }).Line;
        var f = AuditLog.Verify(forged, head);
        Assert.Equal(4, f.BadLine);
        Assert.Contains("chain is broken", f.Why);
        Assert.Equal(1, AuditLog.Verify(["not json"]).BadLine);
    }
}
