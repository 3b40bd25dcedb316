using System.Diagnostics;
using System.Text.Json;
using PerfLab.Core.Analysis;
using PerfLab.Core.Results;
using PerfLab.Core.Suites;
using PerfLab.Lab.Results;

namespace PerfLab.Lab.Micro;

/// <summary>
/// Runs one native microbenchmark case as a cell: wsbench (built if needed) on the host, its raw line kept in the
/// cell's folder, its samples analysed like any other cell so the same statistics and gate apply. A case the host
/// cannot run is a skipped cell with wsbench's reason; a case that fails is a failed cell.
/// </summary>
public static class MicroCell
{
    public static CellResult Run(Suite suite, Cell cell, RunFolder folder, IReadOnlyList<int> cpus, double timeGoalMs = 200)
    {
        var name = cell.Workload.GetString("case");
        var sw = Stopwatch.StartNew();
        WsbenchCase r;
        try
        {
            var exe = NativeBuild.EnsureWsbench();
            r = Wsbench.RunCase(exe, name, cpus, TimeSpan.FromMinutes(10), timeGoalMs);
        }
        catch (NativeUnavailableException e)
        {
            return Result(cell, CellStatus.Skipped, e.Message);
        }
        if (r.Status == "skip") return Result(cell, CellStatus.Skipped, r.Reason);
        if (r.Status != "ok" || r.Samples.Length == 0) return Result(cell, CellStatus.Failed, r.Reason ?? "wsbench gave no samples");
        var metric = r.Unit == "ticks" ? Metrics.OpCost : Metrics.Bandwidth;
        var values = r.Values;
        folder.AppendMicroSamples(cell, metric.Name, values, r.RawJson);
        var effective = r.Extra.ToDictionary(kv => "wsbench." + kv.Key, kv => kv.Value.ValueKind == JsonValueKind.String ? kv.Value.GetString()! : kv.Value.GetRawText());
        effective["wsbench.unit"] = r.Unit;
        effective["wsbench.tick_hz"] = r.TickHz.ToString("0");
        effective["wsbench.empty_ticks"] = r.EmptyTicks.ToString("0.##");
        var phases = new Dictionary<string, double> { ["run"] = sw.Elapsed.TotalMilliseconds };
        return new CellResult(cell, CellStatus.Ok, null, Evidence.Measured, null, effective, phases,
            ScenarioAnalysis.OfSamples(metric, values, sw.Elapsed.TotalSeconds, suite.Gate), null, null, []);
    }

    private static CellResult Result(Cell cell, CellStatus status, string? reason) =>
        new(cell, status, reason, Evidence.Measured, null, new Dictionary<string, string>(), new Dictionary<string, double>(), null, null, null, []);
}
