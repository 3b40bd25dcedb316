using PerfLab.Core.Time;
using PerfLab.Lab.Agent;

namespace PerfLab.Lab.Tests.Backends;

/// <summary>The emulated Realm's counting, in virtual time (prices of zero: nothing is spun).</summary>
public class RealmCostInjectorTests
{
    [Fact]
    public void Timer_ticks_accrue_over_time_inside_queries_so_short_queries_carry_their_share()
    {
        var injector = new RealmCostInjector(0, 0, 0, tickHz: 250, new VirtualClock());
        // Four 3 ms queries at 250 Hz (a tick every 4 ms): 12 ms inside, 3 ticks; each alone would truncate to 0.
        for (var i = 0; i < 4; i++)
        {
            injector.QueryArrived();
            injector.FirstTokenOut();
            injector.QueryCompleted(3_000_000, tokens: 16);
        }
        injector.RsiCall();
        var c = injector.Counts;
        Assert.Equal(3, c.TimerTicks);
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
