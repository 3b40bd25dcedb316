using PerfLab.Core.Analysis;
using PerfLab.Core.Suites;
using PerfLab.Results;
using System.Globalization;
using ScottPlot;

namespace PerfLab.Report;

/// <summary>Latency CDFs per cell, and throughput against latency from the probes of a capacity search.</summary>
public static partial class Charts
{
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
                if (metric == Metrics.Latency.Name && !Metrics.IsGateable(ScenarioNames.All.GetValueOrDefault(g.First().Cell.ScenarioKind), metric)) continue; // an offline latency is a queue position
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
                    s.LegendText = $"{Label(run, c, multi)} [{c.EvidenceLabel}] p99 {Ms(Quantile(v, 0.99))}";
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
                s.LegendText = $"{Label(run, c, multi)} [{c.EvidenceLabel}]: capacity {(c.Capacity.CapacityQps is { } q ? q.ToString("0.#", CultureInfo.InvariantCulture) + " QPS" : "none")}";
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
}
