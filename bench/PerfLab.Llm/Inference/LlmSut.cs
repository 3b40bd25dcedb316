using System.Collections.Concurrent;
using System.Globalization;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Suites;
using PerfLab.Core.Time;
using PerfLab.Llm.Datasets;
using PerfLab.Llm.Model;

namespace PerfLab.Llm.Inference;

/// <summary>The llm workload's parameters, read from the suite's validated values.</summary>
public sealed record LlmSettings(int Samples, int Concurrency, ModelSpec Model, string Engine, int Threads, string Dataset, int DatasetSeed,
    LengthDistribution Input, LengthDistribution Output, bool Batching = false)
{
    public static LlmSettings From(WorkloadSpec w) => new(
        w.GetInt("samples"), w.GetInt("concurrency"),
        ModelSpec.FromPreset(w.GetString("preset"), ModelSpec.ParseFormat(w.GetString("format"), w.GetString("engine")),
            int.Parse(w.GetString("block_size"), CultureInfo.InvariantCulture), w.GetInt("accuracy_level"), (ulong)w.GetDouble("model_seed")),
        w.GetString("engine"), w.GetInt("threads"), w.GetString("dataset"), w.GetInt("dataset_seed"),
        new LengthDistribution(w.GetDouble("input_tokens_mean"), 0.6, w.GetInt("input_tokens_max")),
        new LengthDistribution(w.GetDouble("output_tokens_mean"), 0.6, w.GetInt("output_tokens_max")),
        w.Parameters.TryGetValue("batching", out var b) && b == "on");

    /// <summary>
    /// Threads 0 takes what the CPUs allow: a batch gets them all; sequences decoding alone share them. On 2 CPUs the 1b
    /// model decodes 1.6–1.9× faster on 2 threads than on 1 (bench/REPORT.md), and 8 sequences of 1 thread each already
    /// fill them. Not the default: the CPUs it counts may be shared with a server or a load generator.
    /// </summary>
    public int ResolveThreads(int cpus) => Threads > 0 ? Threads : Batching ? Math.Max(1, cpus) : Math.Max(1, cpus / Concurrency);
}

/// <summary>
/// LLM inference as the load generator sees it: a bounded pool of sequences (concurrency) over one shared
/// engine, each query a prompt prefilled then decoded greedily; the first token is reported when prefill
/// produces it, completion when the answer has its expected length. Batching off: a thread per sequence, each
/// decoding alone on the shared engine. Batching on: one thread drives a batched engine (continuous batching): it
/// prefills whatever has arrived into free slots, then advances every live sequence by one token in one step;
/// sequences join and leave between steps.
/// </summary>
public sealed class LlmSut : ISystemUnderTest, IPromptServer, ISutStatistics, IDisposable
{
    private readonly IGreedyEngine _engine;
    private readonly IBatchedEngine? _batched;
    private readonly IReadOnlyList<Prompt> _prompts;
    /// <summary>One unit of work for a sequence: a library sample's query (Sink set) or a served prompt (Server set).</summary>
    private readonly record struct Job(QuerySample Q, IResponseSink? Sink, GenerationRequest? Request, IGenerationSink? Server);

    private readonly BlockingCollection<Job> _queue = new();
    private readonly int _vocab;
    private readonly string _modelName;
    private readonly Thread[] _workers;
    private readonly int _context;

    public IReadOnlyDictionary<string, string> Info { get; }

    public LlmSut(LlmSettings settings, string modelDirectory)
    {
        var verify = System.Diagnostics.Stopwatch.StartNew();
        ModelFiles.Verify(modelDirectory);
        var verifyS = verify.Elapsed.TotalSeconds;
        var manifest = ModelFiles.ReadManifest(modelDirectory);
        _context = manifest.Shape.MaxSequence;
        _vocab = manifest.Shape.Vocab;
        _modelName = Path.GetFileName(Path.TrimEndingDirectorySeparator(modelDirectory));
        _prompts = settings.Dataset == "builtin"
            ? Prompts.Builtin()
            : Prompts.Synthetic(settings.Samples, settings.DatasetSeed, settings.Input, settings.Output, manifest.Shape.Vocab);
        var tooLong = _prompts.FirstOrDefault(p => p.Tokens.Length + p.OutputTokens > _context);
        if (tooLong != null)
            throw new ArgumentException($"a prompt of {tooLong.Tokens.Length} tokens plus {tooLong.OutputTokens} output tokens exceeds the model's context of {_context}; " +
                                        "lower input_tokens_max / output_tokens_max or use a larger preset");
        var threads = settings.ResolveThreads(Environment.ProcessorCount);
        var session = System.Diagnostics.Stopwatch.StartNew();
        _engine = settings.Engine switch
        {
            "ort-genai" => new GenAiGreedyEngine(modelDirectory, _context),
            "llamacpp" => new LlamaCppEngine(modelDirectory, threads, _context),
            _ => new OrtGreedyEngine(new OrtDecoder(modelDirectory, new DecoderOptions(threads))),
        };
        if (settings.Batching)
            _batched = _engine switch
            {
                OrtGreedyEngine ort => new OrtBatchDecoder(ort.Decoder, settings.Concurrency, _context),
                LlamaCppEngine cpp => cpp.Batched(settings.Concurrency),
                _ => throw new ArgumentException($"batching: on is not available for engine {settings.Engine} (ort, llamacpp)"),
            };
        var sessionMs = session.Elapsed.TotalMilliseconds;
        Info = new Dictionary<string, string>
        {
            ["model_dir"] = modelDirectory,
            ["engine"] = _engine.Name,
            ["batching"] = _batched is null ? "off" : $"on ({settings.Concurrency} slots)",
            ["threads"] = settings.Engine == "ort-genai" ? "ONNX Runtime GenAI's own choice" : threads.ToString(CultureInfo.InvariantCulture),
            ["weights_file_bytes"] = manifest.WeightsBytes.ToString(CultureInfo.InvariantCulture),
            // Every tensor's SHA-256 checked against the manifest before the engine loads it: its rate, for the crypto report.
            ["weights_sha256_verify_gbps"] = (manifest.WeightsBytes / verifyS / 1e9).ToString("0.###", CultureInfo.InvariantCulture),
            // Where a load's time goes: the hash check above, then the engine's session (graph, prepacking).
            ["weights_verify_ms"] = (verifyS * 1e3).ToString("0.#", CultureInfo.InvariantCulture),
            ["session_ms"] = sessionMs.ToString("0.#", CultureInfo.InvariantCulture),
            ["streamed_bytes_per_token"] = manifest.StreamedBytesPerToken.ToString(CultureInfo.InvariantCulture),
            ["prompts"] = _prompts.Count.ToString(CultureInfo.InvariantCulture),
            ["prompt_tokens_mean"] = _prompts.Average(p => p.Tokens.Length).ToString("0.#", CultureInfo.InvariantCulture),
            ["output_tokens_mean"] = _prompts.Average(p => p.OutputTokens).ToString("0.#", CultureInfo.InvariantCulture),
        };
        _workers = _batched is null
            ? Enumerable.Range(0, settings.Concurrency).Select(i => new Thread(Work) { IsBackground = true, Name = $"llm-{i}" }).ToArray()
            : [new Thread(WorkBatched) { IsBackground = true, Name = "llm-batch" }];
        foreach (var t in _workers) t.Start();
    }

    private long _served, _digest;

    public string Name => "llm:" + _engine.Name;
    public long Served => Interlocked.Read(ref _served);

    /// <summary>
    /// An order-independent digest of every answer (sample index and tokens): two cells that produced the same
    /// tokens for the same queries have the same digest, whatever order their sequences finished in.
    /// </summary>
    public long Digest => Interlocked.Read(ref _digest);
    public int PromptCount => _prompts.Count;

    public IReadOnlyDictionary<string, long> Counters => new Dictionary<string, long> { ["queries_served"] = Served, ["tokens_digest"] = Digest };

    public void IssueQuery(ReadOnlySpan<QuerySample> samples, IResponseSink sink)
    {
        foreach (var q in samples) _queue.Add(new Job(q, sink, null, null));
    }

    public void FlushQueries() { }

    public string ModelName => _modelName;
    public int Vocab => _vocab;

    public void Generate(GenerationRequest request, IGenerationSink sink)
    {
        // Checked here, before the request takes a sequence: a server answers 400 rather than failing mid-stream.
        if (request.PromptTokens.Length == 0) throw new ArgumentException("the prompt is empty");
        if (request.PromptTokens.Length + request.MaxTokens > _context)
            throw new ArgumentException($"a prompt of {request.PromptTokens.Length} tokens plus {request.MaxTokens} output tokens exceeds the model's context of {_context}");
        foreach (var t in request.PromptTokens)
            if (t < 0 || t >= _vocab) throw new ArgumentException($"token id {t} is outside the model's vocabulary (0..{_vocab - 1})");
        _queue.Add(new Job(default, null, request, sink));
    }

    private void Work()
    {
        foreach (var job in _queue.GetConsumingEnumerable())
        {
            if (job.Server is { } server) { Serve(job.Request!, server); continue; }
            var (q, sink) = (job.Q, job.Sink!);
            var prompt = _prompts[q.SampleIndex % _prompts.Count];
            var start = MonotonicClock.NowNs();
            var first = true;
            var hash = (ulong)q.SampleIndex * 0x9E3779B97F4A7C15UL + 1;
            try
            {
                var produced = _engine.Generate(prompt.Tokens, prompt.OutputTokens, token =>
                {
                    hash = (hash ^ (uint)token) * 1099511628211UL;
                    if (!first) return;
                    first = false;
                    sink.FirstToken(q.Id);
                });
                Interlocked.Add(ref _digest, (long)hash);
                Interlocked.Increment(ref _served);
                sink.Complete(q.Id, produced, MonotonicClock.NowNs() - start);
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
            {
                sink.Fail($"query {q.Id} (prompt {q.SampleIndex}): {e.Message}");
            }
        }
    }

    /// <summary>A sequence in the batch: its job, its slot, its last token, how many it has produced and of how many.</summary>
    private sealed class Live(Job job, int slot, int target, long start, ulong hash)
    {
        public Job Job = job;
        public int Slot = slot, Target = target, Last, Produced;
        public long Start = start;
        public ulong Hash = hash;
    }

    private void WorkBatched()
    {
        var engine = _batched!;
        var live = new List<Live>(engine.Slots);
        var free = new Stack<int>(Enumerable.Range(0, engine.Slots).Reverse());
        var slots = new int[engine.Slots];
        var last = new int[engine.Slots];
        var next = new int[engine.Slots];
        while (true)
        {
            // Idle: wait for work; busy: take what has arrived without waiting, so no step waits for a query.
            if (live.Count == 0)
            {
                if (!_queue.TryTake(out var first, Timeout.Infinite)) return;
                Admit(first);
            }
            while (free.Count > 0 && _queue.TryTake(out var job)) Admit(job);
            if (live.Count == 0) continue;
            for (var i = 0; i < live.Count; i++) (slots[i], last[i]) = (live[i].Slot, live[i].Last);
            try { engine.Step(slots.AsSpan(0, live.Count), last.AsSpan(0, live.Count), next); }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
            {
                // A failed step fails every sequence in it: each is told, and the engine takes new ones afresh.
                foreach (var l in live) { Failed(l.Job, e.Message); engine.Release(l.Slot); free.Push(l.Slot); }
                live.Clear();
                continue;
            }
            for (var i = live.Count - 1; i >= 0; i--)
            {
                var l = live[i];
                Emit(l, next[i]);
                if (l.Produced < l.Target) continue;
                Finish(l);
                engine.Release(l.Slot);
                free.Push(l.Slot);
                live.RemoveAt(i);
            }
        }

        void Admit(Job job)
        {
            var slot = free.Pop();
            var (prompt, target, hash) = job.Server is null
                ? (_prompts[job.Q.SampleIndex % _prompts.Count].Tokens, _prompts[job.Q.SampleIndex % _prompts.Count].OutputTokens,
                    (ulong)job.Q.SampleIndex * 0x9E3779B97F4A7C15UL + 1)
                : (job.Request!.PromptTokens, job.Request.MaxTokens, 0UL);
            var l = new Live(job, slot, target, MonotonicClock.NowNs(), hash);
            try { Emit(l, engine.Start(slot, prompt)); }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
            {
                Failed(job, e.Message);
                engine.Release(slot);
                free.Push(slot);
                return;
            }
            if (l.Produced >= l.Target) { Finish(l); engine.Release(slot); free.Push(slot); }
            else live.Add(l);
        }
    }

    private static void Emit(Live l, int token)
    {
        l.Last = token;
        l.Produced++;
        if (l.Job.Server is { } server) { server.Token(token); return; }
        l.Hash = (l.Hash ^ (uint)token) * 1099511628211UL;
        if (l.Produced == 1) l.Job.Sink!.FirstToken(l.Job.Q.Id);
    }

    private void Finish(Live l)
    {
        Interlocked.Increment(ref _served);
        if (l.Job.Server is { } server) { server.Done(l.Produced, MonotonicClock.NowNs() - l.Start); return; }
        Interlocked.Add(ref _digest, (long)l.Hash);
        l.Job.Sink!.Complete(l.Job.Q.Id, l.Produced, MonotonicClock.NowNs() - l.Start);
    }

    private static void Failed(Job job, string why)
    {
        if (job.Server is { } server) server.Failed(why);
        else job.Sink!.Fail($"query {job.Q.Id} (prompt {job.Q.SampleIndex}): {why}");
    }

    private void Serve(GenerationRequest request, IGenerationSink sink)
    {
        var start = MonotonicClock.NowNs();
        try
        {
            var produced = _engine.Generate(request.PromptTokens, request.MaxTokens, sink.Token);
            Interlocked.Increment(ref _served);
            sink.Done(produced, MonotonicClock.NowNs() - start);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            sink.Failed(e.Message);
        }
    }

    /// <summary>Generates one answer outside the load generator, for checks (same tokens on every page size).</summary>
    public List<int> Answer(int sampleIndex)
    {
        var tokens = new List<int>();
        var p = _prompts[sampleIndex % _prompts.Count];
        _engine.Generate(p.Tokens, p.OutputTokens, tokens.Add);
        return tokens;
    }

    public void Dispose()
    {
        _queue.CompleteAdding();
        foreach (var t in _workers) t.Join(TimeSpan.FromSeconds(5));
        _batched?.Dispose();
        _engine.Dispose();
    }
}
