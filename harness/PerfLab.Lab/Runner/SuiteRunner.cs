using PerfLab.Core.Analysis;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Results;
using PerfLab.Core.Suites;
using PerfLab.Core.Time;
using PerfLab.Lab.Backends;
using PerfLab.Lab.Hosts;
using PerfLab.Lab.Progress;
using PerfLab.Results;
using PerfLab.Results.Schema;

namespace PerfLab.Lab.Runner;

/// <summary>What a finished (or interrupted) run leaves: its folder and every cell's result.</summary>
public sealed record RunOutcome(string FolderPath, IReadOnlyList<CellResult> Cells, bool Interrupted)
{
    public int Failed => Cells.Count(c => c.Status == CellStatus.Failed);
    public int Skipped => Cells.Count(c => c.Status == CellStatus.Skipped);
}

/// <summary>What a run is recorded against: the host, the package versions, and the clock its load generator reads.</summary>
public sealed record RunContext(HostEnvironment Host, IReadOnlyDictionary<string, string> Packages, IWaitStrategy Wait, IClock Clock)
{
    /// <summary>Samples the host's other activity around each cell's measured window (null: not sampled, as in virtual time).</summary>
    public IInterferenceProbe? Interference { get; init; }
    public InterferenceBound InterferenceBound { get; init; } = PerfLab.Core.Analysis.Interference.DefaultBound;
}

/// <summary>
/// Runs a validated suite: asks every cell's backend first whether it can run it (SKIP with the reason, before anything
/// is measured), then per cell launches the Realm, drives its workload, collects stats, tears down, analyses and
/// records. A cell whose Realm fails, hangs or dies fails alone; the suite goes on. Overheads are the run folder's
/// business, from the cells recorded: the order cells run in does not matter.
/// </summary>
public sealed class SuiteRunner(IReadOnlyList<IRealmBackend> backends, RunContext context)
{
    public RunOutcome Run(Suite suite, string runsDir, IRunProgress progress, CancellationToken cancel)
    {
        var plan = suite.Cells.Select(c => (Cell: c, Skip: SkipReason(c))).ToList();
        var skipped = plan.Where(p => p.Skip != null).Select(p => $"SKIP {p.Cell.Id}: {p.Skip}").ToList();
        foreach (var s in skipped) progress.Note(s);

        using var folder = RunFolderWriter.Create(runsDir, suite, context.Host, context.Packages, skipped);
        progress.Note($"run folder: {folder.Path}");
        var index = 0;
        var interrupted = false;
        foreach (var (cell, skip) in plan)
        {
            index++;
            if (cancel.IsCancellationRequested) { interrupted = true; break; }
            var backend = backends.FirstOrDefault(b => b.Platform == cell.Realm.Platform);
            if (skip != null || backend is null)
            {
                folder.AddCell(CellResult.Empty(cell, CellStatus.Skipped, skip ?? "no backend", backend?.EvidenceFor(cell.Realm) ?? Evidence.Measured), "-");
                continue;
            }
            progress.CellStarted(index, plan.Count, cell);
            var (result, values) = new CellRun(suite, cell, backend, folder, progress, context, cancel).Run();
            folder.AddCell(result, $"agent:{cell.Workload.Kind.Name}", values);
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
}
