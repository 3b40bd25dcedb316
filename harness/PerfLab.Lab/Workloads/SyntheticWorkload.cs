using System.Collections.Concurrent;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Suites;
using PerfLab.Core.Time;
using PerfLab.Core.Units;
using PerfLab.Lab.Os;

namespace PerfLab.Lab.Workloads;

/// <summary>Settings of the synthetic SUT, read from the workload's validated parameters.</summary>
public sealed record SyntheticSettings(int Concurrency, int PromptTokens, int OutputTokens, double PrefillUsPerToken, double DecodeUsPerToken,
    int WorkingSetMib, int TouchPagesPerToken)
{
    public static SyntheticSettings From(WorkloadSpec w) => new(w.GetInt("concurrency"), w.GetInt("prompt_tokens"), w.GetInt("output_tokens"),
        w.GetDouble("prefill_us_per_token"), w.GetDouble("decode_us_per_token"), w.GetInt("working_set_mib"), w.GetInt("touch_pages_per_token"));
}

/// <summary>The synthetic workload: a token-streaming stand-in for an LLM (see SyntheticTokenSut).</summary>
public sealed class SyntheticWorkload : IWorkload
{
    public WorkloadKind Kind => WorkloadKinds.Synthetic;

    public ISystemUnderTest CreateSut(WorkloadSpec spec, SutContext context) =>
        new SyntheticTokenSut(SyntheticSettings.From(spec), context.Options.PageSize, context.Options.Backing);

    public long PageBackedBytes(WorkloadSpec spec) => spec.GetInt("working_set_mib") * Bytes.MiB;
}

/// <summary>
/// A token-streaming stand-in for an LLM. Prefill is busy CPU work proportional to the prompt, then the first
/// token; every next token is a fixed compute step plus a walk over random pages of a working set held on the
/// cell's page size, so TLB reach and page size cost what they really cost. Busy work, never sleeps: a
/// sleeping SUT would measure the scheduler, not the system. Concurrency bounds the sequences served at once.
/// </summary>
public sealed class SyntheticTokenSut : ISystemUnderTest, IPromptServer, ISutStatistics, IDisposable
{
    private readonly SyntheticSettings _s;
    private readonly PageBuffer? _workingSet;
    private readonly BlockingCollection<(QuerySample Q, IResponseSink? Sink, GenerationRequest? Request, IGenerationSink? Server)> _queue = new();
    private readonly Thread[] _workers;
    private long _served;

    public SyntheticTokenSut(SyntheticSettings settings, PageSize pageSize, HugePageBacking backing)
    {
        _s = settings;
        if (settings.WorkingSetMib > 0)
        {
            _workingSet = PagePolicy.Allocate(settings.WorkingSetMib * Bytes.MiB, pageSize, backing);
            _workingSet.Prefault();
        }
        _workers = Enumerable.Range(0, settings.Concurrency).Select(i => new Thread(Work) { IsBackground = true, Name = $"sut-{i}" }).ToArray();
        foreach (var t in _workers) t.Start();
    }

    public string Name => "synthetic";
    public long Served => Interlocked.Read(ref _served);
    public long WorkingSetBytes => _workingSet?.Length ?? 0;

    public IReadOnlyDictionary<string, long> Counters => new Dictionary<string, long>
    {
        ["queries_served"] = Served, ["working_set_bytes"] = WorkingSetBytes,
    };

    public void IssueQuery(ReadOnlySpan<QuerySample> samples, IResponseSink sink)
    {
        foreach (var q in samples) _queue.Add((q, sink, null, null));
    }

    public void FlushQueries() { }

    public string ModelName => "synthetic";
    public int Vocab => 50257;

    /// <summary>A served prompt costs what its own length asks (prefill per prompt token, a step per output token).</summary>
    public void Generate(GenerationRequest request, IGenerationSink sink) => _queue.Add((default, null, request, sink));

    private void Work()
    {
        var rng = new Random(Environment.CurrentManagedThreadId);
        foreach (var (q, sink, request, server) in _queue.GetConsumingEnumerable())
        {
            Interlocked.Increment(ref _served);
            var start = MonotonicClock.NowNs();
            var (prompt, output) = request is null ? (_s.PromptTokens, _s.OutputTokens) : (request.PromptTokens.Length, request.MaxTokens);
            Spin(start, (long)(prompt * _s.PrefillUsPerToken * 1000));
            if (server is null) sink!.FirstToken(q.Id); else server.Token(0);
            for (var t = 1; t < output; t++)
            {
                Walk(rng);
                Spin(MonotonicClock.NowNs(), (long)(_s.DecodeUsPerToken * 1000));
                server?.Token(t);
            }
            if (server is null) sink!.Complete(q.Id, output, MonotonicClock.NowNs() - start);
            else server.Done(output, MonotonicClock.NowNs() - start);
        }
    }

    /// <summary>Reads one cache line from each of N random 4 KiB pages of the working set.</summary>
    private unsafe void Walk(Random rng)
    {
        if (_workingSet is null || _s.TouchPagesPerToken == 0) return;
        var pages = _workingSet.Length / 4096;
        var p = (byte*)_workingSet.Address;
        long sum = 0;
        for (var i = 0; i < _s.TouchPagesPerToken; i++) sum += p[rng.NextInt64(pages) * 4096];
        if (sum == long.MinValue) Console.Error.Write(""); // keeps the reads from being elided
    }

    /// <summary>Busy arithmetic until the given time has passed since <paramref name="fromNs"/>.</summary>
    private static void Spin(long fromNs, long durationNs)
    {
        if (durationNs <= 0) return;
        var end = fromNs + durationNs;
        ulong x = 88172645463325252UL;
        while (MonotonicClock.NowNs() < end)
            for (var i = 0; i < 64; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; }
        if (x == 0) Console.Error.Write("");
    }

    public void Dispose()
    {
        _queue.CompleteAdding();
        // Unmapping under a worker still walking the buffer would crash it: only unmap once all have stopped.
        if (_workers.All(t => t.Join(TimeSpan.FromSeconds(2)))) _workingSet?.Dispose();
    }
}
