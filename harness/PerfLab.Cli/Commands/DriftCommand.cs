using System.CommandLine;
using System.Globalization;
using PerfLab.Core.Statistics;
using PerfLab.Results;

namespace PerfLab.Cli.Commands;

/// <summary>`perflab drift`: measure the gate's run_drift (κ) from several runs of one build on one host.</summary>
public static class DriftCommand
{
    public const int MinRuns = 3;

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var runs = new Argument<string[]>("runs") { Description = $"run folders of the same suite and build, made one after another on this host ({MinRuns} or more)", Arity = ArgumentArity.OneOrMore };
        var cmd = new Command("drift", "Measure how far apart runs of the same build sit beyond what their launches predict: κ, the gate's\n" +
                                       "run_drift, per cell and metric and pooled. Runs made at different times share no stretch of the host's\n" +
                                       "time, so the gate widens its interval by κ × the launch spread; set the pooled value in the suite.\n" +
                                       "Example: for i in 1 2 3 4 5 6; do perflab run --suite bench/suites/gate.yaml; done; perflab drift results/runs/*-gate")
        {
            runs,
        };
        cmd.SetAction(p => (int)Execute(p.GetValue(runs)!, stdout, stderr));
        return cmd;
    }

    public static ExitCode Execute(IReadOnlyList<string> runPaths, TextWriter stdout, TextWriter stderr)
    {
        if (runPaths.Count < MinRuns)
        {
            stderr.WriteLine($"error: {runPaths.Count} run folder(s) given; the drift between runs needs at least {MinRuns} runs of the same suite");
            return ExitCode.BadInput;
        }
        try
        {
            var sides = runPaths.Select(p => Directory.Exists(p)
                ? GateSides.Load(p)
                : throw new ResultsFormatException($"{p}: not a run folder; give results/runs/<run-id> folders")).ToList();
            var problems = new List<string>();
            var suites = sides.Select(s => s.Suite).Distinct().ToList();
            if (suites.Count > 1) problems.Add($"the runs are of {suites.Count} suites ({string.Join(", ", suites)}): give runs of one suite");
            problems.AddRange(sides.Where(s => s.State != "complete").Select(s => $"{s.Source} is {s.State}: give complete runs"));
            var hosts = sides.Select(s => s.Input.HostClass ?? "unknown").Distinct().ToList();
            if (hosts.Count > 1) problems.Add($"the runs come from {hosts.Count} host classes: the drift of one host is wanted, not the difference between hosts");
            if (problems.Count > 0)
            {
                foreach (var p in problems) stderr.WriteLine("error: " + p);
                return ExitCode.BadInput;
            }

            var estimates = new List<RunDriftEstimate>();
            foreach (var cell in sides[0].Input.Cells.Keys.Order(StringComparer.Ordinal))
                foreach (var metric in sides[0].Input.Cells[cell].Keys.Order(StringComparer.Ordinal))
                {
                    var perRun = sides.Select(s => s.Input.Cells.GetValueOrDefault(cell)?.GetValueOrDefault(metric)).Where(l => l != null).Select(l => l!).ToList();
                    if (RunDrift.Estimate(cell, metric, perRun) is { } e) estimates.Add(e);
                }
            if (estimates.Count == 0)
            {
                stderr.WriteLine($"error: no cell has 2 or more launches in {MinRuns} or more of these runs; run the suite with repetitions of 2 or more");
                return ExitCode.BadInput;
            }
            var ci = CultureInfo.InvariantCulture;
            stdout.WriteLine($"## Run drift of {suites[0]}: {sides.Count} runs on {hosts[0]}\n");
            stdout.WriteLine("| cell | metric | runs | launches | launch spread | run spread beyond it | κ |");
            stdout.WriteLine("|---|---|---:|---:|---:|---:|---:|");
            foreach (var e in estimates)
                stdout.WriteLine(string.Create(ci, $"| `{e.CellId}` | {e.Metric} | {e.Runs} | {e.Launches} | {e.LaunchSdPct:0.00}% | {e.RunSdPct:0.00}% | {e.Kappa:0.00} |"));
            var pooled = RunDrift.Pooled(estimates);
            var suggest = Math.Ceiling(pooled * 10) / 10;
            stdout.WriteLine(string.Create(ci, $"\nκ pooled (root mean square over {estimates.Count} metrics): {pooled:0.00}; largest {estimates.Max(e => e.Kappa):0.00}."));
            stdout.WriteLine(string.Create(ci, $"For the gate on this host: gate: {{run_drift: {suggest:0.0}}} (the default is {PerfLab.Core.Suites.GateSpec.DefaultRunDrift:0.0})."));
            if (sides.Count < 6)
                stdout.WriteLine($"With {sides.Count} runs κ is rough (its between-run part has {sides.Count - 1} degrees of freedom); 6 or more runs steady it.");
            return ExitCode.Ok;
        }
        catch (ResultsFormatException e)
        {
            stderr.WriteLine("error: " + e.Message);
            return ExitCode.BadInput;
        }
    }
}
