using PerfLab.Results;
using ScottPlot;

namespace PerfLab.Report;

/// <summary>The Realm's overhead term by term, as a waterfall from the native median to the Realm's.</summary>
public static partial class Charts
{
    // ---- 7. cost waterfall: native → + each modelled term → modelled Realm, beside the measured Realm ----
    /// <summary>
    /// For the answer's reference cell (one run), one chart per figure (TTFT, TPOT): the baseline's median (measured), each
    /// term's modelled share stacked on it (derived), the modelled total, and the cell's own median with the interval of
    /// its overhead (its evidence). The gap between the last two bars is what the model does not capture. Every cell's
    /// terms are in the report's tables; one reference keeps the picture readable.
    /// </summary>
    public static IEnumerable<ChartImage> CostWaterfall(IReadOnlyList<RunData> runs)
    {
        if (runs.Count != 1 || OverheadAnswer.For(runs[0]) is not { Costs: { } costs } a) yield break;
        var run = runs[0];
        var baseline = run.Cells.FirstOrDefault(c => c.Id == costs.BaselineCell);
        foreach (var metric in new[] { "ttft", "tpot" })
        {
            if (baseline?.Result?.Metrics?.GetValueOrDefault(metric) is not { } b || !costs.Measured.TryGetValue(metric, out var measured)) continue;
            var baseUs = b.Median.Value / 1000;
            // A step too small to see (bounce copies of a few dozen bytes: 0.00004 µs) is in the table, not the picture.
            var all = costs.Terms.Select(t => (t.Term, Us: metric == "ttft" ? t.TtftUs : t.TpotUs)).Where(t => t.Us > 0).ToList();
            var steps = all.Where(t => t.Us >= 0.005 * all.Sum(x => x.Us)).ToList();
            var title = $"The Realm's {MetricTitle(metric)}, term by term";
            var plt = NewPlot(title, "", metric == "ttft" ? "TTFT (µs)" : "TPOT (µs)");
            var ticks = new List<Tick>();
            var x = 0.0;
            void Bar(double from, double to, Color color, string label)
            {
                plt.Add.Bar(new Bar { Position = x, ValueBase = from, Value = to, FillColor = color, LineWidth = 0, Size = 0.7 });
                ticks.Add(new Tick(x, label));
                x += 1;
            }
            Bar(0, baseUs, EvidenceColor["measured"], "native median\n(measured)");
            var level = baseUs;
            foreach (var (term, us) in steps)
            {
                Bar(level, level + us, Palette[9], "+ " + Wrap(term, 22));
                level += us;
            }
            Bar(0, level, Palette[9], "modelled Realm\n(" + costs.ModelledEvidence + ")");
            var cellColor = EvidenceColor.GetValueOrDefault(costs.Evidence, Colors.Black);
            Bar(0, baseUs + measured.Us, cellColor, $"Realm median\n({costs.Evidence})");
            var ci = plt.Add.Line(x - 1, baseUs + measured.LowerUs, x - 1, baseUs + measured.UpperUs);
            ci.LineWidth = 2;
            ci.Color = Colors.Black;
            plt.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
            plt.Axes.Bottom.MajorTickStyle.Length = 0;
            // Start the axis below the native median so the terms, small against it, can be seen.
            var lows = new[] { baseUs, baseUs + measured.LowerUs }.Min();
            plt.Axes.SetLimitsY(Math.Max(0, lows * 0.9), Math.Max(level, baseUs + measured.UpperUs) * 1.03);
            yield return Render(plt, "cost-" + metric, title,
                $"{a.Reference.Id} against {baseline.Id}, profile {costs.Prices.Profile}: the native median (measured), each term's modelled " +
                $"share ({costs.ModelledEvidence}: counts × prices; means over the window), the modelled total, and the Realm cell's median with the " +
                $"interval of its overhead ({costs.Evidence}). The axis starts below the native median." +
                (all.Count > steps.Count ? $" {all.Count - steps.Count} term(s) under 0.5 % of the modelled overhead are in the table, not drawn." : ""),
                [costs.Evidence, "measured"], Width + 240, Height + 60);
        }
    }

    private static string Wrap(string s, int width)
    {
        var words = s.Split(' ');
        var lines = new List<string> { "" };
        foreach (var w in words)
        {
            if (lines[^1].Length + w.Length + 1 > width && lines[^1].Length > 0) lines.Add("");
            lines[^1] += (lines[^1].Length > 0 ? " " : "") + w;
        }
        return string.Join("\n", lines.Take(3));
    }
}
