using System.Text;
using System.Text.RegularExpressions;

namespace PerfLab.Report;

/// <summary>Renders a report's sections as one self-contained HTML page: inline style, charts as data URIs, no script, no network.</summary>
public static partial class HtmlRenderer
{
    // Only the characters HTML gives meaning to: the page is UTF-8, so µ, ×, – stay as they are.
    private static string E(string? s) => (s ?? "").Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&quot;").Replace("'", "&#39;");

    /// <summary>Encoded, with `code` spans as code.</summary>
    private static string Code(string s) => CodeSpan().Replace(E(s), m => $"<code>{m.Groups[1].Value}</code>");

    [GeneratedRegex("`([^`]*)`")]
    private static partial Regex CodeSpan();

    public static string Render(string title, IReadOnlyList<Section> sections)
    {
        var h = new StringBuilder();
        h.Append($$"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>{{E(title)}}</title>
            <meta name="generator" content="perflab report">
            <style>
            body{font-family:"DejaVu Sans",sans-serif;margin:2em;color:#222;max-width:1400px}
            table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.85em}
            th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
            th{background:#f0f0f0} td.num{text-align:right;font-variant-numeric:tabular-nums}
            .measured{color:#1f77b4;font-weight:bold}.emulated{color:#ff7f0e;font-weight:bold}.projected{color:#7f7f7f;font-weight:bold}.given{color:#2ca02c;font-weight:bold}
            .banner{background:#fff3cd;border:1px solid #e0b000;padding:0.6em 1em;margin:1em 0}
            .problems li{color:#a00} figure{margin:1em 0 2em} img{max-width:100%;border:1px solid #ddd}
            pre{background:#f7f7f7;padding:0.8em;overflow-x:auto;font-size:0.85em}
            </style></head>
            <body>
            <h1>{{E(title)}}</h1>
            <p>Generated {{DateTime.UtcNow:yyyy-MM-dd HH:mm:ss}} UTC from the run folders alone. Evidence of every figure:
            <span class="measured">measured</span> (run on this host as it is), <span class="emulated">emulated</span> (Realm mechanics applied
            for real, world-switch costs injected from a calibration profile), <span class="projected">projected</span> (a model's estimate),
            <span class="given">given</span> (typed in by a person).</p>

            """);
        foreach (var s in sections) h.Append(Block(s));
        return h.Append("</body></html>\n").ToString();
    }

    private static string Block(Section s) => s switch
    {
        Heading x => $"<h{x.Level}>{E(x.Text)}</h{x.Level}>\n",
        Paragraph x => $"<p>{Code(x.Text)}</p>\n",
        Banner x => $"<div class=\"banner\" id=\"{E(x.Id)}\"><b>{E(x.Bold)}</b> {E(x.Text)}</div>\n",
        Items x => $"<ul id=\"{E(x.Id)}\"{(x.Problems ? " class=\"problems\"" : "")}>\n" + string.Concat(x.Lines.Select(l => $"<li>{Code(l)}</li>\n")) + "</ul>\n",
        Preformatted x => $"<pre>{E(x.Text)}</pre>\n",
        Figures x => string.Concat(x.Charts.Select(c =>
            $"<figure id=\"chart-{E(c.Name)}\"><img alt=\"{E(c.Title)}\" src=\"data:image/png;base64,{Convert.ToBase64String(c.Png)}\">" +
            $"<figcaption><b>{E(c.Title)}</b> — {E(c.Caption)} Evidence: {string.Join(", ", c.Evidence.Select(e => $"<span class=\"{E(e)}\">{E(e)}</span>"))}. " +
            $"SVG: charts/{E(c.Name)}.svg</figcaption></figure>\n")),
        Table x => TableHtml(x),
        _ => throw new ArgumentOutOfRangeException(nameof(s), s.GetType().Name, "a section this renderer does not know"),
    };

    private static string TableHtml(Table t)
    {
        var h = new StringBuilder($"<table id=\"{E(t.Id)}\"><tr>{string.Concat(t.Headers.Select(x => $"<th>{E(x)}</th>"))}</tr>\n");
        for (var i = 0; i < t.Rows.Count; i++)
        {
            h.Append(t.Highlighted?.Contains(i) == true ? "<tr style=\"background:#fff3cd\">" : "<tr>");
            foreach (var c in t.Rows[i])
                h.Append(c.Style switch
                {
                    CellStyle.Number => $"<td class=\"num\">{E(c.Text)}</td>",
                    CellStyle.Evidence => $"<td class=\"{E(c.Text.Split(' ')[0])}\">{E(c.Text)}</td>",
                    _ => $"<td>{E(c.Text)}</td>",
                });
            h.Append("</tr>\n");
        }
        return h.Append("</table>\n").ToString();
    }
}

/// <summary>Renders the same sections as Markdown: tables as pipe tables, charts as links to their files.</summary>
public static class MarkdownRenderer
{
    private static string Cell(string s) => s.Replace("|", "\\|").Replace("\n", " ");

    public static string Render(string title, IReadOnlyList<Section> sections)
    {
        var m = new StringBuilder($"# {title}\n\n");
        foreach (var s in sections) m.Append(Block(s)).Append('\n');
        return m.ToString();
    }

    private static string Block(Section s) => s switch
    {
        Heading x => $"{new string('#', x.Level)} {x.Text}\n",
        Paragraph x => x.Text + "\n",
        Banner x => $"> **{x.Bold}** {x.Text}\n",
        Items x => string.Concat(x.Lines.Select(l => $"- {l}\n")),
        Preformatted x => $"```\n{x.Text.TrimEnd()}\n```\n",
        Figures x => string.Concat(x.Charts.Select(c => $"- [{c.Title}](charts/{c.Name}.png) ([SVG](charts/{c.Name}.svg)) — evidence: {string.Join(", ", c.Evidence)}\n")),
        Table x => $"| {string.Join(" | ", x.Headers.Select(Cell))} |\n|{string.Concat(x.Headers.Select((_, i) => x.Rows.Count > 0 && x.Rows[0].Count > i && x.Rows[0][i].Style == CellStyle.Number ? "---:|" : "---|"))}\n" +
                   string.Concat(x.Rows.Select(r => $"| {string.Join(" | ", r.Select(c => Cell(c.Text)))} |\n")),
        _ => throw new ArgumentOutOfRangeException(nameof(s), s.GetType().Name, "a section this renderer does not know"),
    };
}
