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
public static partial class Charts
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
        // The answer is one run's: a comparison of runs has its side-by-side tables instead, and no gap to explain.
        if (runs.Count == 1 && runs[0].Cells.Any(c => c.Platform is "cca-emulated" or "cca"))
        {
            Try(AnswerChart, () => Answer(runs), "no Realm cell with TTFT and TPOT overheads in this run: nothing to answer the mission's question with");
            Try("cost", () => CostWaterfall(runs), "no Realm cell counted its events (a run before counts were recorded, or no baseline to stand on)");
        }
        Try("overhead", () => Overhead(runs, multi), "no cell has a baseline to compare with");
        // An interrupted run's samples.csv may hold thousands of rows of a cell that never finished: say so, not "missing".
        var unfinished = runs.Sum(r => r.Samples.Keys.Count(id => r.Cells.FirstOrDefault(c => c.Id == id) is not { Status: "ok" }));
        Try("cdf", () => LatencyCdfs(runs, multi), unfinished == 0
            ? "no latency samples (samples.csv missing or empty)"
            : $"no finished cell to draw: samples.csv holds the queries of {unfinished} cell(s) that did not finish ok (interrupted, failed or cut short); they are kept, not charted");
        Try("throughput-latency", () => ThroughputLatency(runs, multi), "no capacity search in these runs (a server scenario with qps: search draws this curve)");
        Try("sweep", () => SweepPareto(runs, multi), "no sweep scenario in these runs (type: sweep draws throughput against each user's speed)");
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
