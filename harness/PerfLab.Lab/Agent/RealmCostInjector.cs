using System.Globalization;
using PerfLab.Core.Time;

namespace PerfLab.Lab.Agent;

/// <summary>
/// An emulated Realm's world-switch costs, paid as real busy time at every crossing: a query in, a token or an
/// answer out, a payload chunk taken over the shared buffer (an RSI call), a stage-2 fault on new memory, and the
/// timer ticks a Realm exits for while it runs. The prices and the tick rate come from the cell's calibration
/// profile (PERFLAB_REALM_COSTS="exit_ns=..,rsi_ns=..,fault_ns=..,tick_hz=.."); absent, every price is zero.
/// </summary>
public sealed class RealmCostInjector(long exitNs, long rsiNs, long faultNs, double tickHz, IClock clock)
{
    private long _peakResidentKb = PeakResidentKb();
    private readonly object _peakLock = new();
    private long _queries, _tokens, _queryExits, _firstTokenExits, _answerExits, _ticks, _faults, _rsiCalls;
    /// <summary>Time spent inside queries so far: the timer ticks every 1/tick_hz of it, whatever the queries' lengths.</summary>
    private long _insideNs;

    public long ExitNs => exitNs;
    public bool Active => exitNs > 0 || rsiNs > 0 || faultNs > 0;

    public static RealmCostInjector FromEnvironment(IClock clock)
    {
        var pairs = (Environment.GetEnvironmentVariable("PERFLAB_REALM_COSTS") ?? "").Split(',')
            .Select(kv => kv.Split('=')).Where(kv => kv.Length == 2).ToDictionary(kv => kv[0], kv => kv[1]);
        long L(string k) => pairs.TryGetValue(k, out var v) && long.TryParse(v, CultureInfo.InvariantCulture, out var x) ? x : 0;
        var hz = pairs.TryGetValue("tick_hz", out var h) && double.TryParse(h, CultureInfo.InvariantCulture, out var t) ? t : 0;
        return new RealmCostInjector(L("exit_ns"), L("rsi_ns"), L("fault_ns"), hz, clock);
    }

    public string Describe() => string.Create(CultureInfo.InvariantCulture, $"exit_ns={exitNs},rsi_ns={rsiNs},fault_ns={faultNs},tick_hz={tickHz:0}");

    /// <summary>What was counted so far, for the agent's stats (the cost model prices these: Analysis.RealmCostModel).</summary>
    public Core.Analysis.RealmCounts Counts => new(Interlocked.Read(ref _queries), Interlocked.Read(ref _tokens), Interlocked.Read(ref _queryExits),
        Interlocked.Read(ref _firstTokenExits), Interlocked.Read(ref _answerExits), Interlocked.Read(ref _ticks), Interlocked.Read(ref _faults),
        Interlocked.Read(ref _rsiCalls));

    /// <summary>The exit a query's arrival takes (a message crossing into the Realm).</summary>
    public void QueryArrived()
    {
        Interlocked.Increment(ref _queryExits);
        Busy(exitNs);
    }

    /// <summary>The exit a query's first token takes on its way out.</summary>
    public void FirstTokenOut()
    {
        Interlocked.Increment(ref _firstTokenExits);
        Busy(exitNs);
    }

    /// <summary>One RSI call (a chunk of the payload acknowledged to the host).</summary>
    public void RsiCall()
    {
        Interlocked.Increment(ref _rsiCalls);
        Busy(rsiNs);
    }

    /// <summary>
    /// As a query completes: the stage-2 faults its new memory would have taken, the timer ticks a Realm would have exited
    /// for while it ran, and the exit its answer takes. A Realm faults when its guest first touches guest-physical memory —
    /// reused memory does not fault again — so growth of the peak resident size, in 4 KiB granules, counts them; a native
    /// process's minor faults would count every malloc'd page each time and overstate them many times over. Ticks come
    /// from the time spent inside queries so far, so a query shorter than a tick period still carries its share (a 3 ms
    /// query at 250 Hz takes a tick three times in four), as a real timer would.
    /// </summary>
    public void QueryCompleted(long insideNs, int tokens)
    {
        Interlocked.Increment(ref _queries);
        Interlocked.Add(ref _tokens, Math.Max(0, tokens));
        long newGranules, ticks = 0;
        lock (_peakLock)
        {
            var peak = PeakResidentKb();
            newGranules = Math.Max(0, peak - _peakResidentKb) / 4;
            _peakResidentKb = Math.Max(peak, _peakResidentKb);
            if (tickHz > 0)
            {
                var before = (long)(_insideNs * tickHz / 1e9);
                _insideNs += Math.Max(0, insideNs);
                ticks = (long)(_insideNs * tickHz / 1e9) - before;
            }
        }
        Interlocked.Add(ref _faults, newGranules);
        Interlocked.Add(ref _ticks, ticks);
        Interlocked.Increment(ref _answerExits);
        Busy(newGranules * faultNs + ticks * exitNs + exitNs);
    }

    /// <summary>What loading touched was faulted in during the launch: from here on only growth is charged.</summary>
    public void ResetPeak()
    {
        lock (_peakLock) _peakResidentKb = PeakResidentKb();
    }

    private void Busy(long ns)
    {
        if (ns <= 0) return;
        var end = clock.NowNs() + ns;
        while (clock.NowNs() < end) Thread.SpinWait(16);
    }

    /// <summary>The process's peak resident memory (VmHWM).</summary>
    private static long PeakResidentKb()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line[6..].Replace("kB", "").Trim(), CultureInfo.InvariantCulture);
        }
        catch (IOException) { }
        return 0;
    }
}
