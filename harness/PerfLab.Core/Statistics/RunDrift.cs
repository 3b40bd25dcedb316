namespace PerfLab.Core.Statistics;

/// <summary>How runs of one cell and metric spread, launch by launch and run by run.</summary>
/// <param name="LaunchSdPct">the spread of launch medians within a run (pooled), ×100 on the log scale</param>
/// <param name="RunSdPct">the spread of the run offsets beyond what the launches explain, ×100 (0 when none shows)</param>
/// <param name="Kappa">RunSdPct / LaunchSdPct: the gate's run_drift for this metric</param>
public sealed record RunDriftEstimate(string CellId, string Metric, int Runs, int Launches, double LaunchSdPct, double RunSdPct, double Kappa);

/// <summary>
/// Measures κ (GateSpec.RunDrift) from several runs of one build: a one-way random-effects analysis of the launches'
/// log medians, run as the group. The mean square within runs estimates the launch variance s²; the mean square between
/// runs estimates s² + n₀·σ²_run; the method of moments gives σ²_run, clipped at 0. κ = σ_run / s, per cell and metric,
/// and pooled as the root mean square over them (each metric counts alike, whatever its scale).
/// </summary>
public static class RunDrift
{
    /// <param name="runs">each run's launches (the values of one launch each) of one cell and metric</param>
    public static RunDriftEstimate? Estimate(string cellId, string metric, IReadOnlyList<IReadOnlyList<double[]>> runs)
    {
        var groups = runs.Select(r => Launches.LogMedians(r)).Where(g => g.Length >= 2).ToList();
        if (groups.Count < 3) return null;
        var n = groups.Sum(g => g.Length);
        var grand = groups.SelectMany(g => g).Average();
        var ssWithin = groups.Sum(g => { var m = g.Average(); return g.Sum(v => (v - m) * (v - m)); });
        var ssBetween = groups.Sum(g => g.Length * Math.Pow(g.Average() - grand, 2));
        var msWithin = ssWithin / (n - groups.Count);
        var msBetween = ssBetween / (groups.Count - 1);
        // n₀: the effective launches per run when runs differ in size (equal sizes give n).
        var n0 = (n - groups.Sum(g => (double)g.Length * g.Length) / n) / (groups.Count - 1);
        var runVar = Math.Max(0, (msBetween - msWithin) / n0);
        var launchSd = Math.Sqrt(msWithin);
        var kappa = launchSd > 0 ? Math.Sqrt(runVar) / launchSd : 0;
        return new RunDriftEstimate(cellId, metric, groups.Count, n, launchSd * 100, Math.Sqrt(runVar) * 100, kappa);
    }

    /// <summary>The root mean square of the per-metric κ (NaN when there are none).</summary>
    public static double Pooled(IReadOnlyCollection<RunDriftEstimate> estimates) =>
        estimates.Count == 0 ? double.NaN : Math.Sqrt(estimates.Average(e => e.Kappa * e.Kappa));
}
