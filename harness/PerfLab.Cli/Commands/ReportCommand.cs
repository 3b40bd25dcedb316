using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using PerfLab.Results;
using PerfLab.Report;

namespace PerfLab.Cli.Commands;

/// <summary>`perflab report`: the HTML page and Markdown summary of one run, or several side by side.</summary>
public static class ReportCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var runs = new Argument<string[]>("runs") { Description = "run folders (results/runs/<run-id>); several are compared side by side", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string?>("--out") { Description = "where to write report.html, report.md and charts/; default: <run>/report, or results/reports/<time>-compare for several" };
        var tco = new Option<string?>("--tco") { Description = "a JSON file from `perflab tco --json` (or - for standard input) to include as the report's TCO section" };
        var cmd = new Command("report", "Write a self-contained HTML report (charts embedded, no network) and a Markdown summary from run folders alone.\n" +
                                        "A missing or corrupt file is named with what is wrong, and the rest is still reported (exit 2 then).\n" +
                                        "Example: perflab report results/runs/20261124T224959Z-quick")
        {
            runs, output, tco,
        };
        cmd.SetAction(p => (int)Execute(p.GetValue(runs)!, p.GetValue(output), p.GetValue(tco), stdout, stderr));
        return cmd;
    }

    public static ExitCode Execute(IReadOnlyList<string> folders, string? outDir, string? tcoPath, TextWriter stdout, TextWriter stderr)
    {
        var sw = Stopwatch.StartNew();
        var data = new List<RunData>();
        foreach (var f in folders)
        {
            try { data.Add(RunFolderReader.Read(f, ReadMode.Tolerant)); }
            catch (ResultsFormatException e)
            {
                stderr.WriteLine("error: " + e.Message);
                return ExitCode.BadInput;
            }
        }
        JsonNode? tco = null;
        if (tcoPath != null)
        {
            // "-": standard input, so `perflab tco ... --json | perflab report RUN --tco -` needs no file.
            try { tco = JsonNode.Parse(tcoPath == "-" ? Console.In.ReadToEnd() : File.ReadAllText(tcoPath)); }
            catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"error: --tco {tcoPath}: {e.Message} (give the JSON written by perflab tco --json)");
                return ExitCode.BadInput;
            }
        }
        outDir ??= data.Count == 1
            ? Path.Combine(data[0].Folder, "report")
            : Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(data[0].Folder)!)!, "reports", $"{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}-compare");
        ReportOutput result;
        try { result = ReportWriter.Write(data, outDir, tco); }
        catch (InvalidOperationException e)
        {
            stderr.WriteLine("error: " + e.Message);
            return ExitCode.Environment;
        }
        foreach (var p in result.Problems) stderr.WriteLine($"problem: {p}");
        foreach (var g in result.Gaps) stdout.WriteLine($"not drawn: {g.Name}: {g.Why}");
        foreach (var r in data.Where(r => r.StateWord != "complete")) stdout.WriteLine($"note: {r.RunId} is {r.StateWord}");
        stdout.WriteLine($"report: {result.Html} ({result.Charts} charts, written in {sw.Elapsed.TotalSeconds:0.00} s)");
        stdout.WriteLine($"summary: {result.Markdown}");
        return result.Problems.Count > 0 ? ExitCode.BadInput : ExitCode.Ok;
    }
}
