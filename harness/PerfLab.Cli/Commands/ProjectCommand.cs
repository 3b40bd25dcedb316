using System.CommandLine;
using PerfLab.Core.Analysis;
using PerfLab.Lab.Backends;
using PerfLab.Results;

namespace PerfLab.Cli.Commands;

/// <summary>`perflab project`: a run's Realm cells, term by term, under the prices they ran with or another profile's.</summary>
public static class ProjectCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var run = new Argument<string>("run") { Description = "a run folder with Realm cells (cca-emulated or cca)" };
        var profiles = new Option<string[]>("--profile")
        {
            Description = "a calibration profile to re-price the counts with (a name in bench/profiles or a .yaml path); repeat for several; none: the prices each cell ran with",
            AllowMultipleArgumentsPerToken = true,
        };
        var cmd = new Command("project", "A Realm cell's overhead term by term: what was counted in the Realm (exits by cause, timer ticks, stage-2\n" +
                                         "faults, RSI calls; measured), priced by a calibration profile, beside the overhead measured against its\n" +
                                         "baseline cell and the gap between them. With --profile, the same counts under other prices (projected).\n" +
                                         "Example: perflab project results/runs/20261128T190000Z-quick --profile article-claims")
        {
            run, profiles,
        };
        cmd.SetAction(p => (int)Execute(p.GetValue(run)!, p.GetValue(profiles) ?? [], stdout, stderr));
        return cmd;
    }

    public static ExitCode Execute(string runFolder, IReadOnlyList<string> profileNames, TextWriter stdout, TextWriter stderr)
    {
        RunData data;
        try { data = RunFolderReader.Read(runFolder, ReadMode.Tolerant); }
        catch (ResultsFormatException e)
        {
            stderr.WriteLine("error: " + e.Message);
            return ExitCode.BadInput;
        }
        var prices = new List<RealmPrices?>();
        foreach (var name in profileNames)
        {
            try
            {
                var c = CalibrationProfile.Load(name);
                prices.Add(c.ToPrices());
            }
            catch (Exception e) when (e is IOException or InvalidDataException)
            {
                stderr.WriteLine($"error: --profile {name}: {e.Message}");
                return ExitCode.BadInput;
            }
        }
        if (prices.Count == 0) prices.Add(null);
        var any = false;
        stdout.WriteLine($"## Realm cost, term by term: {data.RunId}\n");
        foreach (var p in prices)
        {
            var cells = RealmCostTable.For(data, p);
            any |= cells.Count > 0;
            stdout.Write(RealmCostTable.ToMarkdown(cells));
        }
        if (!any)
        {
            stderr.WriteLine($"error: {runFolder}: no Realm cell counted its events (cells run on cca-emulated or cca by this PerfLab do; " +
                             "native and vm cells have no Realm to count, and runs before counting was added have none)");
            return ExitCode.BadInput;
        }
        return ExitCode.Ok;
    }
}
