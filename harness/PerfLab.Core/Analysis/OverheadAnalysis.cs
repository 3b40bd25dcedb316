using PerfLab.Core.Gate;
using PerfLab.Core.Results;

namespace PerfLab.Core.Analysis;

/// <summary>
/// Overheads after the run: every cell against its baseline cell, from the run's cells alone, so the order the cells
/// ran in does not matter (a baseline may run last, or between two launches of the cell it is compared with).
/// </summary>
public static class OverheadAnalysis
{
    /// <summary>The cells with their overheads filled in; values are each cell's metric samples (cell → metric → values).</summary>
    /// <remarks>
    /// With two or more launches a side, the interval is Welch's over the launches' medians (Statistics.Launches): it holds
    /// the variation between launches. With one, it is the query-level interval of one launch each, marked as such.
    /// </remarks>
    public static IReadOnlyList<CellResult> Apply(IReadOnlyList<CellResult> cells,
        IReadOnlyDictionary<string, Dictionary<string, List<double[]>>> values, double confidence)
    {
        var byId = cells.ToDictionary(c => c.Cell.Id);
        return cells.Select(c => c with { Overheads = Of(c, byId, values, confidence) }).ToList();
    }

    private static IReadOnlyList<Overhead> Of(CellResult cell, Dictionary<string, CellResult> byId,
        IReadOnlyDictionary<string, Dictionary<string, List<double[]>>> values, double confidence)
    {
        // A capacity search's samples come from whichever rate it ended on: its comparison is the capacity, not latencies.
        if (cell.Status != CellStatus.Ok || cell.Cell.Scenario.Search != null) return [];
        if (cell.Cell.BaselineId is not { } bid || !byId.TryGetValue(bid, out var baseline) || baseline.Status != CellStatus.Ok) return [];
        if (!values.TryGetValue(cell.Cell.Id, out var mine) || !values.TryGetValue(bid, out var theirs)) return [];
        var list = new List<Overhead>();
        foreach (var (metric, v) in mine)
        {
            if (metric == Metrics.IssueLag.Name || !theirs.TryGetValue(metric, out var b) || !Metrics.TryByName(metric, out var info)) continue;
            var c = LaunchComparer.Compare(b, v, info.HigherIsBetter, 1, confidence);
            var basis = "launches";
            if (double.IsNaN(c.Ratio) || c.BaselineN < 2 || c.CandidateN < 2)
            {
                c = SampleComparer.Compare(b.SelectMany(x => x).ToArray(), v.SelectMany(x => x).ToArray(), info.HigherIsBetter, 1, confidence);
                basis = "queries";
            }
            if (double.IsNaN(c.Ratio)) continue;
            list.Add(new Overhead(metric, bid, c.EffectPct, (c.RatioLower - 1) * 100, (c.RatioUpper - 1) * 100) { Basis = basis });
        }
        return list;
    }
}
