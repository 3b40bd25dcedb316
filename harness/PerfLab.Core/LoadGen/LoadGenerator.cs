using PerfLab.Core.Suites;
using PerfLab.Core.Time;
using PerfLab.Core.Units;

namespace PerfLab.Core.LoadGen;

/// <summary>The settings a scenario actually ran with (LoadGen's effective TestSettings), logged beside the requested ones.</summary>
public sealed record EffectiveSettings(
    string Scenario,
    string Kind,
    double? TargetQps,
    long QueriesPlanned,
    double MinDurationS,
    double MaxDurationS,
    int MinQueryCount,
    int Seed,
    string WaitStrategy,
    int PerformanceSampleCount);

/// <summary>What one scenario produced: every query record, kept raw, and how the scenario ended.</summary>
public sealed record ScenarioRun(
    EffectiveSettings Effective,
    QueryRecord[] Records,
    long DurationNs,
    string? Failure,
    bool Interrupted,
    bool TimedOut);

/// <summary>
/// One engine, three scheduling policies (MLPerf LoadGen semantics):
/// single-stream issues the next query when the previous completes; server issues at Poisson arrival times fixed
/// in advance from a seed, latency counted from the scheduled time; offline issues every query at once.
/// </summary>
public sealed class LoadGenerator(IWaitStrategy wait, IClock clock)
{
    public LoadGenerator() : this(new SpinYieldWait(), MonotonicClock.Instance) { }
    public LoadGenerator(IWaitStrategy wait) : this(wait, MonotonicClock.Instance) { }

    /// <summary>
    /// The server schedule, fixed before the run: Poisson arrival offsets from the scenario's start in ns, generated
    /// (as LoadGen does) until both the minimum query count and the minimum duration are covered.
    /// </summary>
    public static long[] PoissonSchedule(double qps, long minQueries, long minDurationNs, int seed)
    {
        var rng = new Random(seed);
        var times = new List<long>((int)Math.Min(int.MaxValue / 2, Math.Max(minQueries, (long)(qps * minDurationNs / 1e9) + 16)));
        double t = 0;
        while (times.Count < minQueries || (times.Count > 0 ? times[^1] : 0) < minDurationNs)
        {
            t += -Math.Log(1 - rng.NextDouble()) / qps;
            times.Add((long)(t * 1e9));
        }
        return times.ToArray();
    }

    /// <summary>
    /// The untimed warm-up before a launch's measured window: the cell's own scenario (its rate, or a capacity search's
    /// start rate), for <paramref name="warmup"/> and until every sample of the performance set has been served once, so
    /// the code paths the measured window takes are the ones warmed and the runtime has grown its buffers for the longest
    /// sample. Measured on the tiny LLM in an emulated Realm: after a 1 s warm-up (23 queries) the measured window still
    /// took 8723-17122 stage-2 faults (the runtime's memory still growing); after 8 s (211-220 queries), none. Its seed differs from the measured run's (WarmupSeed), so the window does not replay the samples
    /// the warm-up just served in the same order. Null when there is no warm-up.
    /// </summary>
    public static ScenarioSpec? WarmupSpec(ScenarioSpec spec, Nanoseconds warmup) => warmup.Value <= 0 ? null : spec with
    {
        Name = spec.Name + "-warmup",
        TargetQps = spec.Search?.StartQps ?? spec.TargetQps,
        MinDuration = warmup,
        MinQueryCount = 1,
        Search = null,
        CoverEverySample = true,
    };

    public static int WarmupSeed(int seed) => unchecked(seed * 7919 + 1);

    /// <summary>The sample of each query: every one in turn first when asked (a warm-up), then at random, as LoadGen draws them.</summary>
    private sealed class SamplePicker(Random rng, int count, bool everyOneFirst)
    {
        private int _issued;
        public int Next() => everyOneFirst && _issued < count ? _issued++ : rng.Next(count);
    }

    /// <summary>Queries an offline scenario issues: enough for the expected QPS to fill the minimum duration, and the minimum count.</summary>
    public static long OfflineQueries(ScenarioSpec spec) => spec.TargetQps is { } q
        ? Math.Max(spec.MinQueryCount, (long)Math.Ceiling(q * spec.MinDuration.Seconds))
        : spec.MinQueryCount;

    /// <param name="watch">given the run's live query log as it starts, for a checkpoint thread that writes completed queries as they come</param>
    public ScenarioRun Run(ScenarioSpec spec, ISystemUnderTest sut, IQuerySampleLibrary qsl, int seed,
        CancellationToken cancel = default, Action<double>? progress = null, Action<QueryLog>? watch = null)
    {
        var perfCount = qsl.PerformanceSampleCount;
        if (spec.CoverEverySample) spec = spec with { MinQueryCount = Math.Max(spec.MinQueryCount, perfCount) };
        var indices = Enumerable.Range(0, perfCount).ToList();
        qsl.LoadSamples(indices);
        var sampleRng = new SamplePicker(new Random(unchecked(seed * 31 + 7)), perfCount, spec.CoverEverySample);
        var schedule = spec.Kind == ScenarioKind.Server ? PoissonSchedule(spec.TargetQps!.Value, spec.MinQueryCount, spec.MinDuration.Value, seed) : null;
        var planned = spec.Kind switch
        {
            ScenarioKind.Server => schedule!.LongLength,
            ScenarioKind.Offline => OfflineQueries(spec),
            _ => spec.MinQueryCount,
        };
        var state = new RunState(spec.Kind == ScenarioKind.SingleStream, clock);
        watch?.Invoke(state.Log);
        var effective = new EffectiveSettings(spec.Name, spec.Kind.Name(), spec.TargetQps, planned, spec.MinDuration.Seconds,
            spec.MaxDuration.Seconds, spec.MinQueryCount, seed, wait.Name, perfCount);
        try
        {
            state.StartNs = clock.NowNs();
            var deadline = state.StartNs + spec.MaxDuration.Value;
            switch (spec.Kind)
            {
                case ScenarioKind.SingleStream:
                    RunSingleStream(spec, sut, state, sampleRng, perfCount, deadline, cancel, progress);
                    break;
                case ScenarioKind.Server:
                    RunServer(schedule!, sut, state, sampleRng, perfCount, cancel, progress);
                    break;
                default:
                    RunOffline(sut, state, sampleRng, perfCount, planned);
                    break;
            }
            sut.FlushQueries();
            state.IssuingDone();
            state.WaitAll(deadline, cancel, progress);
        }
        finally
        {
            qsl.UnloadSamples(indices);
        }
        var end = clock.NowNs();
        var timedOut = state.Failure is null && !cancel.IsCancellationRequested && state.Completed < state.Log.Count;
        return new ScenarioRun(effective, state.Log.ToArray(), end - state.StartNs, state.Failure, cancel.IsCancellationRequested, timedOut);
    }

    private void RunSingleStream(ScenarioSpec spec, ISystemUnderTest sut, RunState s, SamplePicker rng, int perf, long deadline,
        CancellationToken cancel, Action<double>? progress)
    {
        Span<QuerySample> one = stackalloc QuerySample[1];
        while (!cancel.IsCancellationRequested && s.Failure is null)
        {
            var now = clock.NowNs();
            if (now >= deadline) break;
            // Single-stream: the query is due the moment the previous one completed.
            var id = s.Log.Add(rng.Next(), now - s.StartNs);
            var issued = s.Log[id].IssuedNs = clock.NowNs() - s.StartNs;
            one[0] = new QuerySample(id, s.Log[id].SampleIndex);
            sut.IssueQuery(one, s);
            if (!s.WaitOne(deadline, cancel)) break;
            progress?.Invoke(Math.Min(1, Math.Max((double)s.Log.Count / spec.MinQueryCount, (double)issued / spec.MinDuration.Value)));
            // As LoadGen does: issue, then stop once both minimums are met, so the last query is issued at or after
            // min_duration (LoadGen's min-duration rule judges single-stream by the last issue time).
            if (s.Log.Count >= spec.MinQueryCount && issued >= spec.MinDuration.Value) break;
        }
    }

    private void RunServer(long[] schedule, ISystemUnderTest sut, RunState s, SamplePicker rng, int perf,
        CancellationToken cancel, Action<double>? progress)
    {
        var planned = schedule.LongLength;
        Span<QuerySample> one = stackalloc QuerySample[1];
        var reportEvery = Math.Max(1, planned / 100);
        for (long i = 0; i < planned && !cancel.IsCancellationRequested && s.Failure is null; i++)
        {
            var target = s.StartNs + schedule[i];
            wait.WaitUntil(target);
            var id = s.Log.Add(rng.Next(), schedule[i]);
            ref var r = ref s.Log[id];
            r.IssuedNs = clock.NowNs() - s.StartNs;
            one[0] = new QuerySample(id, r.SampleIndex);
            sut.IssueQuery(one, s);
            if (i % reportEvery == 0) progress?.Invoke((double)i / planned);
        }
    }

    private void RunOffline(ISystemUnderTest sut, RunState s, SamplePicker rng, int perf, long planned)
    {
        var all = new QuerySample[planned];
        for (long i = 0; i < planned; i++)
        {
            var id = s.Log.Add(rng.Next(), 0);
            all[i] = new QuerySample(id, s.Log[id].SampleIndex);
        }
        var issued = clock.NowNs() - s.StartNs;
        for (long i = 0; i < planned; i++) s.Log[i].IssuedNs = issued;
        sut.IssueQuery(all, s);
    }

    /// <summary>The completion side: timestamps arrivals and wakes the issue thread. Called from SUT threads.</summary>
    private sealed class RunState(bool singleStream, IClock clock) : IResponseSink
    {
        public readonly QueryLog Log = new();
        public long StartNs;
        private long _completed;
        private readonly SemaphoreSlim _one = new(0);
        private readonly ManualResetEventSlim _done = new(false);
        private volatile bool _issuingDone;
        private volatile string? _failure;

        public long Completed => Interlocked.Read(ref _completed);
        public string? Failure => _failure;

        public void FirstToken(long queryId)
        {
            var now = clock.NowNs() - StartNs;
            if (!Known(queryId)) return;
            ref var r = ref Log[queryId];
            if (r.FirstTokenNs < 0) r.FirstTokenNs = now;
        }

        public void Complete(long queryId, int tokens, long insideNs)
        {
            var now = clock.NowNs() - StartNs;
            if (!Known(queryId)) return;
            ref var r = ref Log[queryId];
            if (r.CompletedNs >= 0) { Fail($"the SUT completed query {queryId} twice"); return; }
            r.Tokens = tokens;
            r.InsideNs = insideNs;
            Volatile.Write(ref r.CompletedNs, now);   // last: a reader that sees it complete sees all of it (QueryLog.TryReadCompleted)
            var c = Interlocked.Increment(ref _completed);
            if (singleStream) _one.Release();
            if (_issuingDone && c >= Log.Count) _done.Set();
        }

        public void QueryFailed(long queryId, string reason, int tokensSoFar = 0)
        {
            var now = clock.NowNs() - StartNs;
            if (!Known(queryId)) return;
            ref var r = ref Log[queryId];
            if (r.CompletedNs >= 0) { Fail($"the SUT ended query {queryId} twice"); return; }
            r.Tokens = tokensSoFar;
            r.Error = string.IsNullOrWhiteSpace(reason) ? "failed" : reason;
            Volatile.Write(ref r.CompletedNs, now);
            var c = Interlocked.Increment(ref _completed);
            if (singleStream) _one.Release();
            if (_issuingDone && c >= Log.Count) _done.Set();
        }

        public void Fail(string reason)
        {
            _failure ??= reason;
            _one.Release();
            _done.Set();
        }

        private bool Known(long id)
        {
            if ((ulong)id < (ulong)Log.Count) return true;
            Fail($"the SUT answered query {id}, which was never issued");
            return false;
        }

        public void IssuingDone()
        {
            _issuingDone = true;
            if (Completed >= Log.Count) _done.Set();
        }

        public bool WaitOne(long deadlineNs, CancellationToken cancel)
        {
            var ms = Math.Max(0, (deadlineNs - clock.NowNs()) / 1_000_000) + 1;
            try { return _one.Wait(TimeSpan.FromMilliseconds(ms), cancel) && _failure is null; }
            catch (OperationCanceledException) { return false; }
        }

        public void WaitAll(long deadlineNs, CancellationToken cancel, Action<double>? progress)
        {
            while (!_done.IsSet && !cancel.IsCancellationRequested)
            {
                var left = deadlineNs - clock.NowNs();
                if (left <= 0) return;
                try { _done.Wait(TimeSpan.FromMilliseconds(Math.Min(250, left / 1_000_000 + 1)), cancel); }
                catch (OperationCanceledException) { return; }
                if (Log.Count > 0) progress?.Invoke((double)Completed / Log.Count);
            }
        }
    }
}
