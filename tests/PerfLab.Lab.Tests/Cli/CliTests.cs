using PerfLab.Cli;
using PerfLab.Cli.Commands;

namespace PerfLab.Lab.Tests.Cli;

public class CliTests
{
    private const string Good = """
        name: cli
        workloads:
          - {name: w, kind: synthetic, output_tokens: 4, decode_us_per_token: 100, working_set_mib: 0}
        scenarios:
          - {type: single-stream, min_queries: 50, min_duration_s: 0}
          - {type: offline, min_queries: 200}
        matrix: {platform: native}
        """;

    [Theory]
    [InlineData("page_size: 3k", "page_size")]
    [InlineData("vcpus: -1", "vcpus")]
    [InlineData("platform: tdx", "platform")]
    public void A_bad_suite_exits_2_names_the_problem_and_writes_no_run_folder(string axis, string key)
    {
        using var scratch = new Scratch();
        var path = scratch.Write("bad.yaml", Good.Replace("matrix: {platform: native}", $"matrix: {{{axis}}}"));
        var err = new StringWriter();
        var code = RunCommand.Execute(path, scratch.Runs, "precise", true, TextWriter.Null, err, CancellationToken.None);
        Assert.Equal(ExitCode.BadInput, code);
        Assert.Contains("bad.yaml:", err.ToString());
        Assert.Contains(key, err.ToString());
        Assert.False(Directory.Exists(scratch.Runs) && Directory.EnumerateFileSystemEntries(scratch.Runs).Any());
    }

    [Fact]
    public void A_missing_suite_file_exits_2()
    {
        using var scratch = new Scratch();
        var err = new StringWriter();
        Assert.Equal(ExitCode.BadInput, RunCommand.Execute(Path.Combine(scratch.Dir, "nope.yaml"), scratch.Runs, "precise", true, TextWriter.Null, err, default));
        Assert.Contains("file not found", err.ToString());
        Assert.Equal(ExitCode.BadInput, SuiteCommand.Validate([Path.Combine(scratch.Dir, "nope.yaml")], TextWriter.Null, err));
    }

    [Fact]
    public void Run_then_gate_against_itself_and_a_written_baseline()
    {
        using var scratch = new Scratch();
        var path = scratch.Write("good.yaml", Good);
        var stdout = new StringWriter();
        Assert.Equal(ExitCode.Ok, RunCommand.Execute(path, scratch.Runs, "precise", true, stdout, TextWriter.Null, default));
        var run = Directory.GetDirectories(scratch.Runs).Single();
        foreach (var f in new[] { "manifest.json", "samples.csv", "summary.csv", "summary.json" }) Assert.True(File.Exists(Path.Combine(run, f)), f);
        // One LoadGen summary per launch: 2 cells, each launched the default number of times (cells/<cell>/launch-<k>/).
        Assert.Equal(2 * PerfLab.Core.Suites.Suite.DefaultRepetitions, Directory.GetFiles(Path.Combine(run, "cells"), "mlperf_log_summary.txt", SearchOption.AllDirectories).Length);
        Assert.All(Directory.GetDirectories(Path.Combine(run, "cells")), d => Assert.True(File.Exists(Path.Combine(d, "launch-3", "mlperf_log_summary.txt")), d));

        var baseline = Path.Combine(scratch.Dir, "baselines", "cli.json");
        Assert.Equal(ExitCode.Ok, GateCommand.Execute(baseline, run, null, null, true, TextWriter.Null, TextWriter.Null));
        var gateOut = new StringWriter();
        Assert.Equal(ExitCode.Ok, GateCommand.Execute(baseline, run, null, null, false, gateOut, TextWriter.Null));
        Assert.Contains("| cell | metric | verdict |", gateOut.ToString());
        // The run against itself: a change of exactly 0 in every row, never regressed or improved; unchanged, or
        // inconclusive when its launches vary more than the threshold allows (the same data cannot show equivalence then).
        var md = gateOut.ToString();
        var rows = md.Split('\n').Where(l => l.StartsWith("| `")).ToList();
        Assert.NotEmpty(rows);
        Assert.All(rows, r => Assert.Contains("| 0.0% |", r));
        Assert.DoesNotContain("**regressed**", md);
        Assert.DoesNotContain("**improved**", md);
        Assert.True(File.Exists(Path.Combine(run, "gate.md")));
    }

    [Fact]
    public void Gate_on_a_missing_or_broken_run_names_the_file_and_exits_2()
    {
        using var scratch = new Scratch();
        var err = new StringWriter();
        Assert.Equal(ExitCode.BadInput, GateCommand.Execute(Path.Combine(scratch.Dir, "none"), Path.Combine(scratch.Dir, "none2"), null, null, false, TextWriter.Null, err));
        Assert.Contains("none2", err.ToString());

        var broken = Path.Combine(scratch.Dir, "broken");
        Directory.CreateDirectory(broken);
        File.WriteAllText(Path.Combine(broken, "manifest.json"), "{ not json");
        err = new StringWriter();
        Assert.Equal(ExitCode.BadInput, GateCommand.Execute(broken, broken, null, null, false, TextWriter.Null, err));
        Assert.Contains("manifest.json: not valid JSON", err.ToString());
    }

    [Fact]
    public void Ctrl_C_leaves_a_valid_folder_marked_interrupted()
    {
        using var scratch = new Scratch();
        // A short warm-up: Ctrl-C must land in the measured window, whose queries are the ones kept.
        var path = scratch.Write("long.yaml", Good.Replace("min_queries: 50, min_duration_s: 0", "min_queries: 100000, min_duration_s: 60").Replace("name: cli", "name: cli\nwarmup_s: 0.2"));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        var code = RunCommand.Execute(path, scratch.Runs, "precise", true, TextWriter.Null, TextWriter.Null, cts.Token);
        Assert.Equal(ExitCode.Interrupted, code);
        var run = Directory.GetDirectories(scratch.Runs).Single();
        var manifest = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(run, "manifest.json")))!;
        Assert.True(manifest["interrupted"]!.GetValue<bool>());
        Assert.Equal("interrupted", manifest["state"]!.GetValue<string>());
        Assert.True(File.ReadAllLines(Path.Combine(run, "samples.csv")).Length > 10, "the queries measured before Ctrl-C are kept");
    }

    [Fact]
    public void A_suite_this_host_cannot_run_at_all_exits_3_with_SKIP_reasons()
    {
        using var scratch = new Scratch();
        var path = scratch.Write("arm.yaml", Good.Replace("matrix: {platform: native}", "matrix: {page_size: 64k}"));
        var stdout = new StringWriter();
        Assert.Equal(ExitCode.Environment, RunCommand.Execute(path, scratch.Runs, "precise", true, stdout, TextWriter.Null, default));
        Assert.Contains("SKIP", stdout.ToString());
        Assert.Contains("64 KiB", stdout.ToString());
    }

    [Fact]
    public void Env_capture_describes_this_host()
    {
        var env = PerfLab.Lab.Hosts.HostProbe.Capture();
        Assert.True(env.LogicalCores >= 1);
        Assert.NotEqual("", env.Kernel);
        Assert.Contains("KVM", env.VirtualizationKind);
    }
}

/// <summary>`perflab serve` and the openai workload's files: bad input is named and exits 2, nothing runs.</summary>
public class ServeCliTests
{
    [Theory]
    [InlineData(new[] { "--serve", "noop", "--listen", "localhost" }, "--listen 'localhost': give an IP address and a port")]
    [InlineData(new[] { "--serve", "noop", "--fault", "boom@2" }, "--fault 'boom@2': expected KIND@N")]
    [InlineData(new[] { "--serve", "noop", "--concurrency", "0" }, "--concurrency 0: give a whole number from 1 to 256")]
    public void Bad_serve_options_exit_2_naming_the_option(string[] args, string message)
    {
        var err = new StringWriter();
        var code = ServeCommand.Create(TextWriter.Null, err).Parse(args).Invoke();
        Assert.Equal((int)ExitCode.BadInput, code);
        Assert.Contains(message, err.ToString());
    }

    [Theory]
    [InlineData(null, "does not exist")]
    [InlineData("{\"conversations\": [{\"from\": \"robot\", \"value\": \"x\"}]}\n", ":1: unknown role 'robot'")]
    public void A_missing_or_damaged_prompts_file_exits_2_naming_it_and_runs_nothing(string? content, string message)
    {
        using var scratch = new Scratch();
        var prompts = Path.Combine(scratch.Dir, "chats.jsonl");
        if (content is not null) File.WriteAllText(prompts, content);
        var path = scratch.Write("s.yaml", $$"""
            name: p
            workloads:
              - {name: h, kind: openai, serve: noop, prompts: file, prompts_file: '{{prompts}}'}
            scenarios:
              - {type: single-stream, min_queries: 10, min_duration_s: 0}
            matrix: {platform: native}
            """);
        var err = new StringWriter();
        Assert.Equal(ExitCode.BadInput, RunCommand.Execute(path, scratch.Runs, "precise", true, TextWriter.Null, err, default));
        Assert.Contains("workload 'h'", err.ToString());
        Assert.Contains(message, err.ToString());
        Assert.Contains("chats.jsonl", err.ToString());
        Assert.False(Directory.Exists(scratch.Runs) && Directory.EnumerateFileSystemEntries(scratch.Runs).Any());
    }
}
