using PerfLab.Core.Results;
using PerfLab.Core.Suites;
using PerfLab.Core.Time;
using PerfLab.Lab.Progress;
using PerfLab.Lab.Runner;
using PerfLab.Lab.Tests.Fakes;
using PerfLab.Results;

namespace PerfLab.Lab.Tests.Runner;

/// <summary>The runner and the run folder on a fake backend in virtual time: no process, no agent, no waiting.</summary>
public class RunnerTests
{
    // The baseline (native) cell is listed last on purpose: overheads must not depend on the order cells run in.
    private const string Yaml = """
        name: fake
        seed: 5
        workloads:
          - {name: a, kind: noop}
          - {name: b, kind: noop}
        scenarios:
          - {type: single-stream, min_queries: 200, min_duration_s: 0}
        matrix:
          platform: [cca-emulated, native]
        exclude:
          - {workload: b, platform: native}
        baseline: {platform: native}
        """;

    private static (FakeRealmBackend Native, FakeRealmBackend Emulated, SuiteRunner Runner) Make()
    {
        var clock = new VirtualClock();
        var native = new FakeRealmBackend(Platform.Native, clock, 1_000_000);
        var emulated = new FakeRealmBackend(Platform.CcaEmulated, clock, 1_200_000);
        var context = new RunContext(FakeRealmBackend.FakeHost(), new Dictionary<string, string> { ["fake"] = "1" }, new PerfLab.Core.LoadGen.VirtualWait(clock), clock);
        return (native, emulated, new SuiteRunner([native, emulated], context));
    }

    [Fact]
    public void A_three_cell_run_writes_a_whole_folder_with_overheads_whatever_the_cell_order()
    {
        using var scratch = new Scratch();
        var (native, emulated, runner) = Make();
        var suite = SuiteLoader.Parse(Yaml, "fake.yaml");
        Assert.Equal(3, suite.Cells.Count);
        var outcome = runner.Run(suite, scratch.Runs, new PlainProgress(TextWriter.Null), default, repetitions: 1);

        Assert.False(outcome.Interrupted);
        Assert.All(outcome.Cells, c => Assert.Equal(CellStatus.Ok, c.Status));
        // The baseline ran after the cell it is compared with, and the overhead is there all the same: about +20 %.
        Assert.True(emulated.Launched.Count == 2 && native.Launched.Count == 1);
        var a = outcome.Cells.Single(c => c.Cell.Workload.Name == "a" && c.Cell.Realm.Platform == Platform.CcaEmulated);
        var latency = a.Overheads.Single(o => o.Metric == "latency");
        Assert.InRange(latency.Pct, 15, 25);
        Assert.True(latency.PctLower <= latency.Pct && latency.Pct <= latency.PctUpper);

        var read = RunFolderReader.Read(outcome.FolderPath, ReadMode.Strict);
        Assert.Equal("complete", read.State);
        Assert.Equal(3, read.Cells.Count);
        Assert.Empty(read.NotRun);
        Assert.Equal(600, read.Samples.Values.Sum(m => m["latency"].Length));
        Assert.Equal(latency.Pct, read.Cells.Single(c => c.Id == a.Cell.Id).Overheads.Single(o => o.Metric == "latency").Pct, 9);
        Assert.Equal("fake-host", read.Host["hostname"]);
        Assert.All(read.Cells, c => Assert.True(c.PhasesMs.Has(Phase.Launch) && c.PhasesMs.Has(Phase.FirstToken)));
        var gate = GateSides.FromRun(read);
        Assert.Equal(3, gate.Input.Cells.Count);
    }

    [Fact]
    public void The_warm_up_is_served_first_and_kept_out_of_the_samples_and_the_counters()
    {
        using var scratch = new Scratch();
        var (_, _, runner) = Make();
        var suite = SuiteLoader.Parse(Yaml.Replace("seed: 5", "seed: 5\nwarmup_s: 0.5"), "fake.yaml");
        var outcome = runner.Run(suite, scratch.Runs, new PlainProgress(TextWriter.Null), default, repetitions: 1);

        Assert.All(outcome.Cells, c =>
        {
            Assert.Equal(CellStatus.Ok, c.Status);
            // 0.5 s at 1-1.2 ms a query in virtual time: hundreds of warm-up queries, none of them in the measured figures.
            Assert.InRange(int.Parse(c.EffectiveRealm["warmup_queries"]), 350, 550);
            Assert.Equal("200", c.EffectiveRealm["agent.queries_served"]);
        });
        Assert.Equal(600, RunFolderReader.Read(outcome.FolderPath, ReadMode.Strict).Samples.Values.Sum(m => m["latency"].Length));
    }

    [Theory]
    [InlineData(3, "true")]      // the peak grows for 3 rounds, then stays: steady
    [InlineData(1000, "false")]  // it never stops growing: the cap ends the warm-up, and the launch says so
    public void The_warm_up_goes_on_in_rounds_while_the_agent_memory_grows_up_to_its_cap(int growingRounds, string steady)
    {
        using var scratch = new Scratch();
        var (native, emulated, runner) = Make();
        // 4 MiB more at each asking while growing, then flat.
        native.PeakKb = emulated.PeakKb = n => 100_000 + 4096L * Math.Min(n, growingRounds);
        var suite = SuiteLoader.Parse(Yaml.Replace("seed: 5", "seed: 5\nwarmup_s: 0.5\nwarmup_max_s: 10"), "fake.yaml");
        var outcome = runner.Run(suite, scratch.Runs, new PlainProgress(TextWriter.Null), default, repetitions: 1);
        Assert.All(outcome.Cells, c =>
        {
            Assert.Equal(steady, c.EffectiveRealm["warmup_steady"]);
            var s = double.Parse(c.EffectiveRealm["warmup_s"], System.Globalization.CultureInfo.InvariantCulture);
            // Rounds of a second (virtual): steady after the 4th round's flat peak, else cut at the 10 s cap.
            if (steady == "true") Assert.InRange(s, 4.5, 5.6); else Assert.InRange(s, 9, 10.1);
            Assert.Equal("200", c.EffectiveRealm["agent.queries_served"]);
        });
    }

    [Fact]
    public void An_interrupted_run_keeps_what_it_finished_and_says_what_never_ran()
    {
        using var scratch = new Scratch();
        var (_, emulated, runner) = Make();
        using var cts = new CancellationTokenSource();
        var progress = new CancelAfterFirstCell(cts);
        var outcome = runner.Run(SuiteLoader.Parse(Yaml, "fake.yaml"), scratch.Runs, progress, cts.Token, repetitions: 1);

        Assert.True(outcome.Interrupted);
        Assert.Single(outcome.Cells);
        var read = RunFolderReader.Read(outcome.FolderPath, ReadMode.Tolerant);
        Assert.True(read.Interrupted);
        Assert.Equal("interrupted", read.StateWord);
        Assert.Equal(2, read.NotRun.Count);
        Assert.Equal(200, read.Samples[outcome.Cells[0].Cell.Id]["latency"].Length);
        Assert.Single(emulated.Launched);
    }

    [Fact]
    public void A_failing_cell_fails_alone_with_its_reason_and_keeps_its_queries()
    {
        using var scratch = new Scratch();
        var (_, emulated, runner) = Make();
        emulated.FailLaunch.Add("b");
        emulated.FailAfterQueries["a"] = 30;
        var outcome = runner.Run(SuiteLoader.Parse(Yaml, "fake.yaml"), scratch.Runs, new PlainProgress(TextWriter.Null), default, repetitions: 1);

        var byId = outcome.Cells.ToDictionary(c => (c.Cell.Workload.Name, c.Cell.Realm.Platform));
        Assert.Equal(CellStatus.Failed, byId[("b", Platform.CcaEmulated)].Status);
        Assert.StartsWith("launch failed: the fake Realm refused to start", byId[("b", Platform.CcaEmulated)].Reason);
        var a = byId[("a", Platform.CcaEmulated)];
        Assert.Equal(CellStatus.Failed, a.Status);
        Assert.Equal("the fake SUT went away", a.Reason);
        Assert.Equal(30, a.Analysis!.QueriesCompleted);
        Assert.Empty(a.Overheads); // a failed cell is not compared
        Assert.Equal(CellStatus.Ok, byId[("a", Platform.Native)].Status);
        var read = RunFolderReader.Read(outcome.FolderPath, ReadMode.Strict);
        Assert.Equal("complete", read.State);
        Assert.Equal(2, read.Cells.Count(c => c.Status == "failed"));
    }

    [Fact]
    public void A_folder_of_another_schema_version_says_so_instead_of_being_misread()
    {
        using var scratch = new Scratch();
        var (_, _, runner) = Make();
        var outcome = runner.Run(SuiteLoader.Parse(Yaml, "fake.yaml"), scratch.Runs, new PlainProgress(TextWriter.Null), default, repetitions: 1);
        var manifest = Path.Combine(outcome.FolderPath, "manifest.json");
        Assert.Contains("\"schema\": 3", File.ReadAllText(manifest));
        File.WriteAllText(manifest, File.ReadAllText(manifest).Replace("\"schema\": 3", "\"schema\": 99"));
        var tolerant = RunFolderReader.Read(outcome.FolderPath, ReadMode.Tolerant);
        Assert.Contains(tolerant.Problems, p => p.What.StartsWith("schema 99, this PerfLab reads schemas 1 and 2 and 3"));
        var e = Assert.Throws<ResultsFormatException>(() => RunFolderReader.Read(outcome.FolderPath, ReadMode.Strict));
        Assert.Contains("schema 99", e.Message);
    }

    [Fact]
    public void Launches_are_interleaved_across_cells_and_intervals_are_over_launches()
    {
        using var scratch = new Scratch();
        var (native, emulated, runner) = Make();
        var suite = SuiteLoader.Parse(Yaml, "fake.yaml");
        Assert.Equal(Suite.DefaultRepetitions, suite.Repetitions);
        var outcome = runner.Run(suite, scratch.Runs, new PlainProgress(TextWriter.Null), default, repetitions: 3);

        // A B C A B C: every cell's first launch before any cell's second, so slow drift of the host hits all alike.
        var a = suite.Cells.Single(c => c.Workload.Name == "a" && c.Realm.Platform == Platform.CcaEmulated).Id;
        var b = suite.Cells.Single(c => c.Workload.Name == "b").Id;
        Assert.Equal([a, b, a, b, a, b], emulated.Launched);
        Assert.Equal(3, native.Launched.Count);
        var read = RunFolderReader.Read(outcome.FolderPath, ReadMode.Strict);
        Assert.Equal([1, 1, 1, 2, 2, 2, 3, 3, 3], read.Manifest!.Cells.Select(c => c.Launch));
        Assert.Equal(3, read.Cells.Count);
        Assert.All(read.Cells, c => Assert.Equal(3, c.Summary.Launches!.Count));
        Assert.All(read.LaunchSamples.Values, m => Assert.Equal([1, 2, 3], m["latency"].Keys));
        Assert.True(File.Exists(Path.Combine(outcome.FolderPath, "cells", a, "launch-2", "mlperf_log_summary.txt")));

        var cell = outcome.Cells.Single(c => c.Cell.Id == a);
        Assert.Equal(IntervalBasis.Launches, cell.IntervalBasis);
        Assert.Equal(3, cell.Spread["latency"].Launches);
        var overhead = cell.Overheads.Single(o => o.Metric == "latency");
        Assert.Equal("launches", overhead.Basis);
        Assert.InRange(overhead.Pct, 15, 25);
        Assert.Equal(3, GateSides.FromRun(read).Input.Cells[a]["latency"].Count);
    }

    [Fact]
    public void A_disturbed_launch_is_left_out_of_the_gate_while_two_quiet_ones_remain()
    {
        using var scratch = new Scratch();
        var clock = new VirtualClock();
        var native = new FakeRealmBackend(Platform.Native, clock, 1_000_000);
        var probe = new BusyOnWindows(clock, busy: [2]);
        var runner = new SuiteRunner([native], new RunContext(FakeRealmBackend.FakeHost(), new Dictionary<string, string>(),
            new PerfLab.Core.LoadGen.VirtualWait(clock), clock) { Interference = probe });
        const string one = """
            name: one
            workloads: [{name: a, kind: noop}]
            scenarios: [{type: single-stream, min_queries: 100, min_duration_s: 0}]
            matrix: {platform: native}
            """;
        var outcome = runner.Run(SuiteLoader.Parse(one, "one.yaml"), scratch.Runs, new PlainProgress(TextWriter.Null), default, repetitions: 3);
        var cell = outcome.Cells.Single();
        Assert.Contains("launch 2 of 3: host busy", cell.Disturbed);
        var side = GateSides.FromRun(RunFolderReader.Read(outcome.FolderPath, ReadMode.Strict)).Input;
        Assert.Equal(2, side.Cells[cell.Cell.Id]["latency"].Count);
        Assert.Contains("launch 2 of 3", side.LeftOut[cell.Cell.Id]);
        Assert.Empty(side.Disturbed);

        // Two of three disturbed: too few quiet launches to judge; the cell is disturbed and never judged.
        var two = new SuiteRunner([native], new RunContext(FakeRealmBackend.FakeHost(), new Dictionary<string, string>(),
            new PerfLab.Core.LoadGen.VirtualWait(clock), clock) { Interference = new BusyOnWindows(clock, busy: [1, 3]) })
            .Run(SuiteLoader.Parse(one, "one.yaml"), scratch.Runs, new PlainProgress(TextWriter.Null), default, repetitions: 3);
        var side2 = GateSides.FromRun(RunFolderReader.Read(two.FolderPath, ReadMode.Strict)).Input;
        Assert.Contains("launch 1 of 3", side2.Disturbed.Single().Value);
        Assert.Equal(3, side2.Cells.Single().Value["latency"].Count);
    }

    /// <summary>A fake interference probe: the listed measured windows (1-based) saw another process use a whole CPU.</summary>
    private sealed class BusyOnWindows(VirtualClock clock, int[] busy) : PerfLab.Lab.Hosts.IInterferenceProbe
    {
        private int _window;
        public PerfLab.Core.Analysis.HostCpuSnapshot Snapshot() => new(clock.NowNs(), 0, 0, 0, new Dictionary<int, long>(), new Dictionary<int, long>());
        public PerfLab.Core.Analysis.Interference Between(PerfLab.Core.Analysis.HostCpuSnapshot start, PerfLab.Core.Analysis.HostCpuSnapshot end) =>
            new(1, 1, 0, busy.Contains(++_window) ? 1.0 : 0, 0, 0);
    }

    private sealed class CancelAfterFirstCell(CancellationTokenSource cts) : IRunProgress
    {
        public void CellStarted(int index, int total, Cell cell) { }
        public void CellProgress(double fraction) { }
        public void CellFinished(CellResult r) => cts.Cancel();
        public void Note(string text) { }
    }
}
