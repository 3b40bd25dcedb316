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
        var suite = new Option<FileInfo>("--suite") { Description = "the suite YAML to run", Required = true };
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
        var cmd = new Command("run", "Run a suite: every cell of its matrix, with results written as the run goes.\n" +
                                     "Example: perflab run --suite bench/suites/quick.yaml")
        {
            suite, results, wait, plain, repetitions,
        };
        cmd.SetAction(async (p, cancel) => (int)await Task.Run(() =>
            Execute(p.GetValue(suite)!.FullName, p.GetValue(results)!.FullName, p.GetValue(wait)!, p.GetValue(plain), stdout, stderr, cancel,
                p.GetValue(repetitions))));
        return cmd;
    }

    public static ExitCode Execute(string suitePath, string runsDir, string waitName, bool plain, TextWriter stdout, TextWriter stderr, CancellationToken cancel,
        int? repetitions = null)
    {
        Suite suite;
        try { suite = SuiteLoader.Load(suitePath); }
        catch (SuiteValidationException e)
        {
            stderr.WriteLine(e.Message);
            stderr.WriteLine("nothing was run; fix the suite (perflab suite validate checks it without running)");
            return ExitCode.BadInput;
        }
        foreach (var w in suite.Warnings) stderr.WriteLine("warning: " + w);
        return Execute(suite, runsDir, waitName, plain, stdout, stderr, cancel, repetitions);
    }

    /// <summary>Runs a suite already loaded (perflab micro builds one in memory: no temporary file to race for).</summary>
    public static ExitCode Execute(Suite suite, string runsDir, string waitName, bool plain, TextWriter stdout, TextWriter stderr, CancellationToken cancel,
        int? repetitions = null)
    {
        IWaitStrategy wait = waitName == "precise" && OperatingSystem.IsLinux() ? new PreciseWait() : new SpinYieldWait();
        var runner = new SuiteRunner(Platforms.All(suite.CalibrationProfile),
            new RunContext(HostProbe.Capture(), PackageVersions.Collect(), wait, PerfLab.Core.Time.MonotonicClock.Instance)
            {
                Interference = new ProcInterferenceProbe(),
            });
        RunOutcome outcome;
        if (!plain && !Console.IsOutputRedirected && ReferenceEquals(stdout, Console.Out))
        {
            RunOutcome? o = null;
            AnsiConsole.Progress().AutoClear(false).Start(ctx => o = runner.Run(suite, runsDir, new SpectreProgress(ctx), cancel, repetitions));
            outcome = o!;
        }
        else outcome = runner.Run(suite, runsDir, new PlainProgress(stdout), cancel, repetitions);

        stdout.WriteLine($"run folder: {outcome.FolderPath}");
        stdout.WriteLine($"{outcome.Cells.Count(c => c.Status == PerfLab.Core.Results.CellStatus.Ok)} cells ok, {outcome.Failed} failed, {outcome.Skipped} skipped" +
                         (outcome.Interrupted ? ", interrupted" : ""));
        if (outcome.Interrupted) return ExitCode.Interrupted;
        if (outcome.Failed > 0) return ExitCode.Failed;
        if (outcome.Skipped == outcome.Cells.Count) return ExitCode.Environment;
        return ExitCode.Ok;
    }
}
