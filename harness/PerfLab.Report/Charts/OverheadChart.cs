using PerfLab.Results;
using PerfLab.Core.Analysis;
using PerfLab.Core.Results;
using ScottPlot;

namespace PerfLab.Report;

/// <summary>Overhead per cell against its baseline, with the interval of the ratio.</summary>
public static partial class Charts
{
    // ---- 1. overhead per cell against its baseline, with the confidence interval of the ratio ----
    private static readonly string[] OverheadMetrics = Metrics.Gated.Select(m => m.Name).ToArray();

    /// <summary>The metrics that say most of a scenario's cost: the full table has every one.</summary>
    private static string[] HeadlineMetrics(string scenarioKind) => scenarioKind switch
    {
        "single-stream" => [Metrics.Latency.Name, Metrics.Tpot.Name, Metrics.OpCost.Name, Metrics.Bandwidth.Name],
        "server" => [Metrics.Ttft.Name, Metrics.Tpot.Name, Metrics.Latency.Name],
        "offline" => [Metrics.Throughput.Name, Metrics.Tpot.Name],
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

    /// <summary>
    /// The chart the report opens with (one run): the Realm cells' TTFT and TPOT overheads in the answer's scenario, with
    /// their intervals. The full overhead charts, every cell and headline metric, follow in the Charts section.
    /// </summary>
    public static IEnumerable<ChartImage> Answer(IReadOnlyList<RunData> runs)
    {
        if (runs.Count != 1 || OverheadAnswer.For(runs[0]) is not { } a) yield break;
        var rows = a.RealmCells.SelectMany(c => c.Overheads.Where(o => o.Metric is "ttft" or "tpot").OrderBy(o => o.Metric == "tpot").Select(o => (Run: runs[0], Cell: c, O: o))).ToList();
        yield return OverheadChart(rows, AnswerChart, $"The Realm's overhead on TTFT and TPOT: {a.Scenario}");
    }

    public const string AnswerChart = "answer";

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
            ticks.Add(new Tick(y, $"{c.Workload} {Label(run, c, false)} · {o.Metric} [{c.EvidenceLabel}]"));
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
}
