using System.Globalization;
using PerfLab.Results;
using ScottPlot;

namespace PerfLab.Report;

public static partial class Charts
{
    /// <summary>The points of one sweep: its cells of one workload and Realm, by rate, with each user's tokens/s and the total.</summary>
    public static IEnumerable<(RunData Run, string Sweep, string Workload, string RealmId, List<SweepPoint> Points)> Sweeps(IReadOnlyList<RunData> runs) =>
        runs.SelectMany(r => r.Cells.Where(c => c.Status == "ok" && c.Requested?.ScenarioSettings?.Sweep is not null && c.Result is not null)
                .Select(c => (Run: r, Cell: c)))
            .GroupBy(x => (x.Run, Sweep: x.Cell.Requested!.ScenarioSettings!.Sweep!, x.Cell.Workload, x.Cell.RealmId))
            .Select(g => (g.Key.Run, g.Key.Sweep, g.Key.Workload, g.Key.RealmId,
                g.Select(x => SweepPoint.Of(x.Cell)).OrderBy(p => p.TargetQps).ToList()));

    /// <summary>
    /// Throughput against each user's token rate over a sweep's rates: the Pareto view serving benchmarks draw (vLLM's bench
    /// serve, AIPerf). Up and to the right is better; a server trades one for the other as its load rises.
    /// </summary>
    public static IEnumerable<ChartImage> SweepPareto(IReadOnlyList<RunData> runs, bool multi)
    {
        foreach (var bySweep in Sweeps(runs).GroupBy(s => (s.Sweep, s.Workload)))
        {
            var plt = NewPlot($"{bySweep.Key.Workload} · sweep {bySweep.Key.Sweep}: throughput against each user's speed",
                "tokens/s per user (1 / median TPOT)", "output tokens/s, all users");
            var i = 0;
            var evidence = new List<string>();
            foreach (var s in bySweep)
            {
                var color = Palette[i++ % Palette.Length];
                var pts = s.Points.Where(p => p.PerUserTokensPerSecond is not null).ToList();
                if (pts.Count == 0) continue;
                var line = plt.Add.Scatter(pts.Select(p => p.PerUserTokensPerSecond!.Value).ToArray(), pts.Select(p => p.TokensPerSecond).ToArray(), color);
                line.LineWidth = 2;
                line.MarkerSize = 7;
                line.LegendText = $"{(multi ? s.Run.RunId + " " : "")}{s.RealmId} [{pts[0].Evidence}]";
                foreach (var p in pts)
                {
                    var t = plt.Add.Text(p.TargetQps.ToString("0.##", CultureInfo.InvariantCulture) + " QPS" + (p.Valid ? "" : " ✗"), p.PerUserTokensPerSecond!.Value, p.TokensPerSecond);
                    t.LabelFontSize = 10;
                    t.LabelFontColor = color;
                }
                evidence.Add(pts[0].EvidenceWord);
            }
            if (evidence.Count == 0) continue;
            plt.ShowLegend(Alignment.UpperRight);
            yield return Render(plt, $"sweep-{Slug(bySweep.Key.Workload)}-{Slug(bySweep.Key.Sweep)}", $"{bySweep.Key.Workload} · sweep {bySweep.Key.Sweep}: throughput against per-user speed",
                "Each point is one rate of the sweep (its own cell, Poisson arrivals), labelled with its rate; ✗ marks an INVALID one. " +
                "Per-user speed is 1 / the median TPOT over that rate's served queries.", evidence);
        }
    }
}

/// <summary>One rate of a sweep as the report shows it.</summary>
public sealed record SweepPoint(string CellId, double TargetQps, double QueriesPerSecond, double TokensPerSecond, double? PerUserTokensPerSecond,
    double? P99TtftNs, double? GoodputPerSecond, long Failed, bool Valid, string Evidence, string EvidenceWord)
{
    public static SweepPoint Of(CellData c)
    {
        var r = c.Result!;
        double? tpot = r.Metrics?.TryGetValue("tpot", out var t) == true ? t.Median.Value : null;
        double? ttft = r.Metrics?.TryGetValue("ttft", out var f) == true ? f.P99.Value : null;
        return new SweepPoint(c.Id, c.Requested?.ScenarioSettings?.TargetQps ?? 0, r.QueriesPerS, r.TokensPerS, tpot is > 0 ? 1e9 / tpot.Value : null,
            ttft, r.Goodput?.QueriesPerSecond, r.QueriesFailed, r.Validity == "VALID", c.EvidenceLabel, c.Evidence);
    }
}
