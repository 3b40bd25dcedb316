using PerfLab.Results;
using System.Globalization;
using System.Net;
using System.Text;
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
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

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
        File.WriteAllText(html, Html(runs, charts, gaps, tco));
        File.WriteAllText(md, Markdown(runs, charts, gaps, tco));
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

    // ---- the rows both formats show ----

    /// <summary>One cell's headline figures, shared by HTML and Markdown so the two cannot disagree.</summary>
    public sealed record CellRow(string Run, string Cell, string Evidence, string Status, string Validity, string Qps, string TokensPerS,
        string LatencyMedian, string LatencyP99, string TtftP99, string TpotMedian, string Reason);

    public static IEnumerable<CellRow> CellRows(IReadOnlyList<RunData> runs) =>
        runs.SelectMany(r => r.Cells.Select(c =>
        {
            var m = c.Result?.Metrics;
            string Q(string metric, Func<PerfLab.Core.Statistics.DistributionSummary, double> pick) =>
                m != null && m.TryGetValue(metric, out var d) ? Num(pick(d) / 1e6, 3) : "–";
            return new CellRow(r.RunId, c.Id, c.Evidence, c.Status, c.Result?.Validity ?? "–",
                c.Result is { } res ? Num(res.QueriesPerS, 2) : "–", c.Result is { } t ? Num(t.TokensPerS, 1) : "–",
                Q("latency", d => d.Median.Value), Q("latency", d => d.P99.Value), Q("ttft", d => d.P99.Value), Q("tpot", d => d.Median.Value),
                c.Reason ?? string.Join("; ", c.Result?.Reasons ?? []));
        }));

    /// <summary>The overhead intervals' confidence level(s), as the runs' suites set them.</summary>
    private static string Confidences(IReadOnlyList<RunData> runs) =>
        string.Join(" / ", runs.Select(r => r.GateConfidence is { } c ? $"{c * 100:0.##} %" : "unknown (no manifest)").Distinct());

    public static string Num(double v, int decimals) => double.IsFinite(v) ? v.ToString("F" + decimals, Inv) : "–";

    private static readonly string[] HostKeys =
        ["hostname", "cpu_model", "logical_cores", "memory_bytes", "kernel", "os", "architecture", "thp_enabled", "huge_pages2_m_total", "hypervisor_vendor",
         "virtualization_extensions", "kvm_device", "kvm_modules", "resctrl", "dotnet_version", "cpu_flags_of_note", "scaling_governor", "git_commit", "git_dirty", "virtualization_kind"];

    private static IEnumerable<(string Run, string Cell, string Metric, string Baseline, string Pct, string Lower, string Upper, string Evidence)> OverheadRows(IReadOnlyList<RunData> runs) =>
        runs.SelectMany(r => r.Cells.SelectMany(c => (c.Overheads ?? []).Where(o => o.Metric != "inside")
            .Select(o => (r.RunId, c.Id, o.Metric, o.BaselineCell, Num(o.Pct, 2), Num(o.PctLower, 2), Num(o.PctUpper, 2), c.Evidence))));

    /// <summary>A capacity row; VsBaseline is the change of capacity against the baseline cell's (the cost a planner multiplies).</summary>
    private sealed record CapacityRow(string Run, string Cell, string Capacity, string VsBaseline, string LowestInvalid, string Probes, string Converged, string Note, string Evidence);

    private static IEnumerable<CapacityRow> CapacityRows(IReadOnlyList<RunData> runs) =>
        runs.SelectMany(r => r.Cells.Where(c => c.Capacity != null).Select(c =>
        {
            var mine = c.Capacity!.CapacityQps;
            var theirs = c.BaselineCell is { } b ? r.Cells.FirstOrDefault(x => x.Id == b)?.Capacity?.CapacityQps : null;
            var vs = mine is { } m && theirs is { } t && t > 0 ? $"{(m / t - 1) * 100:+0.0;-0.0;0.0} %" : c.IsBaseline ? "baseline" : "–";
            return new CapacityRow(r.RunId, c.Id, mine is { } q ? Num(q, 2) : "none", vs,
                c.Capacity.LowestInvalidQps is { } hi ? Num(hi, 2) : "–", c.Capacity.Probes.Count.ToString(Inv),
                c.Capacity.Converged ? "yes" : "no", c.Capacity.Note, c.Evidence);
        }));

    // ---- HTML ----

    private static string E(string? s) => WebUtility.HtmlEncode(s ?? "");

    private static string Html(IReadOnlyList<RunData> runs, IReadOnlyList<ChartImage> charts, IReadOnlyList<ChartGap> gaps, JsonNode? tco)
    {
        var h = new StringBuilder();
        var title = runs.Count == 1 ? $"PerfLab report: {runs[0].RunId}" : $"PerfLab comparison: {runs.Count} runs";
        h.Append($$"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>{{E(title)}}</title>
            <meta name="generator" content="perflab report">
            <style>
            body{font-family:"DejaVu Sans",sans-serif;margin:2em;color:#222;max-width:1400px}
            table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.85em}
            th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
            th{background:#f0f0f0} td.num{text-align:right;font-variant-numeric:tabular-nums}
            .measured{color:#1f77b4;font-weight:bold}.emulated{color:#ff7f0e;font-weight:bold}.projected{color:#7f7f7f;font-weight:bold}
            .banner{background:#fff3cd;border:1px solid #e0b000;padding:0.6em 1em;margin:1em 0}
            .problems li{color:#a00} figure{margin:1em 0 2em} img{max-width:100%;border:1px solid #ddd}
            pre{background:#f7f7f7;padding:0.8em;overflow-x:auto;font-size:0.85em}
            </style></head>
            <body>
            <h1>{{E(title)}}</h1>
            <p>Generated {{DateTime.UtcNow:yyyy-MM-dd HH:mm:ss}} UTC from the run folders alone. Evidence of every figure:
            <span class="measured">measured</span> (run on this host as it is), <span class="emulated">emulated</span> (Realm mechanics applied
            for real, world-switch costs injected from a calibration profile), <span class="projected">projected</span> (a model's estimate).</p>

            """);
        foreach (var r in runs.Where(r => r.StateWord != "complete"))
            h.Append($"<div class=\"banner\" id=\"state-{E(r.RunId)}\"><b>{E(r.RunId)} is {E(r.StateWord)}.</b> What finished before it stopped is reported below" +
                     (r.NotRun.Count > 0 ? $"; {r.NotRun.Count} planned cell(s) never ran: {E(string.Join(", ", r.NotRun))}" : "") + ".</div>\n");

        h.Append("<h2>Runs</h2>\n<table id=\"runs\"><tr><th>run</th><th>suite</th><th>state</th><th>host</th><th>started (UTC)</th><th>ended (UTC)</th><th>cells ok / failed / skipped</th></tr>\n");
        foreach (var r in runs)
            h.Append($"<tr><td>{E(r.RunId)}</td><td>{E(r.Suite)}</td><td>{E(r.StateWord)}</td><td>{E(r.HostLabel)}</td><td>{E(r.StartedUtc)}</td><td>{E(r.EndedUtc)}</td>" +
                     $"<td>{r.Cells.Count(c => c.Status == "ok")} / {r.Cells.Count(c => c.Status == "failed")} / {r.Cells.Count(c => c.Status == "skipped")}</td></tr>\n");
        h.Append("</table>\n");

        var problems = runs.SelectMany(r => r.Problems).ToList();
        if (problems.Count > 0)
        {
            h.Append("<h2>Problems reading the runs</h2>\n<ul class=\"problems\" id=\"problems\">\n");
            foreach (var p in problems) h.Append($"<li><code>{E(p.File)}</code>: {E(p.What)}</li>\n");
            h.Append("</ul>\n");
        }

        h.Append("<h2>Host environments</h2>\n<table id=\"hosts\"><tr><th>property</th>");
        foreach (var r in runs) h.Append($"<th>{E(r.RunId)}</th>");
        h.Append("</tr>\n");
        foreach (var key in HostKeys.Where(k => runs.Any(r => r.Host.ContainsKey(k))))
        {
            var values = runs.Select(r => r.Host.GetValueOrDefault(key, "–")).ToList();
            var differs = values.Distinct().Count() > 1 ? " style=\"background:#fff3cd\"" : "";
            h.Append($"<tr{differs}><td>{E(key)}</td>{string.Concat(values.Select(v => $"<td>{E(v)}</td>"))}</tr>\n");
        }
        h.Append("</table>\n");

        h.Append("<h2>Cells</h2>\n<p>Times in ms. Medians and p99 are Harrell–Davis estimates (their confidence intervals are in summary.csv).</p>\n");
        h.Append("<table id=\"summary\"><tr><th>run</th><th>cell</th><th>evidence</th><th>status</th><th>result</th><th>QPS</th><th>tokens/s</th>" +
                 "<th>latency median</th><th>latency p99</th><th>TTFT p99</th><th>TPOT median</th><th>reason</th></tr>\n");
        foreach (var c in CellRows(runs))
            h.Append($"<tr><td>{E(c.Run)}</td><td>{E(c.Cell)}</td><td class=\"{E(c.Evidence)}\">{E(c.Evidence)}</td><td>{E(c.Status)}</td><td>{E(c.Validity)}</td>" +
                     $"<td class=\"num\">{c.Qps}</td><td class=\"num\">{c.TokensPerS}</td><td class=\"num\">{c.LatencyMedian}</td><td class=\"num\">{c.LatencyP99}</td>" +
                     $"<td class=\"num\">{c.TtftP99}</td><td class=\"num\">{c.TpotMedian}</td><td>{E(c.Reason)}</td></tr>\n");
        h.Append("</table>\n");

        var overheads = OverheadRows(runs).ToList();
        h.Append("<h2>Overhead against the baseline</h2>\n");
        if (overheads.Count == 0) h.Append("<p>No cell of these runs has a baseline cell to compare with.</p>\n");
        else
        {
            h.Append($"<p>Change of the typical value (Hodges–Lehmann ratio) against the baseline cell, positive when the metric grew (slower for times, more for throughput); intervals at {E(Confidences(runs))} confidence.</p>\n");
            h.Append("<table id=\"overhead\"><tr><th>run</th><th>cell</th><th>metric</th><th>baseline cell</th><th>change %</th><th>CI lower %</th><th>CI upper %</th><th>evidence</th></tr>\n");
            foreach (var o in overheads)
                h.Append($"<tr><td>{E(o.Run)}</td><td>{E(o.Cell)}</td><td>{E(o.Metric)}</td><td>{E(o.Baseline)}</td><td class=\"num\">{o.Pct}</td>" +
                         $"<td class=\"num\">{o.Lower}</td><td class=\"num\">{o.Upper}</td><td class=\"{E(o.Evidence)}\">{E(o.Evidence)}</td></tr>\n");
            h.Append("</table>\n");
        }

        var capacity = CapacityRows(runs).ToList();
        if (capacity.Count > 0)
        {
            h.Append("<h2>Capacity</h2>\n<p>The highest Poisson QPS that stayed VALID under the scenario's limits: the number a capacity planner multiplies.</p>\n");
            h.Append("<table id=\"capacity\"><tr><th>run</th><th>cell</th><th>capacity (QPS)</th><th>capacity change vs baseline (+ is more)</th><th>lowest INVALID (QPS)</th><th>probes</th><th>converged</th><th>search</th><th>evidence</th></tr>\n");
            foreach (var c in capacity)
                h.Append($"<tr><td>{E(c.Run)}</td><td>{E(c.Cell)}</td><td class=\"num\">{c.Capacity}</td><td class=\"num\">{c.VsBaseline}</td><td class=\"num\">{c.LowestInvalid}</td><td class=\"num\">{c.Probes}</td><td>{c.Converged}</td><td>{E(c.Note)}</td><td class=\"{E(c.Evidence)}\">{E(c.Evidence)}</td></tr>\n");
            h.Append("</table>\n");
        }

        if (runs.Count > 1) h.Append(ComparisonHtml(runs));

        if (tco is not null)
        {
            h.Append("<h2>TCO</h2>\n<table id=\"tco\"><tr><th>memory term</th><th>GB</th><th>basis</th></tr>\n");
            foreach (var t in tco["result"]?["terms"]?.AsArray() ?? [])
                h.Append($"<tr><td>{E(t?["name"]?.ToString())}</td><td class=\"num\">{Num(t?["gb"]?.GetValue<double>() ?? double.NaN, 1)}</td><td>{E(t?["basis"]?.ToString())}</td></tr>\n");
            h.Append("</table>\n<pre>" + E(tco.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true })) + "</pre>\n");
        }

        h.Append("<h2>Charts</h2>\n");
        foreach (var c in charts)
            h.Append($"<figure id=\"chart-{E(c.Name)}\"><img alt=\"{E(c.Title)}\" src=\"data:image/png;base64,{Convert.ToBase64String(c.Png)}\">" +
                     $"<figcaption><b>{E(c.Title)}</b> — {E(c.Caption)} Evidence: {string.Join(", ", c.Evidence.Select(e => $"<span class=\"{E(e)}\">{E(e)}</span>"))}. " +
                     $"SVG: charts/{E(c.Name)}.svg</figcaption></figure>\n");
        if (gaps.Count > 0)
        {
            h.Append("<p>Not drawn:</p><ul id=\"gaps\">\n");
            foreach (var g in gaps) h.Append($"<li>{E(g.Name)}: {E(g.Why)}</li>\n");
            h.Append("</ul>\n");
        }
        foreach (var r in runs.Where(r => r.GateMarkdown != null))
            h.Append($"<h2>Gate: {E(r.RunId)}</h2>\n<pre>{E(r.GateMarkdown)}</pre>\n");

        // A check a browser test (or a person with devtools) can read: every image decoded, every key table present.
        h.Append("""
            <script>
            window.addEventListener('load', function () {
              var imgs = Array.prototype.slice.call(document.images);
              var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
              document.body.setAttribute('data-images', ok + '/' + imgs.length);
              document.body.setAttribute('data-tables', ['runs', 'hosts', 'summary'].filter(function (id) { return document.getElementById(id); }).join(','));
            });
            </script>
            </body></html>

            """);
        return h.ToString();
    }

    private static string ComparisonHtml(IReadOnlyList<RunData> runs)
    {
        var h = new StringBuilder("<h2>Side by side</h2>\n<p>Cells present in more than one run; medians in ms, and the ratio of each run to the first.</p>\n");
        h.Append("<table id=\"comparison\"><tr><th>cell</th><th>metric</th>");
        foreach (var r in runs) h.Append($"<th>{E(r.RunId)}<br>{E(r.HostLabel)}</th>");
        h.Append("</tr>\n");
        foreach (var (cell, metric, values) in Comparison(runs))
        {
            h.Append($"<tr><td>{E(cell)}</td><td>{E(metric)}</td>");
            for (var i = 0; i < values.Count; i++)
            {
                var v = values[i];
                var ratio = i > 0 && values[0] is { } b && v is { } x && b != 0 ? $" (×{x / b:0.###})" : "";
                h.Append($"<td class=\"num\">{(v is { } y ? Num(y / 1e6, 3) : "–")}{ratio}</td>");
            }
            h.Append("</tr>\n");
        }
        return h.Append("</table>\n").ToString();
    }

    public static IEnumerable<(string Cell, string Metric, IReadOnlyList<double?> Medians)> Comparison(IReadOnlyList<RunData> runs)
    {
        var ids = runs.SelectMany(r => r.Cells.Select(c => c.Id)).GroupBy(id => id).Where(g => g.Count() > 1).Select(g => g.Key).Distinct();
        foreach (var id in ids)
            foreach (var metric in new[] { "latency", "ttft", "tpot", "op_cost" })
            {
                var values = runs.Select(r => r.Cells.FirstOrDefault(c => c.Id == id)?.Result?.Metrics is { } m && m.TryGetValue(metric, out var d) ? (double?)d.Median.Value : null).ToList();
                if (values.Count(v => v.HasValue) > 1) yield return (id, metric, values);
            }
    }

    // ---- Markdown ----

    private static string Cell(string s) => s.Replace("|", "\\|").Replace("\n", " ");

    private static string Markdown(IReadOnlyList<RunData> runs, IReadOnlyList<ChartImage> charts, IReadOnlyList<ChartGap> gaps, JsonNode? tco)
    {
        var m = new StringBuilder();
        m.AppendLine(runs.Count == 1 ? $"# PerfLab report: {runs[0].RunId}" : $"# PerfLab comparison: {runs.Count} runs").AppendLine();
        foreach (var r in runs.Where(r => r.StateWord != "complete"))
            m.AppendLine($"> **{r.RunId} is {r.StateWord}.** What finished before it stopped is reported below" +
                         (r.NotRun.Count > 0 ? $"; {r.NotRun.Count} planned cell(s) never ran: {string.Join(", ", r.NotRun)}" : "") + ".").AppendLine();
        m.AppendLine("| run | suite | state | host | cells ok / failed / skipped |").AppendLine("|---|---|---|---|---|");
        foreach (var r in runs)
            m.AppendLine($"| {r.RunId} | {r.Suite} | {r.StateWord} | {Cell(r.HostLabel)} | {r.Cells.Count(c => c.Status == "ok")} / {r.Cells.Count(c => c.Status == "failed")} / {r.Cells.Count(c => c.Status == "skipped")} |");
        var problems = runs.SelectMany(r => r.Problems).ToList();
        if (problems.Count > 0)
        {
            m.AppendLine().AppendLine("## Problems reading the runs").AppendLine();
            foreach (var p in problems) m.AppendLine($"- `{p.File}`: {p.What}");
        }
        m.AppendLine().AppendLine("## Cells (times in ms)").AppendLine();
        m.AppendLine("| run | cell | evidence | status | result | QPS | tokens/s | latency median | latency p99 | TTFT p99 | TPOT median |");
        m.AppendLine("|---|---|---|---|---|---:|---:|---:|---:|---:|---:|");
        foreach (var c in CellRows(runs))
            m.AppendLine($"| {c.Run} | {c.Cell} | {c.Evidence} | {c.Status} | {c.Validity} | {c.Qps} | {c.TokensPerS} | {c.LatencyMedian} | {c.LatencyP99} | {c.TtftP99} | {c.TpotMedian} |");
        var overheads = OverheadRows(runs).ToList();
        if (overheads.Count > 0)
        {
            m.AppendLine().AppendLine("## Overhead against the baseline").AppendLine();
            m.AppendLine($"Change of the typical value (Hodges–Lehmann ratio) against the baseline cell, positive when the metric grew (slower for times, more for throughput); intervals at {Confidences(runs)} confidence.").AppendLine();
            m.AppendLine("| run | cell | metric | change % | CI % | evidence |").AppendLine("|---|---|---|---:|---|---|");
            foreach (var o in overheads) m.AppendLine($"| {o.Run} | {o.Cell} | {o.Metric} | {o.Pct} | [{o.Lower}, {o.Upper}] | {o.Evidence} |");
        }
        var capacity = CapacityRows(runs).ToList();
        if (capacity.Count > 0)
        {
            m.AppendLine().AppendLine("## Capacity").AppendLine();
            m.AppendLine("| run | cell | capacity (QPS) | capacity change vs baseline (+ is more) | lowest INVALID (QPS) | probes | converged | evidence |").AppendLine("|---|---|---:|---:|---:|---:|---|---|");
            foreach (var c in capacity) m.AppendLine($"| {c.Run} | {c.Cell} | {c.Capacity} | {c.VsBaseline} | {c.LowestInvalid} | {c.Probes} | {c.Converged} | {c.Evidence} |");
        }
        if (tco?["result"] is { } t)
            m.AppendLine().AppendLine("## TCO").AppendLine().AppendLine($"Memory per Realm {Num(t["memory_per_realm_gb"]?.GetValue<double>() ?? double.NaN, 1)} GB; " +
                $"Realms per host {t["realms_per_host"]}; cost per million tokens {Num(t["cost_per_million_tokens_native"]?.GetValue<double>() ?? double.NaN, 3)} native, " +
                $"{Num(t["cost_per_million_tokens_confidential"]?.GetValue<double>() ?? double.NaN, 3)} confidential.");
        m.AppendLine().AppendLine("## Charts").AppendLine();
        foreach (var c in charts) m.AppendLine($"- [{c.Title}](charts/{c.Name}.png) ([SVG](charts/{c.Name}.svg)) — evidence: {string.Join(", ", c.Evidence)}");
        foreach (var g in gaps) m.AppendLine($"- not drawn: {g.Name}: {g.Why}");
        return m.ToString();
    }
}
