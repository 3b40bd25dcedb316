using System.CommandLine;
using PerfLab.Core.Gate;
using PerfLab.Results;

namespace PerfLab.Cli.Commands;

/// <summary>`perflab gate`: compare a candidate run with a baseline; exit 1 on any regression.</summary>
public static class GateCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var baseline = new Option<string>("--baseline") { Description = "a run folder or a baseline file (results/baselines/<name>.json)", Required = true };
        var candidate = new Option<string>("--candidate") { Description = "the run folder to judge", Required = true };
        var threshold = new Option<double?>("--threshold-pct") { Description = "practical threshold in percent; default: the candidate suite's gate.threshold_pct" };
        var output = new Option<string?>("--output") { Description = "where to write the Markdown table; default: <candidate>/gate.md" };
        var update = new Option<bool>("--update-baseline") { Description = "write the candidate's samples (and its host) to the --baseline file instead of comparing" };
        var failOn = new Option<string>("--fail-on") { Description = "what exits 1: regression (default) or inconclusive (also an inconclusive verdict, e.g. another host)", DefaultValueFactory = _ => "regression" };
        failOn.AcceptOnlyFromAmong("regression", "inconclusive");
        var otherHost = new Option<bool>("--allow-other-host") { Description = "compare even when the baseline comes from another host class (CPU, cores, kernel, THP, hypervisor)" };
        var cmd = new Command("gate", "Compare a candidate run with a baseline per cell and metric: regressed, improved, unchanged or inconclusive,\n" +
                                      "with the effect and its interval. Prints a Markdown table (also written to a file); exits 1 on a regression\n" +
                                      "(or, with --fail-on inconclusive, on any inconclusive verdict). A baseline from another host class is not compared.\n" +
                                      "Example: perflab gate --baseline results/baselines/lab-quick.json --candidate results/runs/20261124T203000Z-mission")
        {
            baseline, candidate, threshold, output, update, failOn, otherHost,
        };
        cmd.SetAction(p => (int)Execute(p.GetValue(baseline)!, p.GetValue(candidate)!, p.GetValue(threshold), p.GetValue(output), p.GetValue(update), stdout, stderr,
            p.GetValue(failOn) == "inconclusive" ? FailOn.Inconclusive : FailOn.Regression, p.GetValue(otherHost)));
        return cmd;
    }

    public static ExitCode Execute(string baselinePath, string candidatePath, double? thresholdPct, string? output, bool update, TextWriter stdout, TextWriter stderr,
        FailOn failOn = FailOn.Regression, bool allowOtherHost = false)
    {
        try
        {
            var cand = GateSides.Load(candidatePath);
            if (update)
            {
                GateSides.WriteBaseline(cand, baselinePath, candidatePath);
                stdout.WriteLine($"baseline written: {baselinePath} ({cand.Input.Cells.Count} cells from {candidatePath})");
                return ExitCode.Ok;
            }
            var bas = GateSides.Load(baselinePath);
            var spec = cand.Spec ?? bas.Spec ?? PerfLab.Core.Suites.GateSpec.Default;
            if (thresholdPct is { } t)
            {
                if (!(t > 0 && t < 100)) { stderr.WriteLine($"--threshold-pct {t}: give a percentage above 0 and below 100"); return ExitCode.BadInput; }
                spec = spec with { ThresholdPct = t };
            }
            var problems = GateSides.Problems(bas, cand);
            if (problems.Count > 0)
            {
                foreach (var p in problems) stderr.WriteLine("error: " + p);
                stderr.WriteLine("nothing was judged: a verdict from unusable data would be a guess");
                return ExitCode.BadInput;
            }
            var report = GateEvaluator.Evaluate(bas.Input, cand.Input, spec, allowOtherHost);
            var md = report.ToMarkdown();
            // Written before it is printed: a verdict on screen whose file could not be written would be half a result.
            var file = output ?? (Directory.Exists(candidatePath) ? Path.Combine(candidatePath, "gate.md") : null);
            if (file != null) RunFolderWriter.WriteAtomic(file, md);
            stdout.Write(md);
            stdout.WriteLine(file != null ? $"\n(written to {file})" : "\n(not written to a file: the candidate is not a run folder; give --output to keep it)");
            if (report.HostProblem != null)
                stdout.WriteLine($"to keep this run as the baseline for this host: perflab gate --update-baseline --baseline {baselinePath} --candidate {candidatePath}");
            return report.Fails(failOn) ? ExitCode.Failed : ExitCode.Ok;
        }
        catch (ResultsFormatException e)
        {
            stderr.WriteLine("error: " + e.Message);
            return ExitCode.BadInput;
        }
    }
}
