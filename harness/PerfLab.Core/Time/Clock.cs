using System.Diagnostics;

namespace PerfLab.Core.Time;

/// <summary>
/// Where the lab reads time. The load generator, the runner and the agent's cost injection take one, so the same
/// code runs against the host's monotonic clock or against virtual time in tests and simulations.
/// </summary>
public interface IClock
{
    /// <summary>Nanoseconds since an arbitrary fixed point; only differences mean anything.</summary>
    long NowNs();
}

/// <summary>The host's monotonic clock (Stopwatch): every timestamp of a real run comes from here.</summary>
public sealed class MonotonicClock : IClock
{
    public static readonly MonotonicClock Instance = new();
    private static readonly double NsPerTick = 1e9 / Stopwatch.Frequency;

    long IClock.NowNs() => NowNs();

    public static long NowNs() => Stopwatch.Frequency == 1_000_000_000
        ? Stopwatch.GetTimestamp()
        : (long)(Stopwatch.GetTimestamp() * NsPerTick);
}

/// <summary>
/// Time that moves only when told: a fake SUT advances it by its service time, a wait strategy jumps it to the
/// scheduled instant. Thread-safe, monotonic (it never goes back).
/// </summary>
public sealed class VirtualClock(long startNs = 0) : IClock
{
    private long _now = startNs;

    public long NowNs() => Interlocked.Read(ref _now);

    public void Advance(long ns)
    {
        if (ns < 0) throw new ArgumentOutOfRangeException(nameof(ns), ns, "virtual time never goes back");
        Interlocked.Add(ref _now, ns);
    }

    /// <summary>Moves to <paramref name="targetNs"/> if that is later than now.</summary>
    public void AdvanceTo(long targetNs)
    {
        long seen;
        while ((seen = Interlocked.Read(ref _now)) < targetNs && Interlocked.CompareExchange(ref _now, targetNs, seen) != seen) { }
    }
}
