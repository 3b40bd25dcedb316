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
    }
}
