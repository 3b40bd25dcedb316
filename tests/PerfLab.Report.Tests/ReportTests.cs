using PerfLab.Results;
using System.Globalization;
using System.Text.Json.Nodes;
using PerfLab.Cli.Commands;

namespace PerfLab.Report.Tests;

public class ReportTests
{
    private static string Md(ReportOutput o) => File.ReadAllText(o.Markdown);

    [Fact]
    public void The_Markdown_summary_matches_the_summary_data()
    {
        using var rec = new RecordedRuns();
        var o = ReportWriter.Write(rec.Load(RecordedRuns.Overhead), Path.Combine(rec.Dir, "out"));
        var rows = Md(o).Split('\n').Where(l => l.StartsWith("| " + RecordedRuns.Overhead + " | ", StringComparison.Ordinal) && l.Count(ch => ch == '|') == 14)
            .Select(l => l.Split('|').Select(x => x.Trim()).ToArray()).ToDictionary(c => c[2]);

        // Read summary.json independently of RunData: every cell has its row, with the same figures.
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(rec.Folder(RecordedRuns.Overhead), "summary.json")))!;
        var cells = summary["cells"]!.AsArray();
        Assert.Equal(cells.Count, rows.Count);
        foreach (var c in cells)
        {
            var row = rows[c!["id"]!.GetValue<string>()];
            Assert.Equal(c["evidence"]!.GetValue<string>(), row[3]);
            Assert.Equal(c["status"]!.GetValue<string>(), row[4]);
            if (c["result"] is not JsonObject r) continue;
            Assert.Equal(r["validity"]!.GetValue<string>(), row[5]);
            Assert.Equal((c["launches"] as JsonArray)?.Count ?? 1, int.Parse(row[6], CultureInfo.InvariantCulture)); // a run from before launches: one
            Assert.Equal(r["queries_per_s"]!.GetValue<double>(), double.Parse(row[7], CultureInfo.InvariantCulture), 0.005);
            Assert.Equal(r["metrics"]!["latency"]!["median"]!["value"]!.GetValue<double>() / 1e6, double.Parse(row[9], CultureInfo.InvariantCulture), 0.0005);
            Assert.Equal(r["metrics"]!["latency"]!["p99"]!["value"]!.GetValue<double>() / 1e6, double.Parse(row[10], CultureInfo.InvariantCulture), 0.0005);
        }
        // Every overhead the summary holds is in the Markdown with its interval.
        var overheads = cells.SelectMany(c => c!["overheads"]!.AsArray()).Count(o => o!["metric"]!.GetValue<string>() != "inside");
        Assert.Equal(overheads, Md(o).Split('\n').Count(l => l.StartsWith("| " + RecordedRuns.Overhead, StringComparison.Ordinal) && l.Contains(" | [")));
    }

    [Fact]
    public void A_sweep_is_one_row_a_rate_with_its_per_user_speed_goodput_and_failures()
    {
        using var rec = new RecordedRuns();
        var cells = JsonNode.Parse(File.ReadAllText(Path.Combine(rec.Folder(RecordedRuns.Sweep), "summary.json")))!["cells"]!.AsArray();
        var o = ReportWriter.Write(rec.Load(RecordedRuns.Sweep), Path.Combine(rec.Dir, "out"));
        var rows = Md(o).Split('\n').Where(l => l.StartsWith("| " + RecordedRuns.Sweep + " | rate | synth-http |", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, rows.Count);
        // In rate order, each with the per-user speed its own TPOT gives: 1 / median TPOT.
        foreach (var (rate, row) in new[] { 20, 80, 200 }.Zip(rows))
        {
            var cell = cells.Single(c => c!["scenario"]!.GetValue<string>() == $"rate-{rate}qps")!;
            var tpot = cell["result"]!["metrics"]!["tpot"]!["median"]!["value"]!.GetValue<double>();
            Assert.Contains($"| {rate:F2} |", row);
            Assert.Contains($"| {1e9 / tpot:F1} |", row);
            Assert.Contains("| 0 |", row);   // no query failed
        }
        Assert.Contains("Rate sweeps", Md(o));
    }

    [Fact]
    public void Capacity_is_reported_per_cell_with_its_change_against_the_baseline_cell()
    {
        using var rec = new RecordedRuns();
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(rec.Folder(RecordedRuns.Quick), "summary.json")))!["cells"]!.AsArray();
        double Capacity(string page) => summary.Single(c => c!["id"]!.GetValue<string>().StartsWith("synth.server-capacity.native." + page))!["capacity"]!["capacity_qps"]!.GetValue<double>();
        var o = ReportWriter.Write(rec.Load(RecordedRuns.Quick), Path.Combine(rec.Dir, "out"));
        var lines = Md(o).Split('\n').Where(l => l.Contains("synth.server-capacity") && l.Contains(" | yes | ")).ToList();
        Assert.Equal(2, lines.Count);
        Assert.Contains(lines, l => l.Contains($"| {Capacity("p4k"):F2} | baseline |"));
        var change = (Capacity("p2m") / Capacity("p4k") - 1) * 100;
        Assert.Contains(lines, l => l.Contains($"| {Capacity("p2m"):F2} | {change:+0.0;-0.0} % |"));
    }

    [Fact]
    public void A_missing_or_corrupt_file_is_named_and_the_rest_is_still_reported()
    {
        using var rec = new RecordedRuns();
        var run = rec.Folder(RecordedRuns.Overhead);
        File.Delete(Path.Combine(run, "samples.csv"));
        var damaged = rec.Folder(RecordedRuns.Quick);
        File.WriteAllText(Path.Combine(damaged, "manifest.json"), "{\"schema\": 1, \"run_id\": ");   // torn mid-write
        var lines = File.ReadAllLines(Path.Combine(damaged, "samples.csv"));
        File.WriteAllLines(Path.Combine(damaged, "samples.csv"), lines.Take(200).Append("synth.single-stream.x,single-stream,not-a-number,,,"));

        var err = new StringWriter();
        var code = ReportCommand.Execute([run, damaged], Path.Combine(rec.Dir, "out"), null, new StringWriter(), err);
        Assert.Equal(PerfLab.Cli.ExitCode.BadInput, code);
        var e = err.ToString();
        Assert.Contains(Path.Combine(run, "samples.csv") + ": missing", e);
        Assert.Contains(Path.Combine(damaged, "manifest.json") + ": not valid JSON", e);
        Assert.Contains(Path.Combine(damaged, "samples.csv") + ": unreadable from line 201", e);
        Assert.Contains("the 199 rows before it are used", e);

        // Still reported: both runs' cells are in the tables, and the damaged run's CDFs come from the rows that were read.
        var html = File.ReadAllText(Path.Combine(rec.Dir, "out", "report.html"));
        Assert.Contains("Problems reading the runs", html);
        Assert.Contains("id=\"summary\"", html);
        Assert.Contains(RecordedRuns.Quick, html);
        Assert.Contains("chart-overhead-", html);
    }

    [Fact]
    public void A_missing_run_folder_is_bad_input_naming_it()
    {
        var err = new StringWriter();
        Assert.Equal(PerfLab.Cli.ExitCode.BadInput, ReportCommand.Execute(["/nonexistent/run"], null, null, new StringWriter(), err));
        Assert.Contains("/nonexistent/run: no such run folder", err.ToString());
    }

    [Theory]
    [InlineData("interrupted", true, "is interrupted")]
    [InlineData("running", false, "is incomplete")]
    public void An_interrupted_or_unfinished_run_is_reported_as_such(string state, bool interrupted, string expected)
    {
        using var rec = new RecordedRuns();
        var run = rec.Folder(RecordedRuns.Overhead);
        var manifestPath = Path.Combine(run, "manifest.json");
        var m = JsonNode.Parse(File.ReadAllText(manifestPath))!;
        m["state"] = state;
        m["interrupted"] = interrupted;
        File.WriteAllText(manifestPath, m.ToJsonString());
        var o = ReportWriter.Write(rec.Load(RecordedRuns.Overhead), Path.Combine(rec.Dir, "out"));
        Assert.Contains(expected, File.ReadAllText(o.Html));
        Assert.Contains(expected, Md(o));
        Assert.Contains("class=\"banner\"", File.ReadAllText(o.Html));
    }

    [Fact]
    public void Several_runs_are_put_side_by_side_with_their_hosts()
    {
        using var rec = new RecordedRuns();
        // The same run as if from a second host: a copy with another hostname and CPU.
        var other = Path.Combine(rec.Dir, "20261124T222555Z-overhead-hostb");
        Directory.CreateDirectory(other);
        foreach (var f in Directory.GetFiles(rec.Folder(RecordedRuns.Overhead))) File.Copy(f, Path.Combine(other, Path.GetFileName(f)));
        var m = JsonNode.Parse(File.ReadAllText(Path.Combine(other, "manifest.json")))!;
        m["run_id"] = "20261124T222555Z-overhead-hostb";
        m["host"]!["hostname"] = "host-b";
        m["host"]!["cpu_model"] = "Neoverse-V2";
        File.WriteAllText(Path.Combine(other, "manifest.json"), m.ToJsonString());

        var runs = new[] { RunFolderReader.Read(rec.Folder(RecordedRuns.Overhead), ReadMode.Tolerant), RunFolderReader.Read(other, ReadMode.Tolerant) };
        var o = ReportWriter.Write(runs, Path.Combine(rec.Dir, "out"));
        var html = File.ReadAllText(o.Html);
        Assert.Contains("id=\"comparison\"", html);
        Assert.Contains("host-b (Neoverse-V2)", html);
        Assert.Contains("<td>Neoverse-V2</td>", html);                 // the hosts table, a column per run
        Assert.Contains("(×1)", html);                                 // identical data: every ratio to the first run is 1
        Assert.NotEmpty(ReportModel.Comparison(runs));
    }
}
