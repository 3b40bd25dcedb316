using System.CommandLine;
using PerfLab.Core.Suites;

namespace PerfLab.Cli.Commands;

/// <summary>`perflab suite validate`: check suites without running anything.</summary>
public static class SuiteCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var files = new Argument<FileInfo[]>("suite") { Description = "suite YAML files", Arity = ArgumentArity.OneOrMore };
        var validate = new Command("validate", "Validate suites and show the cells their matrices expand to; runs nothing.\n" +
                                               "Example: perflab suite validate bench/suites/mission.yaml") { files };
        validate.SetAction(p => (int)Validate(p.GetValue(files)!.Select(f => f.FullName), stdout, stderr));
        return new Command("suite", "Work with suite files.\nExample: perflab suite validate bench/suites/*.yaml") { validate };
    }

    public static ExitCode Validate(IEnumerable<string> paths, TextWriter stdout, TextWriter stderr)
    {
        var bad = false;
        foreach (var path in paths)
        {
            try
            {
                var s = SuiteLoader.Load(path);
                // The profile is a file beside the suites, not part of the suite's text: checked here, where files are read.
                if (s.Cells.Any(c => c.Realm.Platform == PerfLab.Core.Suites.Platform.CcaEmulated))
                {
                    try { PerfLab.Lab.Backends.CalibrationProfile.Load(s.CalibrationProfile); }
                    catch (Exception e) when (e is IOException or InvalidDataException)
                    {
                        stderr.WriteLine($"{path}: calibration_profile '{s.CalibrationProfile}': {e.Message}");
                        bad = true;
                        continue;
                    }
                }
                foreach (var w in s.Warnings) stdout.WriteLine("warning: " + w);
                stdout.WriteLine($"{path}: valid, {s.Cells.Count} cells ({s.Profile.ToString().ToLowerInvariant()} profile)");
                foreach (var c in s.Cells)
                    stdout.WriteLine($"  {c.Id}{(c.IsBaseline ? "  [baseline]" : c.BaselineId is { } b ? $"  vs {b}" : "")}");
            }
            catch (SuiteValidationException e)
            {
                stderr.WriteLine(e.Message);
                bad = true;
            }
        }
        return bad ? ExitCode.BadInput : ExitCode.Ok;
    }
}
