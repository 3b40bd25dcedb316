using PerfLab.Core.Time;
using PerfLab.Lab.Agent;

namespace PerfLab.Lab.Tests.Backends;

/// <summary>The emulated Realm's counting, in virtual time (prices of zero: nothing is spun).</summary>
public class RealmCostInjectorTests
{
    [Fact]
    public void Timer_ticks_accrue_over_busy_time_and_are_paid_where_they_fall_due()
    {
        var clock = new VirtualClock();
        var injector = new RealmCostInjector(0, 0, 0, tickHz: 250, clock);
        // Four queries of 1 ms to the first token and 2 ms more to the answer, 1 ms idle between them, at 250 Hz (a tick
        // every 4 ms of busy time): 12 ms busy, 3 ticks; each query alone is shorter than a tick period.
        for (var i = 0; i < 4; i++)
        {
            injector.QueryArrived();
            clock.Advance(1_000_000);
            injector.FirstTokenOut();
            clock.Advance(2_000_000);
            injector.QueryCompleted(tokens: 16);
            clock.Advance(1_000_000);                    // idle: no query in flight, no ticks
        }
        injector.RsiCall();
        var c = injector.Counts;
        Assert.Equal(3, c.TimerTicks);
        // Due at busy 4, 8 and 12 ms: the 2nd query's first token (busy 4 ms), the 3rd's answer (9 ms), the 4th's answer (12 ms).
        Assert.Equal(1, c.TicksBeforeFirstToken);
        Assert.Equal((4, 64, 4, 4, 4, 1), (c.Queries, c.Tokens, c.QueryExits, c.FirstTokenExits, c.AnswerExits, c.RsiCalls));
        Assert.False(injector.Active);
    }
}

/// <summary>Every profile the lab ships loads: article-claims did not (its source had an unquoted "): "), which skipped every cell priced by it.</summary>
public class CalibrationProfileTests
{
    [Fact]
    public void Every_shipped_profile_loads_and_names_its_source()
    {
        var dir = PerfLab.Lab.Os.RepoPaths.FindUpwards(Path.Combine("bench", "profiles"))!;
        var names = Directory.GetFiles(dir, "*.yaml").Select(Path.GetFileNameWithoutExtension).ToList();
        Assert.Contains("article-claims", names);
        Assert.All(names, n =>
        {
            var p = PerfLab.Lab.Backends.CalibrationProfile.Load(n!);
            Assert.Equal(n, p.Name);
            Assert.False(string.IsNullOrWhiteSpace(p.Source));
        });
        // The two RMM ABI shapes differ as the ABI does (granule, delegation span) and in nothing the ABI does not change.
        var v1 = PerfLab.Lab.Backends.CalibrationProfile.Load("rmm-v1.0").ToPrices();
        var v2 = PerfLab.Lab.Backends.CalibrationProfile.Load("rmm-v2.0").ToPrices();
        Assert.Equal((4096L, 4096L), (v1.GranuleBytes, v1.DelegateBytes));
        Assert.True(v2.GranuleBytes > v1.GranuleBytes && v2.DelegateBytes > v2.GranuleBytes);
        Assert.Equal((v1.ExitUs, v1.RsiCallUs, v1.FaultUs, v1.TickHz, v1.DelegateUs, v1.BounceGBps), (v2.ExitUs, v2.RsiCallUs, v2.FaultUs, v2.TickHz, v2.DelegateUs, v2.BounceGBps));
        Assert.True(v1.BounceGBps > 0);
    }

    [Theory]
    [InlineData("granule_bytes: 5000", "granule_bytes")]
    [InlineData("delegate_us: -1", "delegate_us")]
    public void A_bad_granule_or_delegation_field_names_the_file_and_the_field(string line, string field)
    {
        var dir = Path.Combine(Path.GetTempPath(), "perflab-tests", Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "bad.yaml");
        File.WriteAllText(path, $"name: bad\nsource: a test\nexit_us: 1\nrsi_call_us: 1\nfault_us: 1\ntick_hz: 250\n{line}\n");
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => PerfLab.Lab.Backends.CalibrationProfile.Load(path));
            Assert.Contains(path, e.Message);
            Assert.Contains(field, e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}

/// <summary>
/// perflab micro --write-profile on the committed micro run that kvm-pvm-measured was written from (2026-11-24): the
/// profile it writes loads, and prices at that run's medians.
/// </summary>
public class ProfileWriterTests
{
    private static string Recorded(string run) =>
        Path.Combine(PerfLab.Lab.Os.RepoPaths.FindUpwards(Path.Combine("tests", "PerfLab.Report.Tests", "Recorded"))!, run);

    [Fact]
    public void A_profile_written_from_a_micro_run_loads_and_carries_its_medians()
    {
        var dir = Path.Combine(Path.GetTempPath(), "perflab-tests", Guid.NewGuid().ToString("N")[..12]);
        try
        {
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            var code = PerfLab.Cli.Commands.MicroCommand.WriteProfile("from-recorded", Recorded("20261124T215055Z-micro"), 250, dir, "auto", stdout, stderr, default, dir);
            Assert.True(code == PerfLab.Cli.ExitCode.Ok, stderr.ToString());
            var p = PerfLab.Lab.Backends.CalibrationProfile.Load(Path.Combine(dir, "from-recorded.yaml"));
            Assert.Equal("from-recorded", p.Name);
            Assert.Contains("20261124T215055Z-micro", p.Source);
            // The run's Harrell-Davis medians of kvm.exit.pio, kvm.exit.pio-kernel and kvm.fault.h4k-g4k, in µs.
            var run = PerfLab.Results.RunFolderReader.Read(Recorded("20261124T215055Z-micro"), PerfLab.Results.ReadMode.Tolerant);
            double Median(string @case) => run.Cells.Single(c => c.WorkloadParameters.GetValueOrDefault("case") == @case).Result!.Metrics!["op_cost"].Median.Value / 1000;
            Assert.Equal(Median("kvm.exit.pio"), p.ExitUs, 3);
            Assert.Equal(Median("kvm.exit.pio-kernel"), p.RsiCallUs, 3);
            Assert.Equal(Median("kvm.fault.h4k-g4k"), p.FaultUs, 3);
            Assert.Equal(250, p.TickHz);
            // A price the run has its optional case for: the bounce copy at the one-thread STREAM copy's median.
            Assert.Equal(run.Cells.Single(c => c.WorkloadParameters.GetValueOrDefault("case") == "host.stream.copy.t1").Result!.Metrics!["bandwidth"].Median.Value / 1e9, p.BounceGBps, 2);
            // ...and prices a run: the default suite's recorded run, re-priced by it (projected, the same counts).
            var mission = PerfLab.Results.RunFolderReader.Read(Recorded("20261128T220523Z-mission"), PerfLab.Results.ReadMode.Tolerant);
            var priced = PerfLab.Results.RealmCostTable.For(mission, p.ToPrices());
            Assert.NotEmpty(priced);
            Assert.All(priced, c => Assert.Equal(p.FaultUs, c.Terms.Single(t => t.Counted == "faults").PriceUs));

            // A profile is a record of its sources: writing the same name again is refused, and nothing is overwritten.
            var before = File.ReadAllText(Path.Combine(dir, "from-recorded.yaml"));
            var again = new StringWriter();
            Assert.Equal(PerfLab.Cli.ExitCode.BadInput, PerfLab.Cli.Commands.MicroCommand.WriteProfile("from-recorded", Recorded("20261124T215055Z-micro"), 250, dir, "auto", TextWriter.Null, again, default, dir));
            Assert.Contains("exists", again.ToString());
            Assert.Equal(before, File.ReadAllText(Path.Combine(dir, "from-recorded.yaml")));

            // A run without the cases says which are missing.
            var missing = new StringWriter();
            Assert.Equal(PerfLab.Cli.ExitCode.BadInput, PerfLab.Cli.Commands.MicroCommand.WriteProfile("x", Recorded("20261124T222555Z-overhead"), 250, dir, "auto", TextWriter.Null, missing, default, dir));
            Assert.Contains("kvm.exit.pio (not in the run)", missing.ToString());
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }
}
