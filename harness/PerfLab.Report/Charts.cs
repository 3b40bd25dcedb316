using PerfLab.Results;
using System.Globalization;
using PerfLab.Core.Results;
using PerfLab.Core.Units;
using ScottPlot;

namespace PerfLab.Report;

/// <summary>One rendered chart: PNG and SVG, with the evidence kinds of what it shows.</summary>
public sealed record ChartImage(string Name, string Title, string Caption, IReadOnlyList<string> Evidence, byte[] Png, string Svg);

/// <summary>A chart could not be drawn here: which one and why (shown in the report in its place).</summary>
public sealed record ChartGap(string Name, string Why);

/// <summary>
/// Every chart of a report, drawn with ScottPlot from run data alone. The font is set explicitly: with no font found,
/// ScottPlot draws every label as nothing, silently. Evidence (measured, emulated, projected) is written on every chart.
/// </summary>
public static class Charts
{
    public const string FontName = "DejaVu Sans";
    public const int Width = 960, Height = 540;

    private static readonly Dictionary<string, Color> EvidenceColor = new()
    {
        ["measured"] = Color.FromHex("#1f77b4"), ["emulated"] = Color.FromHex("#ff7f0e"), ["projected"] = Color.FromHex("#7f7f7f"),
    };
    private static readonly Color[] Palette =
        new[] { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f" }
            .Select(Color.FromHex).ToArray();

    /// <summary>Fails clearly when the font is missing, instead of rendering charts without a single label.</summary>
    public static void RequireFont()
    {
        var families = SkiaSharp.SKFontManager.Default.FontFamilies;
        if (!families.Contains(FontName))
            throw new InvalidOperationException($"font '{FontName}' is not installed, and without it every chart label would be blank; " +
                                                "install it (Debian: apt-get install fonts-dejavu-core)");
    }

    /// <summary>All charts the runs have data for, and the reasons for those they do not.</summary>
    public static (List<ChartImage> Charts, List<ChartGap> Gaps) All(IReadOnlyList<RunData> runs)
    {
        RequireFont();
        var charts = new List<ChartImage>();
        var gaps = new List<ChartGap>();
        void Try(string name, Func<IEnumerable<ChartImage>> make, string emptyWhy)
        {
            try
            {
                var made = make().ToList();
                if (made.Count == 0) gaps.Add(new(name, emptyWhy));
                charts.AddRange(made);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                gaps.Add(new(name, $"could not be drawn: {e.GetType().Name}: {e.Message}"));
            }
        }
        var multi = runs.Count > 1;
        Try("overhead", () => Overhead(runs, multi), "no cell has a baseline to compare with");
        Try("cdf", () => LatencyCdfs(runs, multi), "no latency samples (samples.csv missing or empty)");
        Try("throughput-latency", () => ThroughputLatency(runs, multi), "no capacity search in these runs (a server scenario with qps: search draws this curve)");
        Try("micro", () => MicroDistributions(runs, multi), "no microbenchmark cells in these runs");
        Try("rsi-batching", () => RsiBatching(runs, multi), "no cells that differ only in rsi_batch");
        Try("lifecycle", () => Lifecycle(runs, multi), "no lifecycle phases recorded");
        return (charts, gaps);
    }

    private static string Label(RunData run, CellData c, bool multi) =>
        (multi ? run.RunId + " · " : "") + $"{c.Platform} {c.Setting("page_size")}" +
        (c.Setting("rsi_batch") is var b && b != "?" && c.Platform.StartsWith("cca") ? $" rsi {b}" : "") +
        (c.Setting("mpam") is var m && m is not ("off" or "?") ? $" mpam {m}" : "") +
        (c.Setting("co_tenant") is var t && t is not ("none" or "?") ? $" +{t}" : "");

    private static Plot NewPlot(string title, string xLabel, string yLabel)
    {
        var plt = new Plot();
        plt.Font.Set(FontName);
        plt.Title(title, size: 16);
        plt.XLabel(xLabel, size: 13);
        plt.YLabel(yLabel, size: 13);
        return plt;
    }

    /// <summary>The evidence stamp every chart carries, upper right, in the colour of its kind.</summary>
    private static void Stamp(Plot plt, IReadOnlyCollection<string> evidence)
    {
        var a = plt.Add.Annotation("evidence: " + string.Join(" + ", evidence.Distinct().OrderBy(e => e)), Alignment.UpperRight);
        a.LabelFontName = FontName;
        a.LabelFontSize = 13;
        a.LabelBold = true;
        a.LabelFontColor = evidence.Count == 1 ? EvidenceColor.GetValueOrDefault(evidence.First(), Colors.Black) : Colors.Black;
        a.LabelBackgroundColor = Colors.White.WithAlpha(0.85);
        a.LabelBorderColor = Colors.Gray;
    }

    private static ChartImage Render(Plot plt, string name, string title, string caption, IReadOnlyCollection<string> evidence, int width = Width, int height = Height)
    {
        Stamp(plt, evidence);
        var png = plt.GetImageBytes(width, height, ImageFormat.Png);
        var svg = plt.GetSvgXml(width, height);
        return new ChartImage(name, title, caption, evidence.Distinct().ToList(), png, svg);
    }

    // ---- 1. overhead per cell against its baseline, with the confidence interval of the ratio ----
    private static readonly string[] OverheadMetrics = ["latency", "ttft", "tpot", "throughput", "op_cost", "bandwidth"];

    /// <summary>The metrics that say most of a scenario's cost: the full table has every one.</summary>
    private static string[] HeadlineMetrics(string scenarioKind) => scenarioKind switch
    {
        "single-stream" => ["latency", "tpot", "op_cost", "bandwidth"],
        "server" => ["ttft", "tpot", "latency"],
        "offline" => ["throughput", "tpot"],
        _ => OverheadMetrics,
    };

    public static IEnumerable<ChartImage> Overhead(IReadOnlyList<RunData> runs, bool multi)
    {
        // One chart per run and scenario, headline metrics only: a hundred bars in one picture tell nothing.
        var groups = runs.SelectMany(r => r.Cells.Where(c => c.IsTiming).SelectMany(c => (c.Overheads ?? []).Where(o => HeadlineMetrics(c.ScenarioKind).Contains(o.Metric))
                .Select(o => (Run: r, Cell: c, O: o))))
            .GroupBy(x => (x.Run.RunId, x.Cell.Scenario)).ToList();
        foreach (var g in groups)
        {
            var rows = g.ToList();
            var name = groups.Count == 1 ? "overhead" : $"overhead-{Slug(multi ? g.Key.RunId + "-" + g.Key.Scenario : g.Key.Scenario)}";
            yield return OverheadChart(rows, name, $"Overhead against the non-confidential baseline: {g.Key.Scenario}" + (multi ? $" ({g.Key.RunId})" : ""));
        }
    }

    private static ChartImage OverheadChart(List<(RunData Run, CellData Cell, PerfLab.Core.Results.Overhead O)> rows, string name, string title)
    {
        var confidence = rows[0].Run.GateConfidence is { } level ? $"{level * 100:0.##} %" : "the gate's";
        var plt = NewPlot(title, $"change against the baseline cell (%, Hodges–Lehmann; whiskers: {confidence} interval)", "");
        var ticks = new List<Tick>();
        for (var i = 0; i < rows.Count; i++)
        {
            var (run, c, o) = rows[i];
            double y = rows.Count - i;
            var color = EvidenceColor.GetValueOrDefault(c.Evidence, Colors.Black);
            plt.Add.Bar(new Bar { Position = y, Value = o.Pct, ValueBase = 0, FillColor = color.WithAlpha(0.75), LineWidth = 0, Size = 0.6, Orientation = Orientation.Horizontal });
            var ci = plt.Add.Line(o.PctLower, y, o.PctUpper, y);
            ci.LineWidth = 2;
            ci.Color = Colors.Black;
            foreach (var x in new[] { o.PctLower, o.PctUpper })
            {
                var cap = plt.Add.Line(x, y - 0.15, x, y + 0.15);
                cap.Color = Colors.Black;
                cap.LineWidth = 2;
            }
            ticks.Add(new Tick(y, $"{c.Workload} {Label(run, c, false)} · {o.Metric} [{c.Evidence}]"));
        }
        var zero = plt.Add.VerticalLine(0);
        zero.Color = Colors.Gray;
        zero.LineWidth = 1;
        plt.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
        plt.Axes.Left.MajorTickStyle.Length = 0;
        return Render(plt, name, title,
            "Bars: the Hodges–Lehmann ratio of each metric to its baseline cell's, as a change in % (positive when the metric grew: slower for times, more for throughput); " +
            "whiskers: its confidence interval at the suite's gate confidence. Colour: evidence (blue measured, orange emulated, grey projected). " +
            "VM cells under TCG are left out: a functional check, never a timing (their figures are in the tables).",
            rows.Select(r => r.Cell.Evidence).ToList(), Width + 240, Math.Max(360, 120 + rows.Count * 34));
    }

    // ---- 2. latency CDFs per cell: end-to-end, TTFT, TPOT ----
    public static IEnumerable<ChartImage> LatencyCdfs(IReadOnlyList<RunData> runs, bool multi)
    {
        var groups = runs.SelectMany(r => r.Cells.Where(c => c.Status == "ok" && c.IsTiming && r.Samples.ContainsKey(c.Id)).Select(c => (Run: r, Cell: c)))
            .GroupBy(x => (x.Cell.Workload, x.Cell.Scenario));
        foreach (var g in groups)
        {
            foreach (var metric in new[] { "latency", "ttft", "tpot" })
            {
                var series = g.Where(x => x.Run.Samples[x.Cell.Id].TryGetValue(metric, out var v) && v.Length > 0).ToList();
                if (series.Count == 0) continue;
                if (metric == "latency" && g.First().Cell.ScenarioKind == "offline") continue; // an offline latency is a queue position
                var plt = NewPlot($"{g.Key.Workload} · {g.Key.Scenario}: {MetricTitle(metric)} CDF", $"{MetricTitle(metric)} (ms)", "fraction of queries");
                var i = 0;
                double xMax = 0;
                foreach (var (run, c) in series)
                {
                    var v = run.Samples[c.Id][metric].OrderBy(x => x).ToArray();
                    var ys = Enumerable.Range(1, v.Length).Select(k => (double)k / v.Length).ToArray();
                    var xs = v.Select(x => x / 1e6).ToArray();
                    var s = plt.Add.Scatter(xs, ys, Palette[i++ % Palette.Length]);
                    s.MarkerSize = 0;
                    s.LineWidth = 2;
                    s.ConnectStyle = ConnectStyle.StepHorizontal;
                    s.LegendText = $"{Label(run, c, multi)} [{c.Evidence}] p99 {Ms(Quantile(v, 0.99))}";
                    xMax = Math.Max(xMax, Quantile(v, 0.999) / 1e6);
                }
                if (series.First().Cell.LimitsNs.TryGetValue(metric, out var limit))
                {
                    var l = plt.Add.VerticalLine(limit / 1e6);
                    l.Color = Colors.Red;
                    l.LinePattern = LinePattern.Dashed;
                    l.LegendText = $"limit {Ms(limit)}";
                    xMax = Math.Max(xMax, limit / 1e6 * 1.05);
                }
                plt.Axes.SetLimits(0, xMax * 1.02, 0, 1.02);
                plt.ShowLegend(Alignment.LowerRight);
                yield return Render(plt, $"cdf-{Slug(g.Key.Workload)}-{Slug(g.Key.Scenario)}-{metric}", $"{g.Key.Workload} · {g.Key.Scenario}: {MetricTitle(metric)}",
                    $"Empirical CDF of every query's {MetricTitle(metric)} (axis cut at the 99.9th percentile); one line per cell; VM cells under TCG left out (not timings).", series.Select(x => x.Cell.Evidence).ToList());
            }
        }
    }

    // ---- 3. throughput–latency from the probes of a capacity search ----
    public static IEnumerable<ChartImage> ThroughputLatency(IReadOnlyList<RunData> runs, bool multi)
    {
        var cells = runs.SelectMany(r => r.Cells.Where(c => c.Capacity is { Probes.Count: > 0 }).Select(c => (Run: r, Cell: c)))
            .GroupBy(x => (x.Cell.Workload, x.Cell.Scenario));
        foreach (var g in cells)
        {
            var metric = g.All(x => x.Cell.Capacity!.Probes.All(p => p.P99TtftNs.HasValue)) ? "ttft" : "latency";
            var plt = NewPlot($"{g.Key.Workload} · {g.Key.Scenario}: throughput against p99 {MetricTitle(metric)}", "completed queries per second",
                $"p99 {MetricTitle(metric)} (ms)");
            var i = 0;
            double yMax = 0;
            foreach (var (run, c) in g)
            {
                var probes = c.Capacity!.Probes.Where(p => !p.Failed).OrderBy(p => p.TargetQps).ToList();
                var ys = probes.Select(p => (metric == "ttft" ? p.P99TtftNs : p.P99LatencyNs) ?? double.NaN).Select(v => v / 1e6).ToArray();
                var color = Palette[i++ % Palette.Length];
                var s = plt.Add.Scatter(probes.Select(p => p.AchievedQps).ToArray(), ys, color);
                s.LineWidth = 2;
                s.MarkerSize = 7;
                s.LegendText = $"{Label(run, c, multi)} [{c.Evidence}]: capacity {(c.Capacity.CapacityQps is { } q ? q.ToString("0.#", CultureInfo.InvariantCulture) + " QPS" : "none")}";
                var invalid = probes.Where(p => !p.Valid).ToList();
                if (invalid.Count > 0)
                {
                    var m = plt.Add.ScatterPoints(invalid.Select(p => p.AchievedQps).ToArray(),
                        invalid.Select(p => ((metric == "ttft" ? p.P99TtftNs : p.P99LatencyNs) ?? double.NaN) / 1e6).ToArray(), color);
                    m.MarkerShape = MarkerShape.Eks;
                    m.MarkerSize = 12;
                }
                if (c.LimitsNs.TryGetValue(metric, out var limit)) yMax = Math.Max(yMax, limit / 1e6 * 2.5);
            }
            if (g.First().Cell.LimitsNs.TryGetValue(metric, out var lim))
            {
                var l = plt.Add.HorizontalLine(lim / 1e6);
                l.Color = Colors.Red;
                l.LinePattern = LinePattern.Dashed;
                l.LegendText = $"p99 limit {Ms(lim)}";
            }
            plt.ShowLegend(Alignment.UpperLeft);
            plt.Axes.AutoScale();
            if (yMax > 0) plt.Axes.SetLimitsY(0, yMax);
            yield return Render(plt, $"throughput-latency-{Slug(g.Key.Workload)}-{Slug(g.Key.Scenario)}", $"{g.Key.Workload} · {g.Key.Scenario}: throughput–latency",
                "Each point is one full-length probe of the capacity search (Poisson arrivals at a target rate); × marks an INVALID probe. " +
                "The capacity is the highest VALID rate.", g.Select(x => x.Cell.Evidence).ToList());
        }
    }

    // ---- 4. microbenchmark distributions ----
    /// <summary>A microbenchmark's family: its case without the last part (kvm.exit.pio → kvm.exit), so one chart compares siblings.</summary>
    private static string Family(CellData c) => c.WorkloadParameters.TryGetValue("case", out var k) && k.Split('.') is { Length: >= 2 } parts
        ? string.Join('.', parts.Take(2)) : c.Workload;

    public static IEnumerable<ChartImage> MicroDistributions(IReadOnlyList<RunData> runs, bool multi)
    {
        var micro = runs.SelectMany(r => r.Cells.Where(c => r.Samples.TryGetValue(c.Id, out var m) && (m.ContainsKey("op_cost") || m.ContainsKey("bandwidth")))
            .Select(c => (Run: r, Cell: c))).ToList();
        foreach (var metric in new[] { "op_cost", "bandwidth" })
        {
            foreach (var g in micro.Where(x => x.Run.Samples[x.Cell.Id].ContainsKey(metric)).GroupBy(x => Family(x.Cell)))
            {
                var ns = metric == "op_cost";
                // Siblings differ by orders of magnitude (a kernel exit and a user exit): a log axis keeps each visible.
                var plt = NewPlot($"{g.Key}: {(ns ? "cost per operation" : "bandwidth")} distribution", ns ? "cost per operation (µs, log scale)" : "bandwidth (GB/s, log scale)", "share of samples");
                var i = 0;
                double lo = double.MaxValue, hi = double.MinValue;
                foreach (var (run, c) in g)
                {
                    var v = run.Samples[c.Id][metric].Where(x => x > 0).Select(x => ns ? x / 1e3 : x / 1e9).OrderBy(x => x).ToArray();
                    if (v.Length == 0) continue;
                    var (xs, ys) = Histogram(v.Select(Math.Log10).ToArray(), 40);
                    lo = Math.Min(lo, xs[0]);
                    hi = Math.Max(hi, xs[^1]);
                    var s = plt.Add.Scatter(xs, ys, Palette[i++ % Palette.Length]);
                    s.ConnectStyle = ConnectStyle.StepHorizontal;
                    s.MarkerSize = 0;
                    s.LineWidth = 2;
                    s.LegendText = $"{(multi ? run.RunId + " · " : "")}{c.Workload} [{c.Evidence}] median {Quantile(v, 0.5):0.###}";
                }
                if (i == 0) continue;
                plt.Axes.Bottom.TickGenerator = LogTicks(lo, hi);
                plt.ShowLegend(Alignment.UpperLeft);
                yield return Render(plt, $"micro-{Slug(g.Key)}-{metric}", $"{g.Key}: {metric} distribution",
                    "Frequency polygon of every microbenchmark sample (40 log-spaced bins between the 0.5th and 99.5th percentiles); one line per case.",
                    g.Select(x => x.Cell.Evidence).ToList());
            }
        }
    }

    private static ScottPlot.TickGenerators.NumericManual LogTicks(double lo, double hi)
    {
        var ticks = new List<Tick>();
        for (var e = (int)Math.Floor(lo); e <= (int)Math.Ceiling(hi); e++)
            foreach (var m in new[] { 1, 2, 5 })
            {
                var x = e + Math.Log10(m);
                if (x >= lo - 0.05 && x <= hi + 0.05) ticks.Add(new Tick(x, (m * Math.Pow(10, e)).ToString("G4", CultureInfo.InvariantCulture)));
            }
        return new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
    }

    // ---- 5. the RSI-batching curve: a cost against the bytes that cross into the Realm per host call ----
    public static IEnumerable<ChartImage> RsiBatching(IReadOnlyList<RunData> runs, bool multi)
    {
        // (a) Emulated and real Realm cells that differ only in rsi_batch: the time to stream the weights in.
        var groups = runs.SelectMany(r => r.Cells.Where(c => c.Status == "ok" && c.PhasesMs.Has(Phase.Populate)).Select(c => (Run: r, Cell: c)))
            .GroupBy(x => (x.Run.RunId, x.Cell.Workload, x.Cell.Scenario, x.Cell.Platform, Page: x.Cell.Setting("page_size"), Mpam: x.Cell.Setting("mpam"), Co: x.Cell.Setting("co_tenant")))
            .Where(g => g.Select(x => x.Cell.Setting("rsi_batch")).Distinct().Count() >= 2)
            .ToList();
        if (groups.Count > 0)
        {
            var plt = NewPlot("RSI batching: streaming the model into the Realm", "bytes per host call (RSI batch)", "populate phase (ms)");
            var series = groups.Select(g => (
                Label: $"{(multi ? g.Key.RunId + " · " : "")}{g.Key.Workload} {g.Key.Platform} {g.Key.Page}" +
                       (g.Key.Mpam is not ("off" or "?") ? $" mpam {g.Key.Mpam}" : "") + (g.Key.Co is not ("none" or "?") ? $" +{g.Key.Co}" : "") +
                       (g.Select(x => x.Cell.Scenario).Distinct().Count() == 1 ? $" {g.First().Cell.Scenario}" : "") + $" [{g.First().Cell.Evidence}]",
                Points: g.Select(x => (Bytes: Bytes.TryParse(x.Cell.Setting("rsi_batch"), out var b) ? (double)b.Value : double.NaN, Value: x.Cell.PhasesMs[Phase.Populate])).ToList())).ToList();
            Curve(plt, series);
            yield return Render(plt, "rsi-batching", "RSI batching curve (weight streaming)",
                "Time to stream the model's weights into the Realm through the bounce buffer against the batch size (one host round trip per batch); " +
                "median over the cells of each batch size.", groups.SelectMany(g => g.Select(x => x.Cell.Evidence)).ToList());
        }
        // (b) The native sweep (kvm.batch.<size>): bytes moved across a real KVM world switch per exit, as a bandwidth.
        var sweep = runs.SelectMany(r => r.Cells.Where(c => c.WorkloadParameters.TryGetValue("case", out var k) && k.StartsWith("kvm.batch.", StringComparison.Ordinal)
                && r.Samples.TryGetValue(c.Id, out var m) && m.ContainsKey("bandwidth")).Select(c => (Run: r, Cell: c))).ToList();
        if (sweep.Count >= 2)
        {
            var plt = NewPlot("RSI batching: bytes per world switch (KVM)", "bytes per exit (batch)", "bandwidth across the boundary (GB/s)");
            var series = sweep.GroupBy(x => x.Run.RunId).Select(g => (
                Label: $"{(multi ? g.Key + " · " : "")}kvm.batch [{g.First().Cell.Evidence}]",
                Points: g.Select(x => (Bytes: Bytes.TryParse(x.Cell.WorkloadParameters["case"]["kvm.batch.".Length..], out var b) ? (double)b.Value : double.NaN,
                    Value: Quantile(x.Run.Samples[x.Cell.Id]["bandwidth"].OrderBy(v => v).ToArray(), 0.5) / 1e9)).ToList())).ToList();
            Curve(plt, series);
            yield return Render(plt, "rsi-batching-kvm", "RSI batching curve (world switches)",
                "Median bandwidth of data handed across a real KVM exit, against the bytes per exit: where batching stops paying.",
                sweep.Select(x => x.Cell.Evidence).ToList());
        }
    }

    /// <summary>Lines over a log2 byte axis, the median of each x.</summary>
    private static void Curve(Plot plt, IEnumerable<(string Label, List<(double Bytes, double Value)> Points)> series)
    {
        var i = 0;
        var allX = new SortedSet<double>();
        foreach (var (label, raw) in series)
        {
            var pts = raw.Where(p => !double.IsNaN(p.Bytes)).GroupBy(p => p.Bytes)
                .Select(p => (X: Math.Log2(p.Key), Y: Quantile(p.Select(q => q.Value).OrderBy(q => q).ToArray(), 0.5))).OrderBy(p => p.X).ToList();
            foreach (var p in pts) allX.Add(p.X);
            var s = plt.Add.Scatter(pts.Select(p => p.X).ToArray(), pts.Select(p => p.Y).ToArray(), Palette[i++ % Palette.Length]);
            s.LineWidth = 2;
            s.MarkerSize = 8;
            s.LegendText = label;
        }
        plt.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(allX.Select(x => new Tick(x, new Bytes((long)Math.Round(Math.Pow(2, x))).ToShort())).ToArray());
        plt.ShowLegend(Alignment.UpperCenter);
    }

    // ---- 6. lifecycle waterfall: from Realm creation to the first token ----
    public static IEnumerable<ChartImage> Lifecycle(IReadOnlyList<RunData> runs, bool multi)
    {
        // One cell per Realm configuration: the lifecycle does not depend on the scenario that follows it.
        var realms = runs.SelectMany(r => r.Cells.Where(c => c.PhasesMs.Has(Phase.Launch)).Select(c => (Run: r, Cell: c)))
            .GroupBy(x => (x.Run.RunId, x.Cell.RealmId, x.Cell.Workload)).Select(g => g.First()).Take(10).ToList();
        if (realms.Count == 0) yield break;
        var plt = NewPlot("Realm lifecycle: creation to first token", "time from launch (ms)", "");
        var ticks = new List<Tick>();
        var colors = new Dictionary<string, Color>
        {
            ["launch"] = Palette[0], ["populate"] = Palette[3], ["attest"] = Palette[1], ["load"] = Palette[2], ["first token"] = Palette[7],
        };
        var legendDone = new HashSet<string>();
        double y = 0;
        foreach (var (run, c) in realms.AsEnumerable().Reverse())
        {
            var p = c.PhasesMs;
            double launch = p.Get(Phase.Launch) ?? 0, load = p.Get(Phase.Load) ?? 0, pop = p.Get(Phase.Populate) ?? 0;
            var ready = p.Get(Phase.Ready) ?? launch + load;
            var segments = new List<(string Name, double Start, double End)> { ("launch", 0, launch) };
            if (p.Has(Phase.Populate)) segments.Add(("populate", launch, launch + pop));
            if (p.Get(Phase.Attest) is { } att) segments.Add(("attest", launch + pop, launch + pop + att));
            segments.Add(("load", launch, ready));
            if (p.Get(Phase.FirstToken) is { } ft) segments.Add(("first token", ready, ready + ft));
            var lane = 0;
            foreach (var (name, start, end) in segments)
            {
                var pos = y + lane * 0.22;
                plt.Add.Bar(new Bar
                {
                    Position = pos, ValueBase = start, Value = Math.Max(end, start + 0.01), FillColor = colors[name], Size = 0.2, LineWidth = 0,
                    Orientation = Orientation.Horizontal,
                });
                if (legendDone.Add(name))
                {
                    var dummy = plt.Add.Scatter(new double[] { double.NaN }, new double[] { double.NaN }, colors[name]);
                    dummy.LegendText = name;
                    dummy.MarkerSize = 10;
                    dummy.MarkerShape = MarkerShape.FilledSquare;
                }
                lane++;
            }
            var total = p.Get(Phase.FirstToken) is { } f ? ready + f : ready;
            var t = plt.Add.Text($"{total:0.#} ms", total, y + (lane - 1) * 0.22);
            t.LabelFontName = FontName;
            t.LabelFontSize = 11;
            t.LabelAlignment = Alignment.MiddleLeft;
            ticks.Add(new Tick(y + (lane - 1) * 0.11, $"{(multi ? run.RunId + " · " : "")}{c.Platform} {c.Setting("page_size")} rsi {c.Setting("rsi_batch")} [{c.Evidence}]"));
            y += lane * 0.22 + 0.5;
        }
        plt.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
        plt.Axes.Left.MajorTickStyle.Length = 0;
        plt.Axes.Margins(left: 0, right: 0.15);
        plt.ShowLegend(Alignment.LowerRight);
        yield return Render(plt, "lifecycle", "Realm lifecycle waterfall",
            "Per Realm configuration: launch (process or guest created, agent up), model load (for a Realm: weights streamed in RSI batches, " +
            "measured into the RIM, attested), then the first token of the first query. Teardown is in the tables.",
            realms.Select(x => x.Cell.Evidence).ToList(), Width + 240, Math.Max(360, 140 + realms.Count * 90));
    }

    // ---- helpers ----
    public static string MetricTitle(string metric) => metric switch
    {
        "latency" => "end-to-end latency", "ttft" => "time to first token", "tpot" => "time per output token", "op_cost" => "cost per operation",
        _ => metric,
    };

    public static string Ms(double ns) => ns >= 1e6 ? $"{ns / 1e6:0.##} ms" : $"{ns / 1e3:0.#} µs";

    private static string Slug(string s) => new(s.Select(ch => char.IsLetterOrDigit(ch) ? char.ToLowerInvariant(ch) : '-').ToArray());

    /// <summary>Type-7 quantile of sorted values (what a reader of a CDF expects; the tables carry the HD estimates).</summary>
    public static double Quantile(double[] sorted, double p)
    {
        if (sorted.Length == 0) return double.NaN;
        var h = (sorted.Length - 1) * p;
        var lo = (int)Math.Floor(h);
        return lo + 1 < sorted.Length ? sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]) : sorted[lo];
    }

    private static (double[] X, double[] Y) Histogram(double[] sorted, int bins)
    {
        double lo = Quantile(sorted, 0.005), hi = Quantile(sorted, 0.995);
        if (hi <= lo) hi = lo + Math.Max(1e-9, Math.Abs(lo) * 1e-3);
        var width = (hi - lo) / bins;
        var counts = new double[bins];
        foreach (var v in sorted)
            if (v >= lo && v <= hi) counts[Math.Min(bins - 1, (int)((v - lo) / width))]++;
        var xs = Enumerable.Range(0, bins + 1).Select(i => lo + i * width).ToArray();
        var ys = counts.Select(c => c / sorted.Length).Append(0).ToArray();
        return (xs, ys);
    }
}
