using System.Diagnostics;
using PerfLab.Core.Analysis;
using PerfLab.Core.Gate;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Results;
using PerfLab.Core.Suites;
using PerfLab.Lab.Backends;
using PerfLab.Lab.Hosts;
using PerfLab.Lab.Micro;
using PerfLab.Lab.Progress;
using PerfLab.Lab.Results;

namespace PerfLab.Lab.Runner;

/// <summary>What a finished (or interrupted) run leaves: its folder and every cell's result.</summary>
public sealed record RunOutcome(string FolderPath, IReadOnlyList<CellResult> Cells, bool Interrupted)
{
    public int Failed => Cells.Count(c => c.Status == CellStatus.Failed);
    public int Skipped => Cells.Count(c => c.Status == CellStatus.Skipped);
}

/// <summary>
/// Runs a validated suite: probes every cell's backend first (SKIP with the reason, before anything is measured),
/// then per cell launches the Realm, drives the load, collects stats, tears down, analyses and records.
/// A cell whose Realm fails, hangs or dies fails alone; the suite goes on.
/// </summary>
public sealed class SuiteRunner(IReadOnlyList<IRealmBackend> backends, IWaitStrategy wait)
{
    public RunOutcome Run(Suite suite, string runsDir, IRunProgress progress, CancellationToken cancel)
    {
        var host = HostEnvironment.Capture();
        var plan = suite.Cells
            .OrderByDescending(c => c.IsBaseline) // baselines first, so every other cell can state its overhead at once
            .Select(c => (Cell: c, Skip: SkipReason(c)))
            .ToList();
        var skipped = plan.Where(p => p.Skip != null).Select(p => $"SKIP {p.Cell.Id}: {p.Skip}").ToList();
        foreach (var s in skipped) progress.Note(s);

        using var folder = RunFolder.Create(runsDir, suite, host, skipped);
        progress.Note($"run folder: {folder.Path}");
        var results = new Dictionary<string, CellResult>();
        var index = 0;
        var interrupted = false;
        foreach (var (cell, skip) in plan)
        {
            index++;
            if (cancel.IsCancellationRequested) { interrupted = true; break; }
            var backend = backends.FirstOrDefault(b => b.Platform == cell.Realm.Platform);
            if (skip != null || backend is null)
            {
                var r = Empty(cell, CellStatus.Skipped, skip ?? "no backend", backend?.EvidenceFor(cell.Realm) ?? Evidence.Measured);
                results[cell.Id] = r;
                folder.AddCell(r, "-");
                continue;
            }
            progress.CellStarted(index, plan.Count, cell);
            var result = cell.Workload.Kind == "micro"
                ? MicroCell.Run(suite, cell, folder, NativeBackend.Cpus(cell.Realm))
                : RunCell(suite, cell, backend, folder, progress, cancel, results);
            results[cell.Id] = result;
            folder.AddCell(result, $"agent:{cell.Workload.Kind}");
            progress.CellFinished(result);
            if (result.Status == CellStatus.Interrupted) { interrupted = true; break; }
        }
        folder.Finish(interrupted);
        return new RunOutcome(folder.Path, folder.Cells, interrupted);
    }

    private string? SkipReason(Cell cell)
    {
        var backend = backends.FirstOrDefault(b => b.Platform == cell.Realm.Platform);
        if (backend is null)
            return $"the {cell.Realm.Platform.Name()} backend is not available in this build (backends here: {string.Join(", ", backends.Select(b => b.Platform.Name()))})";
        return backend.CannotRun(cell);
    }

    private CellResult RunCell(Suite suite, Cell cell, IRealmBackend backend, RunFolder folder, IRunProgress progress,
        CancellationToken cancel, IReadOnlyDictionary<string, CellResult> done)
    {
        var evidence = backend.EvidenceFor(cell.Realm);
        IRealm realm;
        try
        {
            realm = backend.Launch(cell, TimeSpan.FromSeconds(suite.AgentTimeout.Seconds));
        }
        catch (RealmFailedException e)
        {
            return Empty(cell, CellStatus.Failed, "launch failed: " + e.Message, evidence) with { StderrTail = e.StderrTail };
        }
        using (realm)
        {
            var self = Process.GetCurrentProcess();
            var cpuBefore = self.TotalProcessorTime;
            CapacityResult? capacity = null;
            var spec = cell.Scenario;
            ScenarioRun run;
            if (cell.Scenario.Search is { } search)
                (run, spec, capacity) = SearchCapacity(suite, cell, search, realm, folder, progress, cancel);
            else
                run = new LoadGenerator(wait).Run(spec, realm.Sut, realm.Library, suite.Seed, cancel, progress.CellProgress);
            self.Refresh();
            var cpuUs = (self.TotalProcessorTime - cpuBefore).TotalMicroseconds;
            string? reason = run.Failure;
            if (reason is null)
            {
                try { realm.CollectStats(); }
                catch (RealmFailedException e) { reason = "stats failed: " + e.Message; }
            }
            realm.Teardown();
            // The lifecycle's last step: from the start of the load to the first token the client saw.
            if (run.Records.FirstOrDefault(r => r.FirstTokenNs >= 0) is { FirstTokenNs: >= 0 } first && realm.PhasesMs is IDictionary<string, double> phases)
                phases["first_token"] = first.FirstTokenNs / 1e6;
            folder.AppendSamples(cell, run.Records);
            var analysis = ScenarioAnalysis.Of(spec, run, suite.Profile, suite.Gate);
            var values = Metrics.FromRecords(run.Records, cell.Scenario.Kind);
            if (cell.IsBaseline) _baselineValues[cell.Id] = values;
            var status = reason != null ? CellStatus.Failed : run.Interrupted ? CellStatus.Interrupted : CellStatus.Ok;
            return new CellResult(cell, status, reason, evidence, run.Effective, realm.Effective, realm.PhasesMs, analysis,
                run.Records.Length == 0 ? null : cpuUs / run.Records.Length, status == CellStatus.Failed ? realm.StderrTail : null,
                Overheads(cell, values, done, suite.Gate.Confidence)) { Capacity = capacity };
        }
    }

    /// <summary>
    /// Runs the probes of a capacity search on one Realm, each a full-length server run at the suite's profile with the
    /// suite's seed (the same arrival pattern scaled, so neighbouring rates are compared on equal terms). Every probe's
    /// queries are kept in cells/&lt;cell&gt;/capacity_samples.csv; the cell's own samples are those of its highest VALID probe.
    /// </summary>
    private (ScenarioRun Run, ScenarioSpec Spec, CapacityResult Result) SearchCapacity(Suite suite, Cell cell, CapacitySearchSpec search,
        IRealm realm, RunFolder folder, IRunProgress progress, CancellationToken cancel)
    {
        (ScenarioRun Run, ScenarioSpec Spec)? best = null, last = null;
        var result = CapacitySearch.Run(search, (index, phase, qps) =>
        {
            var spec = CapacitySearch.ProbeSpec(cell.Scenario, qps);
            var run = new LoadGenerator(wait).Run(spec, realm.Sut, realm.Library, suite.Seed, cancel, progress.CellProgress);
            folder.AppendCapacitySamples(cell, index, qps, run.Records);
            var a = ScenarioAnalysis.Of(spec, run, suite.Profile, suite.Gate);
            last = (run, spec);
            var failed = run.Failure != null || run.Interrupted;
            if (a.Validity.Valid && !failed && (best is null || qps > best.Value.Spec.TargetQps)) best = (run, spec);
            double? P99(string m) => a.Distributions.TryGetValue(m, out var d) ? d.P99.Value : null;
            var probe = new CapacityProbe(index, phase, qps, a.Validity.Valid && !failed, failed, a.QueriesPerSecond,
                P99(Metrics.Ttft.Name), P99(Metrics.Tpot.Name), P99(Metrics.Latency.Name),
                a.Validity.Valid ? null : string.Join("; ", a.Validity.Reasons));
            progress.Note($"  probe {index + 1} ({phase}) {qps:0.###} QPS: {(probe.Valid ? "VALID" : "INVALID")}" +
                          (probe.P99TtftNs is { } t ? $", p99 TTFT {t / 1e6:0.##} ms" : "") + (probe.P99LatencyNs is { } l ? $", p99 latency {l / 1e6:0.##} ms" : ""));
            return probe;
        }, cancel);
        progress.Note($"  capacity: {(result.CapacityQps is { } c ? $"{c:0.###} QPS" : "none")} — {result.Note}");
        // No probe at all only when cancelled before the first: that run stops at once and the cell reads as interrupted.
        var chosen = best ?? last ?? (new LoadGenerator(wait).Run(CapacitySearch.ProbeSpec(cell.Scenario, search.StartQps), realm.Sut, realm.Library, suite.Seed, cancel), cell.Scenario);
        return (chosen.Run, chosen.Spec, result);
    }

    /// <summary>Each gated metric of the cell against its baseline cell: the ratio of typical values with its interval.</summary>
    private IReadOnlyList<Overhead> Overheads(Cell cell, Dictionary<string, double[]> mine, IReadOnlyDictionary<string, CellResult> done, double confidence)
    {
        // A capacity search's samples come from whichever rate it ended on: its comparison is the capacity, not latencies.
        if (cell.Scenario.Search != null) return [];
        if (cell.BaselineId is not { } bid || !done.TryGetValue(bid, out var baseline) || baseline.Status != CellStatus.Ok) return [];
        if (!_baselineValues.TryGetValue(bid, out var theirs)) return [];
        var list = new List<Overhead>();
        foreach (var (metric, values) in mine)
        {
            if (metric is "issue_lag" || !theirs.TryGetValue(metric, out var b)) continue;
            var c = SampleComparer.Compare(b, values, Metrics.ByName(metric).HigherIsBetter, 1, confidence);
            if (double.IsNaN(c.Ratio)) continue;
            list.Add(new Overhead(metric, bid, c.EffectPct, (c.RatioLower - 1) * 100, (c.RatioUpper - 1) * 100));
        }
        return list;
    }

    // Baseline cells' metric values, kept for the overhead of the cells that follow them.
    private readonly Dictionary<string, Dictionary<string, double[]>> _baselineValues = new();

    private static CellResult Empty(Cell cell, CellStatus status, string reason, Evidence evidence) =>
        new(cell, status, reason, evidence, null, new Dictionary<string, string>(), new Dictionary<string, double>(), null, null, null, []);
}
