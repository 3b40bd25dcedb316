using PerfLab.Results;
using System.Text.Json.Nodes;

namespace PerfLab.Report.Tests;

/// <summary>
/// The notebooks in notebooks/ run headless with dotnet-repl (the repository's local tool) over a recorded run, every cell
/// without error, and print what they are for.
/// </summary>
public class NotebookTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static (int Code, string Out) Run(string dir, string file, params string[] args)
    {
        var r = TestProcess.Run(file, args, dir);
        return (r.Code, r.Stdout + r.Stderr);
    }

    /// <summary>Runs a notebook and returns every text output of its cells; fails with the first error output.</summary>
    private string RunNotebook(string name, string runFolder)
    {
        var root = RecordedRuns.RepoRoot();
        var restore = Run(root, "dotnet", "tool", "restore");
        Skip.If(restore.Code != 0, "dotnet tool restore failed (no NuGet?): " + restore.Out);
        var outFile = Path.Combine(Path.GetTempPath(), $"perflab-nb-{Guid.NewGuid():N}.ipynb");
        Environment.SetEnvironmentVariable("PERFLAB_RUN", runFolder);
        try
        {
            // dotnet-repl ignores --working-dir with --run: the notebook's relative paths are from notebooks/.
            var r = Run(Path.Combine(root, "notebooks"), "dotnet", "dotnet-repl", "--run", name, "--exit-after-run", "--output-path", outFile);
            Assert.True(File.Exists(outFile), $"{name}: no output notebook (exit {r.Code}): {r.Out}");
            var nb = JsonNode.Parse(File.ReadAllText(outFile))!;
            var outputs = nb["cells"]!.AsArray().SelectMany(c => c!["outputs"]?.AsArray() ?? []).ToList();
            var errors = outputs.Where(o => o!["output_type"]?.GetValue<string>() == "error").Select(o => o!.ToJsonString()).ToList();
            Assert.True(errors.Count == 0 && r.Code == 0, $"{name} (exit {r.Code}): {string.Join("\n", errors)}");
            var text = string.Concat(outputs.Select(o => o!["text"] is JsonArray a ? string.Concat(a.Select(x => x!.GetValue<string>())) : o!["text"]?.ToString() ?? ""));
            output.WriteLine(text);
            return text;
        }
        finally
        {
            Environment.SetEnvironmentVariable("PERFLAB_RUN", null);
            File.Delete(outFile);
        }
    }

    [SkippableFact]
    public void The_overhead_notebook_reads_a_run_and_names_its_evidence()
    {
        using var rec = new RecordedRuns();
        var text = RunNotebook("overhead.ipynb", rec.Folder(RecordedRuns.Overhead));
        Assert.Contains("run 20261124T222555Z-overhead of suite overhead", text);
        Assert.Contains("160 overhead figures", text);  // as many as the recorded summary.json holds
        Assert.Contains("evidence of these figures: emulated", text);
    }

    [SkippableFact]
    public void The_TCO_notebook_sweeps_the_lab_TCO_model()
    {
        var text = RunNotebook("tco-what-ifs.ipynb", "");
        Assert.Contains("bf16      8     169.6", text);    // the 70B/BF16/8K example at 8 sequences, as perflab tco gives it
        Assert.Contains("[Projected]", text);
        Assert.Contains("Bursty: pool of", text);
    }
}
