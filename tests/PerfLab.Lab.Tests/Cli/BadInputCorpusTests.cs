using System.Diagnostics;
using System.Text.Json.Nodes;
using PerfLab.Lab.Os;

namespace PerfLab.Lab.Tests.Cli;

/// <summary>
/// Integration (real perflab processes): a corpus of bad inputs and faults, one row each. Every row asserts the exit code,
/// that the first error line names what is wrong, and that no stack trace reaches the user. Adding a case is adding a row.
/// </summary>
public class BadInputCorpusTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>A small real run every gate and report case can start from (built once per test class run).</summary>
    private sealed class Fixture : IDisposable
    {
        public readonly Scratch Scratch = new() { Repetitions = 1 };
        public readonly string Run;
        public readonly string Suite;

        public Fixture()
        {
            Suite = Scratch.Write("good.yaml", """
                name: corpus
                repetitions: 2
                workloads: [{name: w, kind: synthetic, output_tokens: 4, decode_us_per_token: 50, working_set_mib: 0}]
                scenarios: [{type: single-stream, min_queries: 60, min_duration_s: 0}]
                matrix: {platform: native}
                """);
            var (code, _, err) = Perflab("run", "--suite", Suite, "--results", Scratch.Runs, "--plain");
            if (code != 0) throw new InvalidOperationException("the corpus fixture run failed: " + err);
            Run = Directory.GetDirectories(Scratch.Runs).Single();
        }

        public void Dispose() => Scratch.Dispose();
    }

    private static readonly Lazy<Fixture> Shared = new(() => new Fixture());

    public static (int Code, string Out, string Err) Perflab(params string[] args)
    {
        var (file, lead) = PerflabExecutable.Resolve();
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in lead.Concat(args)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000)) { p.Kill(true); throw new TimeoutException("perflab " + string.Join(' ', args)); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>A copy of the fixture's run folder, its manifest or baseline edited by the case.</summary>
    private static string CopyRun(string dir, Action<JsonObject>? editManifest = null)
    {
        var to = Path.Combine(dir, "run-" + Guid.NewGuid().ToString("N")[..6]);
        Copy(Shared.Value.Run, to);
        if (editManifest != null)
        {
            var m = JsonNode.Parse(File.ReadAllText(Path.Combine(to, "manifest.json")))!.AsObject();
            editManifest(m);
            File.WriteAllText(Path.Combine(to, "manifest.json"), m.ToJsonString());
        }
        return to;
    }

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (var d in Directory.GetDirectories(from)) Copy(d, Path.Combine(to, Path.GetFileName(d)));
    }

    /// <summary>A baseline file of the fixture's run with every value of every metric replaced (null: kept).</summary>
    private static string Baseline(string dir, Func<JsonNode, JsonNode>? edit = null, string? suite = null)
    {
        var file = Path.Combine(dir, "base-" + Guid.NewGuid().ToString("N")[..6] + ".json");
        var (code, _, err) = Perflab("gate", "--update-baseline", "--baseline", file, "--candidate", Shared.Value.Run);
        if (code != 0) throw new InvalidOperationException(err);
        var b = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
        if (edit != null)
            foreach (var (_, metrics) in b["cells"]!.AsObject())
                foreach (var m in metrics!.AsObject().Select(kv => kv.Key).ToList())
                    metrics[m] = edit(metrics[m]!.DeepClone());
        if (suite != null) b["suite"] = suite;
        File.WriteAllText(file, b.ToJsonString());
        return file;
    }

    private static JsonNode AllValues(JsonNode launches, double v) =>
        new JsonArray(launches.AsArray().Select(l => (JsonNode)new JsonArray(l!.AsArray().Select(_ => (JsonNode)JsonValue.Create(v)).ToArray())).ToArray());

    /// <summary>One case: what it does (args from a scratch folder), the exit code it must give and what its error line must say.</summary>
    public sealed record Case(string Name, Func<string, string[]> Args, int Code, string Says)
    {
        public override string ToString() => Name;
    }

    private const string Bad = "bad input";
    public static readonly Case[] Cases =
    [
        // The CLI itself
        new("unknown command", _ => ["teleport"], 2, "teleport"),
        new("run without --suite", _ => ["run"], 2, "--suite"),
        new("gate without --candidate", _ => ["gate", "--baseline", "x"], 2, "--candidate"),
        new("--repetitions 0", d => ["run", "--suite", Shared.Value.Suite, "--repetitions", "0", "--results", d], 2, "--repetitions 0"),
        new("--repetitions 101", d => ["run", "--suite", Shared.Value.Suite, "--repetitions", "101", "--results", d], 2, "--repetitions 101"),
        new("--repetitions not a number", d => ["run", "--suite", Shared.Value.Suite, "--repetitions", "three", "--results", d], 2, "three"),
        new("--wait unknown", d => ["run", "--suite", Shared.Value.Suite, "--wait", "sleepy", "--results", d], 2, "sleepy"),
        // Suites
        new("suite file missing", d => ["run", "--suite", Path.Combine(d, "nope.yaml"), "--results", d], 2, "nope.yaml"),
        new("suite is a directory", d => ["run", "--suite", d, "--results", d], 2, "is a directory"),
        new("suite not YAML", d => ["run", "--suite", Write(d, "s.yaml", "name: [x\n  - :"), "--results", d], 2, "s.yaml"),
        new("suite with an unclosed [ is located", d => ["run", "--suite", Write(d, "u.yaml", "name: x\nworkloads: [{name: w, kind: noop}\nscenarios: []\n"), "--results", d], 2, "u.yaml:2:"),
        new("suite with an unclosed { is located", d => ["suite", "validate", Write(d, "v.yaml", "name: x\nmatrix: {platform: native\n")], 2, "the '{' at 2:9 is never closed"),
        new("suite repetitions 0", d => ["run", "--suite", Suite(d, "repetitions: 0\n"), "--results", d], 2, "repetitions"),
        new("suite repetitions a word", d => ["run", "--suite", Suite(d, "repetitions: many\n"), "--results", d], 2, "repetitions"),
        new("suite pinning of 5000 CPUs", d => ["run", "--suite", Suite(d, "", "pinning: 0-5000"), "--results", d], 2, "pinning"),
        new("suite pinning backwards", d => ["run", "--suite", Suite(d, "", "pinning: 3-1"), "--results", d], 2, "pinning"),
        new("suite unknown key", d => ["run", "--suite", Suite(d, "colour: blue\n"), "--results", d], 2, "colour"),
        new("suite gate run_drift negative", d => ["run", "--suite", Suite(d, "gate: {run_drift: -1}\n"), "--results", d], 2, "run_drift"),
        new("project of a run with no Realm cell", _ => ["project", Shared.Value.Run], 2, "no Realm cell counted its events"),
        new("project with an unknown profile", _ => ["project", Shared.Value.Run, "--profile", "nosuch"], 2, "--profile nosuch"),
        new("project of a missing run", d => ["project", Path.Combine(d, "none")], 2, "none"),
        new("claims with a claim that is not LABEL=RATE", _ => ["claims", "--host-bandwidth-gbps", "500", "--claim", "fast"], 2, "--claim 'fast'"),
        new("claims with a NaN bandwidth", _ => ["claims", "--host-bandwidth-gbps", "NaN", "--claim", "a=5"], 2, "bandwidth NaN"),
        new("claims of an unknown model", _ => ["claims", "--model", "gpt-9", "--host-bandwidth-gbps", "500", "--claim", "a=5"], 2, "--model 'gpt-9'"),
        new("drift of two runs", _ => ["drift", Shared.Value.Run, Shared.Value.Run], 2, "at least 3 runs"),
        new("drift of a missing run", d => ["drift", Shared.Value.Run, Shared.Value.Run, Path.Combine(d, "none")], 2, "none"),
        new("drift of an interrupted run", d => ["drift", Shared.Value.Run, Shared.Value.Run, CopyRun(d, m => { m["interrupted"] = true; m["state"] = "interrupted"; })], 2, "give complete runs"),
        new("drift of three copies of one run is κ 0", _ => ["drift", Shared.Value.Run, Shared.Value.Run, Shared.Value.Run], 0, "0.00; largest 0.00"),
        new("suite validate with a missing calibration profile", d => ["suite", "validate", Write(d, "cal.yaml", """
            name: cal
            calibration_profile: nosuch
            workloads: [{name: w, kind: noop}]
            scenarios: [{type: single-stream, min_queries: 10, min_duration_s: 0}]
            matrix: {platform: cca-emulated}
            """)], 2, "no calibration profile 'nosuch'"),
        new("suite whose baseline cell is excluded is valid with a warning", d => ["suite", "validate", Write(d, "orphan.yaml", """
            name: orphan
            workloads: [{name: w, kind: noop}]
            scenarios: [{type: single-stream, min_queries: 10, min_duration_s: 0}]
            matrix: {platform: native, page_size: [4k, 2m]}
            exclude: [{page_size: 4k}]
            baseline: {page_size: 4k}
            """)], 0, "have no baseline cell"),
        new("suite validate of a missing file", d => ["suite", "validate", Path.Combine(d, "none.yaml")], 2, "none.yaml"),
        // Where results go
        new("--results is a file", d => ["run", "--suite", Shared.Value.Suite, "--results", Write(d, "afile", "x")], 4, "could not write results"),
        new("--results under a file", d => ["run", "--suite", Shared.Value.Suite, "--results", Path.Combine(Write(d, "afile2", "x"), "runs")], 4, "could not write results"),
        new("gate --output under a file", d => ["gate", "--baseline", Shared.Value.Run, "--candidate", Shared.Value.Run, "--output", Path.Combine(Write(d, "f3", "x"), "gate.md")], 4, "could not write results"),
        new("--update-baseline under a file", d => ["gate", "--update-baseline", "--baseline", Path.Combine(Write(d, "f4", "x"), "b.json"), "--candidate", Shared.Value.Run], 4, "could not write results"),
        new("report --out under a file", d => ["report", Shared.Value.Run, "--out", Path.Combine(Write(d, "f5", "x"), "out")], 4, "could not write results"),
        // The gate's inputs
        new("gate baseline missing", d => ["gate", "--baseline", Path.Combine(d, "none.json"), "--candidate", Shared.Value.Run], 2, "none.json"),
        new("gate candidate missing", d => ["gate", "--baseline", Shared.Value.Run, "--candidate", Path.Combine(d, "none")], 2, "none"),
        new("gate baseline not JSON", d => ["gate", "--baseline", Write(d, "b.json", "{ not json"), "--candidate", Shared.Value.Run], 2, "not a PerfLab baseline"),
        new("gate baseline of schema 99", d => ["gate", "--baseline", Write(d, "b99.json", "{\"schema\": 99, \"suite\": \"corpus\", \"source\": \"\", \"created_utc\": \"\", \"cells\": {}}"), "--candidate", Shared.Value.Run], 2, "schema 99"),
        new("gate baseline without cells", d => ["gate", "--baseline", Write(d, "b0.json", "{\"schema\": 3, \"suite\": \"corpus\", \"source\": \"\", \"created_utc\": \"\"}"), "--candidate", Shared.Value.Run], 2, "no cells"),
        new("gate baseline values negative", d => ["gate", "--baseline", Baseline(d, l => AllValues(l, -5)), "--candidate", Shared.Value.Run], 2, "not finite and positive"),
        new("gate baseline values zero", d => ["gate", "--baseline", Baseline(d, l => AllValues(l, 0)), "--candidate", Shared.Value.Run], 2, "not finite and positive"),
        new("gate baseline values 1e308", d => ["gate", "--baseline", Baseline(d, l => AllValues(l, 1e308)), "--candidate", Shared.Value.Run], 2, "above 1e13"),
        new("gate baseline values INT64_MAX", d => ["gate", "--baseline", Baseline(d, l => AllValues(l, long.MaxValue)), "--candidate", Shared.Value.Run], 2, "above 1e13"),
        new("gate baseline arrays emptied", d => ["gate", "--baseline", Baseline(d, _ => new JsonArray()), "--candidate", Shared.Value.Run], 2, "no values"),
        new("gate baseline values a string", d => ["gate", "--baseline", Baseline(d, _ => JsonValue.Create("fast")), "--candidate", Shared.Value.Run], 2, "neither a list of values"),
        new("gate baseline of another suite", d => ["gate", "--baseline", Baseline(d, suite: "other"), "--candidate", Shared.Value.Run], 2, "suite 'other'"),
        new("gate candidate interrupted", d => ["gate", "--baseline", Shared.Value.Run, "--candidate", CopyRun(d, m => { m["interrupted"] = true; m["state"] = "interrupted"; })], 2, "is interrupted"),
        new("gate candidate died mid-run", d => ["gate", "--baseline", Shared.Value.Run, "--candidate", CopyRun(d, m => m["state"] = "running")], 2, "incomplete"),
        new("gate candidate manifest torn", d => ["gate", "--baseline", Shared.Value.Run, "--candidate", Torn(CopyRun(d))], 2, "manifest.json"),
        new("gate candidate interrupted given as a string", d => ["gate", "--baseline", Shared.Value.Run, "--candidate", CopyRun(d, m => m["interrupted"] = "yes")], 2, "interrupted"),
        new("gate candidate run id a number", d => ["gate", "--baseline", Shared.Value.Run, "--candidate", CopyRun(d, m => m["run_id"] = 7)], 2, "run_id"),
        new("gate --threshold-pct NaN", _ => ["gate", "--baseline", Shared.Value.Run, "--candidate", Shared.Value.Run, "--threshold-pct", "NaN"], 2, "--threshold-pct"),
        new("gate --threshold-pct 0", _ => ["gate", "--baseline", Shared.Value.Run, "--candidate", Shared.Value.Run, "--threshold-pct", "0"], 2, "--threshold-pct"),
        new("gate --threshold-pct 100", _ => ["gate", "--baseline", Shared.Value.Run, "--candidate", Shared.Value.Run, "--threshold-pct", "100"], 2, "--threshold-pct"),
        new("gate --fail-on sometimes", _ => ["gate", "--baseline", Shared.Value.Run, "--candidate", Shared.Value.Run, "--fail-on", "sometimes"], 2, "sometimes"),
        // Reports
        new("report of a missing folder", d => ["report", Path.Combine(d, "none")], 2, "none"),
        new("report --tco missing", _ => ["report", Shared.Value.Run, "--tco", "/nonexistent/tco.json"], 2, "--tco"),
        new("report --tco not JSON", d => ["report", Shared.Value.Run, "--tco", Write(d, "t.json", "{"), "--out", Path.Combine(d, "o")], 2, "--tco"),
        new("report of a run whose samples are torn", d => ["report", TornSamples(CopyRun(d))], 2, "samples.csv"),
        new("report of a run with a null median", d => ["report", NullMedian(CopyRun(d))], 2, "an estimate is missing"),
        new("gate whose candidate is a baseline file writes no gate.md beside the caller", d => ["gate", "--baseline", Shared.Value.Run, "--candidate", Baseline(d)], 0, "not written to a file"),
        // TCO
        new("tco unknown model", _ => ["tco", "--model", "gpt-9", "--tokens-per-s", "20"], 2, "gpt-9"),
        new("tco no rate", _ => ["tco", "--model", "llama-70b"], 2, "--tokens-per-s"),
        new("tco --tokens-per-s NaN", _ => ["tco", "--model", "llama-70b", "--tokens-per-s", "NaN"], 2, "finite"),
        new("tco --price-per-hour Infinity", _ => ["tco", "--model", "llama-70b", "--tokens-per-s", "20", "--price-per-hour", "Infinity"], 2, "finite"),
        new("tco --price-per-hour a word", _ => ["tco", "--model", "llama-70b", "--tokens-per-s", "20", "--price-per-hour", "cheap"], 2, "cheap"),
        new("tco --host-memory-gb NaN", _ => ["tco", "--model", "llama-70b", "--tokens-per-s", "20", "--host-memory-gb", "NaN"], 2, "finite"),
        new("tco --tokens-per-s 0", _ => ["tco", "--model", "llama-70b", "--tokens-per-s", "0"], 2, "tokens"),
        new("tco --context -1", _ => ["tco", "--model", "llama-70b", "--tokens-per-s", "20", "--context", "-1"], 2, "context"),
        new("tco --arrivals without --cold-boot-s", _ => ["tco", "--model", "llama-70b", "--tokens-per-s", "20", "--arrivals-per-s", "1"], 2, "--cold-boot-s"),
        // Models: checked before anything is built
        new("model build of 2e9 layers", d => ["model", "build", "--layers", "2000000000", "--out", Path.Combine(d, "m")], 2, "layers"),
        new("model build of 100 B parameters", d => ["model", "build", "--preset", "1b", "--layers", "1000", "--hidden", "8192", "--heads", "64", "--kv-heads", "8", "--out", Path.Combine(d, "m")], 2, "billion parameters"),
        new("model build of an unknown preset", d => ["model", "build", "--preset", "huge", "--out", Path.Combine(d, "m")], 2, "huge"),
        new("suite description of 5,000 characters", d => ["run", "--suite", Suite(d, "description: " + new string('d', 5_000) + "\n"), "--results", d], 2, "at most 4,000 characters"),
        new("suite larger than 1 MiB", d => ["run", "--suite", Write(d, "big.yaml", "name: big\ndescription: " + new string('x', 1_100_000) + "\n"), "--results", d], 2, "KiB"),
        // Microbenchmarks
        new("micro --pinning with a YAML line in it", d => ["micro", "--case", "host.syscall", "--pinning", "auto\n  co_tenant: stream", "--results", d], 2, "--pinning"),
        new("micro unknown case", d => ["micro", "--case", "kvm.exit.teleport", "--results", d], 2, "teleport"),
    ];

    private static string Write(string dir, string name, string text)
    {
        var f = Path.Combine(dir, name);
        File.WriteAllText(f, text);
        return f;
    }

    private static string Suite(string dir, string top, string? matrixExtra = null) => Write(dir, $"s{Guid.NewGuid():N}.yaml",
        "name: corpus\n" + top + """
            workloads: [{name: w, kind: noop}]
            scenarios: [{type: single-stream, min_queries: 10, min_duration_s: 0}]
            matrix:
              platform: native
            """ + (matrixExtra is null ? "" : "\n  " + matrixExtra) + "\n");

    private static string Torn(string run)
    {
        File.WriteAllText(Path.Combine(run, "manifest.json"), "{\"schema\": 3, \"run_id\": ");
        return run;
    }

    private static string NullMedian(string run)
    {
        var f = Path.Combine(run, "summary.json");
        var j = JsonNode.Parse(File.ReadAllText(f))!;
        j["cells"]![0]!["result"]!["metrics"]!["latency"]!["median"] = null;
        File.WriteAllText(f, j.ToJsonString());
        return run;
    }

    private static string TornSamples(string run)
    {
        var lines = File.ReadAllLines(Path.Combine(run, "samples.csv"));
        File.WriteAllLines(Path.Combine(run, "samples.csv"), lines.Take(30).Append("w.x,1,single-stream,not-a-number,,,"));
        return run;
    }

    public static IEnumerable<object[]> Rows => Cases.Select(c => new object[] { c });

    [Theory]
    [MemberData(nameof(Rows))]
    public void Each_bad_input_exits_with_its_code_names_the_problem_and_prints_no_stack_trace(Case c)
    {
        using var scratch = new Scratch();
        var (code, stdout, stderr) = Perflab(c.Args(scratch.Dir));
        output.WriteLine($"{c.Name}: exit {code}\n{stderr}");
        Assert.Equal(c.Code, code);
        var said = stderr + stdout;
        Assert.Contains(c.Says, said);
        Assert.DoesNotContain("   at ", said);                    // no stack trace
        Assert.DoesNotContain("Unhandled exception", said);
    }

    [Fact]
    public void The_corpus_has_at_least_fifty_cases_and_no_two_share_a_name()
    {
        Assert.True(Cases.Length >= 50, $"{Cases.Length} cases");
        Assert.Equal(Cases.Length, Cases.Select(c => c.Name).Distinct().Count());
    }

    [Fact]
    public void With_verbose_an_error_shows_its_stack_trace()
    {
        using var scratch = new Scratch();
        var (code, _, stderr) = Perflab("run", "--suite", Shared.Value.Suite, "--results", Write(scratch.Dir, "afile", "x"), "--verbose");
        Assert.Equal(4, code);
        Assert.Contains("   at ", stderr);
    }
}

/// <summary>
/// Integration (real processes): kill -9 of perflab in the middle of a launch loses only the last second of it, and
/// `perflab run --resume` finishes the run: only the launches not recorded run, the killed one from its start.
/// </summary>
public class CrashSafetyTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public void A_kill_9_mid_launch_keeps_every_finished_launch_and_the_killed_ones_queries_and_resume_finishes_the_run()
    {
        using var scratch = new Scratch();
        var suite = scratch.Write("long.yaml", """
            name: crash
            repetitions: 2
            workloads: [{name: w, kind: synthetic, output_tokens: 4, decode_us_per_token: 200, working_set_mib: 0}]
            scenarios:
              - {type: offline, min_queries: 100}
              - {type: single-stream, min_queries: 100, min_duration_s: 12}     # long enough for the refused resume and the kill to land inside it on a busy host
            matrix: {platform: native}
            """);
        var (file, lead) = PerflabExecutable.Resolve();
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in lead.Concat(["run", "--suite", suite, "--results", scratch.Runs, "--plain"])) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        // The long cell's first progress line: its first launch has started.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        string? line;
        while ((line = p.StandardOutput.ReadLine()) != null && !line.Contains("single-stream") && DateTime.UtcNow < deadline) { }
        var run = Directory.GetDirectories(scratch.Runs).Single();
        // Wait until the running launch has checkpointed at least 100 of its queries to disk (about a second of it; on a
        // busy host its agent may take a few seconds to start): what was on disk before the kill must survive it.
        var samples = Path.Combine(run, "samples.csv");
        int OnDisk() => File.ReadLines(samples).Count(l => l.StartsWith("w.single-stream", StringComparison.Ordinal));
        var until = DateTime.UtcNow.AddSeconds(60);
        while (OnDisk() < 100 && DateTime.UtcNow < until && !p.HasExited) Thread.Sleep(100);
        // A second writer while the first still runs is refused before it touches anything: the running launch's rows
        // stay in samples.csv (a resume that set them aside first took them from under the running launch).
        var beforeRefused = OnDisk();
        var (busyCode, _, busyErr) = BadInputCorpusTests.Perflab("run", "--resume", run, "--plain");
        Assert.Equal(2, busyCode);
        Assert.Contains("another perflab process is writing this run", busyErr);
        Assert.False(File.Exists(Path.Combine(run, "abandoned_samples.csv")));
        Assert.True(OnDisk() >= beforeRefused, $"{OnDisk()} rows of the running launch on disk after the refused resume, {beforeRefused} before");
        var before = OnDisk();
        p.Kill(entireProcessTree: true);    // SIGKILL: no handler runs, nothing is flushed on the way out
        p.WaitForExit();

        var (code, stdout, stderr) = BadInputCorpusTests.Perflab("report", run, "--out", Path.Combine(scratch.Dir, "report"));
        output.WriteLine(stdout + stderr);
        Assert.Equal(0, code);
        Assert.Contains("incomplete (perflab stopped during launch 1 of w.single-stream", stdout);
        var data = PerfLab.Results.RunFolderReader.Read(run, PerfLab.Results.ReadMode.Tolerant);
        var offline = data.Cells.Single(c => c.Id.StartsWith("w.offline"));
        Assert.Equal("ok", offline.Status);                 // the finished launch is whole
        var kept = data.LaunchSamples.Single(kv => kv.Key.StartsWith("w.single-stream")).Value["latency"][1].Length;
        Assert.True(before >= 100, $"the launch had checkpointed only {before} queries within 60 s");
        Assert.True(kept >= before, $"only {kept} queries of the killed launch were kept; {before} were on disk before the kill");
        var offlineLaunch1 = data.LaunchSamples[offline.Id]["latency"][1];

        var (resumeCode, resumeOut, resumeErr) = BadInputCorpusTests.Perflab("run", "--resume", run, "--plain");
        output.WriteLine(resumeOut + resumeErr);
        Assert.Equal(0, resumeCode);
        Assert.Contains("1 launches recorded, 3 to run", resumeOut);
        var after = PerfLab.Results.RunFolderReader.Read(run, PerfLab.Results.ReadMode.Strict);
        Assert.Equal("complete", after.StateWord);
        Assert.Single(after.Manifest!.ResumedUtc);
        Assert.Equal(4, after.Manifest.Cells.Count);        // 2 cells × 2 launches, each recorded once
        Assert.All(after.Cells, c => Assert.Equal("ok", c.Status));
        Assert.Equal(offlineLaunch1, after.LaunchSamples[offline.Id]["latency"][1]);   // measured before the kill: untouched
        // The killed launch ran again from its start: its ~12 s, not its partial rows plus more; those are kept apart.
        var ssId = after.Cells.Single(c => c.Id.StartsWith("w.single-stream")).Id;
        var abandoned = File.ReadAllLines(Path.Combine(run, "abandoned_samples.csv"));
        Assert.Equal(kept, abandoned.Length - 1);
        Assert.All(abandoned.Skip(1), l => Assert.StartsWith("samples.csv," + ssId + ",1,", l));
        Assert.Equal(2, after.LaunchSamples[ssId]["latency"].Count);
        Assert.All(after.Cells, c => Assert.Equal(2, c.Summary.Launches!.Count));
        // A complete run has nothing to resume.
        var (again, againOut, _) = BadInputCorpusTests.Perflab("run", "--resume", run, "--plain");
        Assert.Equal(0, again);
        Assert.Contains("nothing to resume", againOut);
    }
}
