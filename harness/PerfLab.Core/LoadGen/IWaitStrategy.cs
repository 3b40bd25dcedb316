using PerfLab.Core.Time;

namespace PerfLab.Core.LoadGen;

/// <summary>How the issue thread waits for a query's scheduled time. Its accuracy is the generator's accuracy.</summary>
public interface IWaitStrategy
{
    string Name { get; }
    void WaitUntil(long targetNs);
}

/// <summary>
/// Portable waiting: coarse sleeps while the target is far, yields when it nears, a busy spin for the last
/// stretch. Thread.Sleep has ~1 ms granularity, so sleeping stops 2 ms before the target.
/// </summary>
public sealed class SpinYieldWait(long spinWindowNs = 200_000) : IWaitStrategy
{
    public string Name => "spin-yield";

    public void WaitUntil(long targetNs)
    {
        while (true)
        {
            var remaining = targetNs - MonotonicClock.NowNs();
            if (remaining <= 0) return;
            if (remaining > 2_000_000) Thread.Sleep((int)((remaining - 1_500_000) / 1_000_000));
            else if (remaining > spinWindowNs) Thread.Yield();
            else Thread.SpinWait(8);
        }
    }
}

/// <summary>Waiting in virtual time: the clock jumps to the scheduled instant at once.</summary>
public sealed class VirtualWait(VirtualClock clock) : IWaitStrategy
{
    public string Name => "virtual";
    public void WaitUntil(long targetNs) => clock.AdvanceTo(targetNs);
}
