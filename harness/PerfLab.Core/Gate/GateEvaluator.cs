using System.Globalization;
using System.Text;
using PerfLab.Core.Analysis;
using PerfLab.Core.Suites;
using PerfLab.Core.Units;

namespace PerfLab.Core.Gate;

/// <summary>
/// The metric samples of one side of a comparison: cell id → metric → the values of each launch, and the class of host
/// they were measured on (CPU model, cores, kernel, THP, virtualization; null when unknown, as in a baseline recorded
/// before hosts were).
/// </summary>
public sealed record GateInput(string Label, IReadOnlyDictionary<string, IReadOnlyDictionary<string, IReadOnlyList<double[]>>> Cells)
{
    public string? HostClass { get; init; }

    /// <summary>Cells measured while the host was busy beyond the bound, with why: never called regressed or improved.</summary>
    public IReadOnlyDictionary<string, string> Disturbed { get; init; } = new Dictionary<string, string>();

    /// <summary>Cells some of whose launches were disturbed and left out (their samples are not in Cells), with which: the rest are judged.</summary>
    public IReadOnlyDictionary<string, string> LeftOut { get; init; } = new Dictionary<string, string>();

    /// <summary>One launch per cell: samples recorded before launches were (a schema-2 baseline), or a test's.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyDictionary<string, IReadOnlyList<double[]>>> OneLaunch(
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, double[]>> cells) =>
        cells.ToDictionary(kv => kv.Key, kv => (IReadOnlyDictionary<string, IReadOnlyList<double[]>>)kv.Value.ToDictionary(m => m.Key, m => (IReadOnlyList<double[]>)[m.Value]));
}

/// <summary>What fails a gate (its exit code): a regression only, or an inconclusive verdict as well.</summary>
public enum FailOn { Regression, Inconclusive }

public sealed record GateRow(string CellId, string Metric, Comparison Comparison);

/// <summary>The gate's answer for a whole run: one row per cell and metric, and what could not be compared.</summary>
public sealed record GateReport(string Baseline, string Candidate, GateSpec Spec, IReadOnlyList<GateRow> Rows,
    IReadOnlyList<string> MissingCells, IReadOnlyList<string> Notes)
{
    /// <summary>Why nothing was compared: the two sides come from different host classes (verdicts would be about hardware).</summary>
    public string? HostProblem { get; init; }

    /// <summary>A regressed metric, or a cell that the baseline has and the candidate lost (it failed or vanished).</summary>
    public bool AnyRegression => MissingCells.Count > 0 || Rows.Any(r => r.Comparison.Verdict == Verdict.Regressed);
    public bool AnyInconclusive => HostProblem != null || Count(Verdict.Inconclusive) > 0;
    public int Count(Verdict v) => Rows.Count(r => r.Comparison.Verdict == v);

    /// <summary>Whether this report fails a build under the given policy: inconclusive is never a pass, but failing on it is a choice.</summary>
    public bool Fails(FailOn policy) => AnyRegression || (policy == FailOn.Inconclusive && AnyInconclusive);

    private string Floors()
    {
        var parts = new List<string>();
        if (Spec.ThresholdAbsNs > 0) parts.Add($"{Nanoseconds.Format(Spec.ThresholdAbsNs)} for per-query times");
        if (Spec.ThresholdAbsPerTokenNs > 0) parts.Add($"{Nanoseconds.Format(Spec.ThresholdAbsPerTokenNs)} per token");
        return parts.Count > 0 ? $" (at least {string.Join(", ", parts)})" : "";
    }

    /// <summary>A Markdown table fit for a CI job summary.</summary>
    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        var headline = AnyRegression ? "❌ regression"
            : HostProblem != null ? "⚠️ inconclusive: not compared across host classes"
            : Count(Verdict.Inconclusive) > 0 ? "⚠️ no regression shown; some cells inconclusive" : "✅ no regression";
        sb.AppendLine($"## PerfLab gate: {headline}");
        sb.AppendLine();
        sb.AppendLine($"Baseline `{Baseline}` vs candidate `{Candidate}`; threshold {Spec.ThresholdPct:0.##}%" +
                      Floors() + $", confidence {Spec.Confidence:0.###}, run drift κ {Spec.RunDrift:0.0##} (runs made at different times differ by κ × the launch spread beyond their launches). " +
                      $"{Count(Verdict.Regressed)} regressed, {Count(Verdict.Improved)} improved, {Count(Verdict.Unchanged)} unchanged, {Count(Verdict.Inconclusive)} inconclusive.");
        sb.AppendLine();
        if (HostProblem != null) return sb.AppendLine("**Inconclusive:** " + HostProblem).ToString();
        sb.AppendLine("| cell | metric | verdict | change | interval | launches (base/cand) | why |");
        sb.AppendLine("|---|---|---|---:|---|---:|---|");
        foreach (var r in Rows.OrderBy(r => r.Comparison.Verdict switch { Verdict.Regressed => 0, Verdict.Inconclusive => 1, Verdict.Improved => 2, _ => 3 }).ThenBy(r => r.CellId))
        {
            var c = r.Comparison;
            static string P(double ratio) => Percent.Signed((ratio - 1) * 100);
            sb.AppendLine($"| `{r.CellId}` | {r.Metric} | **{c.Verdict.ToString().ToLowerInvariant()}** | {P(c.Ratio)} | [{P(c.RatioLower)}, {P(c.RatioUpper)}] | {c.BaselineN}/{c.CandidateN} | {c.Reason} |");
        }
        foreach (var m in MissingCells)
            sb.AppendLine($"| `{m}` | – | **missing** | – | – | – | in the baseline, but the candidate has no result for it (failed or removed) |");
        if (Notes.Count > 0)
        {
            sb.AppendLine();
            foreach (var n in Notes) sb.AppendLine("- " + n);
        }
        return sb.ToString();
    }
}

/// <summary>Compares a candidate run with a baseline per cell and metric. Pure: the inputs are samples, not files.</summary>
public static class GateEvaluator
{
    /// <param name="allowOtherHost">compare even when the two sides come from different (or unknown) host classes</param>
    public static GateReport Evaluate(GateInput baseline, GateInput candidate, GateSpec spec, bool allowOtherHost = false)
    {
        var rows = new List<GateRow>();
        var notes = new List<string>();
        var sameHost = baseline.HostClass != null && baseline.HostClass == candidate.HostClass;
        if (!sameHost && !allowOtherHost)
            return new GateReport(baseline.Label, candidate.Label, spec, [], [], notes)
            {
                HostProblem = $"baseline from {baseline.HostClass ?? "an unknown host (recorded before baselines named their host)"}, " +
                              $"candidate on {candidate.HostClass ?? "an unknown host"}. A difference between them would be about hardware, not code. " +
                              $"Record a baseline on this host with `perflab gate --update-baseline --baseline <file> --candidate {candidate.Label}`, " +
                              "or compare anyway with --allow-other-host.",
            };
        if (!sameHost)
            notes.Add($"compared across host classes as asked (--allow-other-host): baseline from {baseline.HostClass ?? "an unknown host"}, candidate on {candidate.HostClass ?? "an unknown host"}");
        foreach (var (cellId, candMetrics) in candidate.Cells.OrderBy(kv => kv.Key))
        {
            if (!baseline.Cells.TryGetValue(cellId, out var baseMetrics))
            {
                notes.Add($"`{cellId}`: not in the baseline; nothing to compare (a new cell is neither a pass nor a failure)");
                continue;
            }
            foreach (var metric in spec.Metrics)
            {
                var info = Metrics.ByName(metric);
                var hasC = candMetrics.TryGetValue(metric, out var c);
                var hasB = baseMetrics.TryGetValue(metric, out var b);
                if (!hasC && !hasB) continue;
                if (!hasC || !hasB)
                {
                    notes.Add($"`{cellId}` {metric}: present in the {(hasB ? "baseline" : "candidate")} only");
                    continue;
                }
                var comparison = LaunchComparer.Compare(b!, c!, info.HigherIsBetter, spec.ThresholdPct, spec.Confidence, spec.FloorFor(info), spec.RunDrift);
                // A disturbed cell says more about its neighbours than about the code: it is shown, never judged.
                var busy = candidate.Disturbed.TryGetValue(cellId, out var dc) ? "candidate " + dc
                    : baseline.Disturbed.TryGetValue(cellId, out var db) ? "baseline " + db : null;
                if (busy != null) comparison = comparison with { Verdict = Verdict.Inconclusive, Reason = $"inconclusive: {busy}; measured {comparison.Reason}" };
                else
                {
                    var left = new[] { ("candidate", candidate.LeftOut), ("baseline", baseline.LeftOut) }
                        .Where(s => s.Item2.ContainsKey(cellId)).Select(s => $"{s.Item1}: {s.Item2[cellId]}").ToList();
                    if (left.Count > 0) comparison = comparison with { Reason = $"{comparison.Reason} (disturbed launches left out: {string.Join("; ", left)})" };
                }
                rows.Add(new GateRow(cellId, metric, comparison));
            }
        }
        var missing = baseline.Cells.Keys.Except(candidate.Cells.Keys).Order().ToList();
        return new GateReport(baseline.Label, candidate.Label, spec, rows, missing, notes);
    }
}
