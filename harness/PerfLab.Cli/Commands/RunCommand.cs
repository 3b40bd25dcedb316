using System.CommandLine;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Suites;
using PerfLab.Lab.Backends;
using PerfLab.Lab.Hosts;
using PerfLab.Lab.Os;
using PerfLab.Lab.Progress;
using PerfLab.Lab.Runner;
using Spectre.Console;

namespace PerfLab.Cli.Commands;

/// <summary>`perflab run`: validate a suite, run its cells, write the run folder.</summary>
public static class RunCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var suite = new Option<FileInfo?>("--suite") { Description = "the suite YAML to run" };
        var resume = new Option<DirectoryInfo?>("--resume") { Description = "finish a run whose perflab died or was interrupted: run only the launches its folder has not recorded (instead of --suite)" };
        var results = new Option<DirectoryInfo>("--results") { Description = "where run folders go", DefaultValueFactory = _ => new DirectoryInfo("results/runs") };
        var wait = new Option<string>("--wait") { Description = "how the load generator waits for a scheduled time: precise (nanosleep+spin) or spin-yield", DefaultValueFactory = _ => "precise" };
        wait.AcceptOnlyFromAmong("precise", "spin-yield");
        var plain = new Option<bool>("--plain") { Description = "plain progress lines even at a terminal" };
        var repetitions = new Option<int?>("--repetitions")
        {
            Description = $"launches of every cell, interleaved across cells (default: the suite's repetitions, else {Suite.DefaultRepetitions}); the gate needs 2 a side to judge",
        };
        // Validators read the token, not the value: on a token that does not parse (a word) the value throws, and the
        // parser's own error is the one the user should see.
        repetitions.Validators.Add(r =>
        {
            if (r.Tokens.Count == 1 && int.TryParse(r.Tokens[0].Value, System.Globalization.CultureInfo.InvariantCulture, out var n) && (n < 1 || n > Suite.MaxRepetitions))
                r.AddError($"--repetitions {n}: give a whole number of launches from 1 to {Suite.MaxRepetitions}");
        });
        var shard = new Option<string?>("--shard")
        {
            Description = "run shard i of N of the suite (i/N): its cells by the suite's shard plan, a baseline always with the cells compared with it; " +
                          "the folder records the shard, the host, and the scheduler's job and node. perflab merge makes one run of the shards",
        };
        shard.Validators.Add(r =>
        {
            if (r.Tokens.Count == 1)
                try { Shard.Parse(r.Tokens[0].Value); }
                catch (FormatException e) { r.AddError(e.Message); }
        });
        var cmd = new Command("run", "Run a suite: every cell of its matrix, with results written as the run goes.\n" +
                                     "Example: perflab run --suite bench/suites/mission.yaml; perflab run --resume results/runs/20261128T180000Z-mission")
        {
            suite, results, wait, plain, repetitions, resume, shard,
        };
        cmd.Validators.Add(r =>
        {
            var hasSuite = r.GetResult(suite) is { Implicit: false };
            var hasResume = r.GetResult(resume) is { Implicit: false };
            if (hasSuite == hasResume) r.AddError("give --suite (a new run) or --resume (an unfinished run folder), one of the two");
            else if (hasResume && r.GetResult(repetitions) is { Implicit: false }) r.AddError("--repetitions cannot change a run being resumed: its launches per cell are the ones it started with");
            else if (hasResume && r.GetResult(shard) is { Implicit: false }) r.AddError("--shard cannot change a run being resumed: it resumes the shard it started as");
        });
        cmd.SetAction(async (p, cancel) => (int)await Task.Run(() => p.GetValue(resume) is { } run
            ? Resume(run.FullName, p.GetValue(wait)!, p.GetValue(plain), stdout, stderr, cancel)
            : Execute(p.GetValue(suite)!.FullName, p.GetValue(results)!.FullName, p.GetValue(wait)!, p.GetValue(plain), stdout, stderr, cancel,
                p.GetValue(repetitions), p.GetValue(shard) is { } sh ? Shard.Parse(sh) : null)));
        return cmd;
    }

    public static ExitCode Execute(string suitePath, string runsDir, string waitName, bool plain, TextWriter stdout, TextWriter stderr, CancellationToken cancel,
        int? repetitions = null, Shard? shard = null)
    {
        if (SuiteInput.LoadOrExplain(suitePath, stderr, "nothing was run") is not { } suite) return ExitCode.BadInput;
        foreach (var w in suite.Warnings) stderr.WriteLine("warning: " + w);
        // Files a suite names (an openai workload's prompts) are read now: a damaged one is bad input, before anything runs.
        foreach (var w in suite.Workloads.Where(w => w.Kind == WorkloadKinds.OpenAi))
        {
            try { _ = Lab.Workloads.OpenAiWorkload.Pool(w); }
            catch (Exception e) when (e is FileNotFoundException or InvalidDataException or IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"{suitePath}: workload '{w.Name}': {e.Message}");
                stderr.WriteLine("nothing was run; prompts_file is read from the working directory (a JSONL file: plain prompts or conversations)");
                return ExitCode.BadInput;
            }
        }
        if (shard is not { } sh) return Execute(suite, runsDir, waitName, plain, stdout, stderr, cancel, repetitions);
        Suite part;
        try { part = ShardPlan.For(suite, sh); }
        catch (ShardPlanException e)
        {
            stderr.WriteLine($"error: {suitePath}: {e.Message}; nothing was run");
            return ExitCode.BadInput;
        }
        var who = SchedulerContext.Current;
        stdout.WriteLine($"shard {sh}: {part.Cells.Count} of {suite.Cells.Count} cells ({who.Scheduler}{(who.Job is { } j ? " job " + j : "")} on {who.Node})");
        var record = new PerfLab.Results.Schema.ShardRecord(sh.Index, sh.Count, who.Scheduler, who.Job, who.Node, part.Cells.Select(c => c.Id).ToList());
        var runner = Runner(part, waitName, HostProbe.Capture());
        return Outcome(WithProgress(plain, stdout, p => runner.Run(part, runsDir, p, cancel, repetitions, record)), stdout);
    }

    /// <summary>
    /// `--resume`: the run's own suite (as recorded in its manifest, not the file as it is now), on the host class it
    /// started on, with only the launches not yet recorded.
    /// </summary>
    public static ExitCode Resume(string runFolder, string waitName, bool plain, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        PerfLab.Results.Schema.RunManifest manifest;
        try { manifest = PerfLab.Results.RunFolderReader.ReadManifest(runFolder); }
        catch (PerfLab.Results.ResultsFormatException e)
        {
            stderr.WriteLine("error: " + e.Message);
            return ExitCode.BadInput;
        }
        if (manifest.State == PerfLab.Results.Schema.RunState.Complete)
        {
            stdout.WriteLine($"{runFolder}: complete; nothing to resume");
            return ExitCode.Ok;
        }
        Suite suite;
        try { suite = SuiteLoader.Parse(manifest.Suite.Source, manifest.Suite.Path); }
        catch (SuiteValidationException e)
        {
            stderr.WriteLine($"error: {runFolder}: the suite this run recorded no longer validates here, so it cannot be resumed:\n{e.Message}");
            return ExitCode.BadInput;
        }
        var missing = manifest.ExpandedCells.Select(c => c.Id).Except(suite.Cells.Select(c => c.Id)).ToList();
        if (missing.Count > 0)
        {
            stderr.WriteLine($"error: {runFolder}: its suite now expands to other cells (no {missing[0]}): this PerfLab is not the one that started the run; run the suite again");
            return ExitCode.BadInput;
        }
        // A shard resumes as the shard it is: its plan's cells, not the whole suite's.
        if (manifest.Shard is { } shardWas) suite = ShardPlan.For(suite, new Shard(shardWas.Index, shardWas.Count));
        var host = HostProbe.Capture();
        if (manifest.Host is { } was && was.HostClass != host.HostClass)
        {
            stderr.WriteLine($"error: {runFolder} was started on {was.HostClass}; this host is {host.HostClass}: its launches would mix two machines. " +
                             "Resume it there, or run the suite again here");
            return ExitCode.BadInput;
        }
        var runner = Runner(suite, waitName, host);
        var outcome = WithProgress(plain, stdout, p => runner.Resume(Path.GetFullPath(runFolder), manifest.Suite.Repetitions, suite, p, cancel));
        return Outcome(outcome, stdout);
    }

    private static SuiteRunner Runner(Suite suite, string waitName, PerfLab.Results.Schema.HostEnvironment host)
    {
        IWaitStrategy wait = waitName == "precise" && OperatingSystem.IsLinux() ? new PreciseWait() : new SpinYieldWait();
        return new SuiteRunner(Platforms.All(suite.CalibrationProfile),
            new RunContext(host, PackageVersions.Collect(), wait, PerfLab.Core.Time.MonotonicClock.Instance)
            {
                Interference = new ProcInterferenceProbe(),
            });
    }

    private static RunOutcome WithProgress(bool plain, TextWriter stdout, Func<IRunProgress, RunOutcome> run)
    {
        if (!plain && !Console.IsOutputRedirected && ReferenceEquals(stdout, Console.Out))
        {
            RunOutcome? o = null;
            AnsiConsole.Progress().AutoClear(false).Start(ctx => o = run(new SpectreProgress(ctx)));
            return o!;
        }
        return run(new PlainProgress(stdout));
    }

    private static ExitCode Outcome(RunOutcome outcome, TextWriter stdout)
    {
        stdout.WriteLine($"run folder: {outcome.FolderPath}");
        stdout.WriteLine($"{outcome.Cells.Count(c => c.Status == PerfLab.Core.Results.CellStatus.Ok)} cells ok, {outcome.Failed} failed, {outcome.Skipped} skipped" +
                         (outcome.Interrupted ? ", interrupted" : ""));
        if (outcome.Interrupted) return ExitCode.Interrupted;
        if (outcome.Failed > 0) return ExitCode.Failed;
        if (outcome.Cells.Count > 0 && outcome.Skipped == outcome.Cells.Count) return ExitCode.Environment;
        return ExitCode.Ok;
    }

    /// <summary>Runs a suite already loaded (perflab micro builds one in memory: no temporary file to race for).</summary>
    public static ExitCode Execute(Suite suite, string runsDir, string waitName, bool plain, TextWriter stdout, TextWriter stderr, CancellationToken cancel,
        int? repetitions = null)
    {
        var runner = Runner(suite, waitName, HostProbe.Capture());
        return Outcome(WithProgress(plain, stdout, p => runner.Run(suite, runsDir, p, cancel, repetitions)), stdout);
    }
}
