using System.Globalization;
using PerfLab.Core.Time;

namespace PerfLab.Lab.Agent;

/// <summary>
/// An emulated Realm's world-switch costs, paid as real busy time at every crossing: a query in, a token or an
/// answer out, a payload chunk taken over the shared buffer (an RSI call), a stage-2 fault on new memory, and the
/// timer ticks a Realm exits for while it runs. The prices and the tick rate come from the cell's calibration
/// profile (PERFLAB_REALM_COSTS="exit_ns=..,rsi_ns=..,fault_ns=..,tick_hz=.."); absent, every price is zero.
/// </summary>
public sealed class RealmCostInjector(long exitNs, long rsiNs, long faultNs, double tickHz, IClock clock, long granuleBytes = 4096) : Serving.IRealmCrossings
{
    private long _peakResidentKb = PeakResidentKb();
    private readonly object _lock = new();
    private long _queries, _tokens, _queryExits, _firstTokenExits, _answerExits, _ticks, _ticksBeforeFirstToken, _faults, _rsiCalls, _ioIn, _ioOut;
    /// <summary>
    /// The Realm's busy time so far (wall time while at least one query is in flight, the exits' own time included): the
    /// timer ticks every 1/tick_hz of it, and each tick due is paid at the next crossing, before the first token or with
    /// the answer — where a real Realm would have taken it, rather than all at the end.
    /// </summary>
    private long _busyNs, _busyMarkNs, _ticksPaid;
    private int _inFlight;

    public long ExitNs => exitNs;
    public bool Active => exitNs > 0 || rsiNs > 0 || faultNs > 0;

    public static RealmCostInjector FromEnvironment(IClock clock)
    {
        var pairs = (Environment.GetEnvironmentVariable("PERFLAB_REALM_COSTS") ?? "").Split(',')
            .Select(kv => kv.Split('=')).Where(kv => kv.Length == 2).ToDictionary(kv => kv[0], kv => kv[1]);
        long L(string k) => pairs.TryGetValue(k, out var v) && long.TryParse(v, CultureInfo.InvariantCulture, out var x) ? x : 0;
        var hz = pairs.TryGetValue("tick_hz", out var h) && double.TryParse(h, CultureInfo.InvariantCulture, out var t) ? t : 0;
        var granule = L("granule_bytes");
        return new RealmCostInjector(L("exit_ns"), L("rsi_ns"), L("fault_ns"), hz, clock, granule >= 4096 ? granule : 4096);
    }

    public string Describe() => string.Create(CultureInfo.InvariantCulture, $"exit_ns={exitNs},rsi_ns={rsiNs},fault_ns={faultNs},tick_hz={tickHz:0},granule_bytes={granuleBytes}");

    /// <summary>What was counted so far, for the agent's stats (the cost model prices these: Analysis.RealmCostModel).</summary>
    public Core.Analysis.RealmCounts Counts => new(Interlocked.Read(ref _queries), Interlocked.Read(ref _tokens), Interlocked.Read(ref _queryExits),
        Interlocked.Read(ref _firstTokenExits), Interlocked.Read(ref _answerExits), Interlocked.Read(ref _ticks), Interlocked.Read(ref _faults),
        Interlocked.Read(ref _rsiCalls))
    {
        TicksBeforeFirstToken = Interlocked.Read(ref _ticksBeforeFirstToken), FaultGranuleBytes = granuleBytes,
        IoBytesIn = Interlocked.Read(ref _ioIn), IoBytesOut = Interlocked.Read(ref _ioOut),
    };

    /// <summary>The exit a query's arrival takes (a message crossing into the Realm); the Realm is busy from here.</summary>
    public void QueryArrived()
    {
        lock (_lock)
        {
            Settle();
            _inFlight++;
        }
        Interlocked.Increment(ref _queryExits);
        Busy(exitNs);
    }

    /// <summary>The exit a query's first token takes on its way out, with the timer ticks that fell due before it.</summary>
    public void FirstTokenOut()
    {
        long ticks;
        lock (_lock) ticks = Settle();
        Interlocked.Increment(ref _firstTokenExits);
        Interlocked.Add(ref _ticks, ticks);
        Interlocked.Add(ref _ticksBeforeFirstToken, ticks);
        Busy(exitNs + ticks * exitNs);
    }

    /// <summary>Adds the busy time since the last mark and returns the ticks that fell due in it (call under the lock).</summary>
    private long Settle()
    {
        var now = clock.NowNs();
        if (_inFlight > 0) _busyNs += now - _busyMarkNs;
        _busyMarkNs = now;
        if (tickHz <= 0) return 0;
        var due = (long)(_busyNs * tickHz / 1e9) - _ticksPaid;
        _ticksPaid += due;
        return due;
    }

    /// <summary>Bytes of a query message that crossed into the Realm, and of a token or answer message that left it:
    /// counted, not paid (one more copy of a few dozen bytes is below what busy-waiting can resolve).</summary>
    public void BytesIn(long n) => Interlocked.Add(ref _ioIn, n);
    public void BytesOut(long n) => Interlocked.Add(ref _ioOut, n);

    /// <summary>One RSI call (a chunk of the payload acknowledged to the host).</summary>
    public void RsiCall()
    {
        Interlocked.Increment(ref _rsiCalls);
        Busy(rsiNs);
    }

    /// <summary>
    /// As a query completes: the stage-2 faults its new memory would have taken, the timer ticks that fell due since the
    /// last crossing, and the exit its answer takes. A Realm faults when its guest first touches guest-physical memory —
    /// reused memory does not fault again — so growth of the peak resident size, in the profile's granules, counts them; a native
    /// process's minor faults would count every malloc'd page each time and overstate them many times over.
    /// </summary>
    public void QueryCompleted(int tokens)
    {
        Interlocked.Increment(ref _queries);
        Interlocked.Add(ref _tokens, Math.Max(0, tokens));
        long newGranules, ticks;
        lock (_lock)
        {
            var peak = PeakResidentKb();
            // Growth in whole granules of the profile's stage-2 size; a remainder waits for the next growth to fill it.
            var granuleKb = granuleBytes / 1024;
            newGranules = Math.Max(0, peak - _peakResidentKb) / granuleKb;
            _peakResidentKb += newGranules * granuleKb;
            ticks = Settle();
            _inFlight = Math.Max(0, _inFlight - 1);
        }
        Interlocked.Add(ref _faults, newGranules);
        Interlocked.Add(ref _ticks, ticks);
        Interlocked.Increment(ref _answerExits);
        Busy(newGranules * faultNs + ticks * exitNs + exitNs);
    }

    /// <summary>What loading touched was faulted in during the launch: from here on only growth is charged.</summary>
    public void ResetPeak()
    {
        lock (_lock) _peakResidentKb = PeakResidentKb();
    }

    private void Busy(long ns)
    {
        if (ns <= 0) return;
        var end = clock.NowNs() + ns;
        while (clock.NowNs() < end) Thread.SpinWait(16);
    }

    /// <summary>The process's peak resident memory (VmHWM).</summary>
    public static long PeakResidentKb()
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
