using PerfLab.Results;
using System.Text.Json.Nodes;

namespace PerfLab.Report;

/// <summary>What a report wrote: its files, how many charts, and what could not be drawn or read.</summary>
public sealed record ReportOutput(string Html, string Markdown, string ChartsDir, int Charts, IReadOnlyList<ChartGap> Gaps, IReadOnlyList<ReadProblem> Problems);

/// <summary>
/// Writes a self-contained HTML page (charts embedded as data URIs, no script or style from the network) and a Markdown
/// summary from run folders alone. Several runs, from one host or many, are put side by side with their hosts.
/// </summary>
public static class ReportWriter
{
    public const string HtmlFile = "report.html", MarkdownFile = "report.md";

    public static ReportOutput Write(IReadOnlyList<RunData> runs, string outDir, JsonNode? tco = null)
    {
        Directory.CreateDirectory(outDir);
        var chartsDir = Path.Combine(outDir, "charts");
        Directory.CreateDirectory(chartsDir);
        // A report written again must not keep the charts of its previous version beside the new ones.
        foreach (var old in Directory.EnumerateFiles(chartsDir).Where(f => f.EndsWith(".png") || f.EndsWith(".svg"))) File.Delete(old);
        var (charts, gaps) = Charts.All(runs);
        foreach (var c in charts)
        {
            CheckPng(c);
            File.WriteAllBytes(Path.Combine(chartsDir, c.Name + ".png"), c.Png);
            File.WriteAllText(Path.Combine(chartsDir, c.Name + ".svg"), c.Svg);
        }
        var problems = runs.SelectMany(r => r.Problems).ToList();
        var html = Path.Combine(outDir, HtmlFile);
        var md = Path.Combine(outDir, MarkdownFile);
        var sections = ReportModel.Build(runs, charts, gaps, tco);
        var title = ReportModel.Title(runs);
        File.WriteAllText(html, HtmlRenderer.Render(title, sections));
        File.WriteAllText(md, MarkdownRenderer.Render(title, sections));
        return new ReportOutput(html, md, chartsDir, charts.Count, gaps, problems);
    }

    /// <summary>A browser shows a truncated PNG as a broken image without complaint: check it whole before embedding.</summary>
    public static void CheckPng(ChartImage c)
    {
        ReadOnlySpan<byte> sig = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
        ReadOnlySpan<byte> iend = [0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82];
        if (c.Png.Length < 64 || !c.Png.AsSpan(0, 8).SequenceEqual(sig) || !c.Png.AsSpan(c.Png.Length - 8).SequenceEqual(iend))
            throw new InvalidDataException($"chart '{c.Name}': the PNG is not whole ({c.Png.Length} bytes)");
    }
}
