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
/// is measured), then launches every cell Repetitions times, interleaved (A B C, A B C…) so slow drift of the host hits
/// every cell alike: each launch starts the Realm, drives its workload, collects stats, tears down, and is recorded.
/// A launch whose Realm fails, hangs or dies fails its cell alone; the suite goes on. Overheads and the cells' combined
/// figures are the run folder's business, from the launches recorded: the order they ran in does not matter.
/// </summary>
public sealed class SuiteRunner(IReadOnlyList<IRealmBackend> backends, RunContext context)
{
    /// <param name="repetitions">launches per cell (null: the suite's)</param>
    /// <param name="shard">the shard of a fleet run this suite's cells are (null: the whole suite)</param>
    public RunOutcome Run(Suite suite, string runsDir, IRunProgress progress, CancellationToken cancel, int? repetitions = null, ShardRecord? shard = null)
    {
        var launches = repetitions ?? suite.Repetitions;
        var plan = suite.Cells.Select(c => (Cell: c, Skip: SkipReason(c))).ToList();
        var skipped = plan.Where(p => p.Skip != null).Select(p => $"SKIP {p.Cell.Id}: {p.Skip}").ToList();
        foreach (var s in skipped) progress.Note(s);

        using var folder = RunFolderWriter.Create(runsDir, suite, context.Host, context.Packages, skipped, repetitions: launches, shard: shard);
        progress.Note($"run folder: {folder.Path}");
        if (launches > 1) progress.Note($"{launches} launches of every cell, interleaved: launch 1 of every cell, then launch 2…");
        foreach (var (cell, skip) in plan.Where(p => p.Skip != null))
            folder.AddLaunch(Skipped(cell, skip!), "-");
        return Drive(suite, folder, plan.Where(p => p.Skip == null).Select(p => p.Cell).ToList(), launches, new HashSet<(string, int)>(), progress, cancel);
    }

    /// <summary>
    /// Finishes a run whose process died or was interrupted: only the launches its manifest has not recorded run, in the
    /// same interleaved order, into the same folder (RunFolderWriter.Resume keeps what was measured and sets aside the rows
    /// of the launch that was cut short). A cell skipped before stays skipped; one this host now cannot run is skipped.
    /// </summary>
    public RunOutcome Resume(string runFolder, int launches, Suite suite, IRunProgress progress, CancellationToken cancel)
    {
        using var folder = RunFolderWriter.Resume(runFolder, suite);
        // What the folder holds once its lock is ours, not what the manifest said before.
        var done = folder.Launches.Select(c => (c.Cell.Id, c.Launch)).ToHashSet();
        var recordedSkipped = folder.Launches.Where(c => c.Status == CellStatus.Skipped).Select(c => c.Cell.Id).ToHashSet();
        var toRun = new List<Cell>();
        foreach (var cell in suite.Cells.Where(c => !recordedSkipped.Contains(c.Id)))
        {
            if (SkipReason(cell) is { } skip)
            {
                progress.Note($"SKIP {cell.Id}: {skip}");
                folder.AddLaunch(Skipped(cell, skip), "-");
            }
            else toRun.Add(cell);
        }
        return Drive(suite, folder, toRun, launches, done, progress, cancel, resuming: true);
    }

    private RunOutcome Drive(Suite suite, RunFolderWriter folder, List<Cell> toRun, int launches, IReadOnlySet<(string, int)> done,
        IRunProgress progress, CancellationToken cancel, bool resuming = false)
    {
        var total = toRun.Sum(c => Enumerable.Range(1, launches).Count(k => !done.Contains((c.Id, k))));
        if (resuming) progress.Note($"resuming {folder.Path}: {done.Count} launches recorded, {total} to run");
        var index = 0;
        var interrupted = false;
        for (var launch = 1; launch <= launches && !interrupted; launch++)
        {
            foreach (var cell in toRun)
            {
                if (done.Contains((cell.Id, launch))) continue;
                index++;
                if (cancel.IsCancellationRequested) { interrupted = true; break; }
                var backend = backends.First(b => b.Platform == cell.Realm.Platform);
                progress.CellStarted(index, total, cell);
                var (result, values) = new CellRun(suite, cell, backend, folder, progress, context, cancel, launch).Run();
                result = result with { Launch = launch };
                folder.AddLaunch(result, $"agent:{cell.Workload.Kind.Name}", values);
                progress.CellFinished(result);
                if (result.Status == CellStatus.Interrupted) { interrupted = true; break; }
            }
        }
        folder.Finish(interrupted);
        return new RunOutcome(folder.Path, folder.Cells, interrupted);
    }

    private CellResult Skipped(Cell cell, string reason) =>
        CellResult.Empty(cell, CellStatus.Skipped, reason, backends.FirstOrDefault(b => b.Platform == cell.Realm.Platform)?.EvidenceFor(cell.Realm) ?? Evidence.Measured);

    private string? SkipReason(Cell cell)
    {
        var backend = backends.FirstOrDefault(b => b.Platform == cell.Realm.Platform);
        if (backend is null)
            return $"the {cell.Realm.Platform.Name()} backend is not available in this build (backends here: {string.Join(", ", backends.Select(b => b.Platform.Name()))})";
        return backend.CannotRun(cell);
    }
}
