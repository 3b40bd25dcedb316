using PerfLab.Results;
using System.Globalization;
using ScottPlot;

namespace PerfLab.Report;

/// <summary>Distributions of the native microbenchmarks, per family, on a log axis.</summary>
public static partial class Charts
{
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
                    s.LegendText = $"{(multi ? run.RunId + " · " : "")}{c.Workload} [{c.EvidenceLabel}] median {Quantile(v, 0.5):0.###}";
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
}
