using System.Collections.Concurrent;
using LLama;
using LLama.Common;
using LLama.Native;
using PerfLab.Llm.Model;

namespace PerfLab.Llm.Inference;

/// <summary>
/// llama.cpp through LLamaSharp's CPU backend, on a GGUF file written by <see cref="Gguf.GgufBuilder"/>. One set of
/// weights (memory-mapped, as llama.cpp does by default); a context per concurrent sequence for the unbatched path (a
/// context is not thread-safe), or one context holding every sequence for the batched one (<see cref="Batched"/>).
/// Greedy: the argmax of the logits, no end-of-sequence (every answer has its requested length).
/// </summary>
public sealed class LlamaCppEngine : IGreedyEngine
{
    private readonly LLamaWeights _weights;
    private readonly ModelParams _params;
    private readonly ConcurrentBag<LLamaContext> _idle = [];
    private readonly int _vocab;

    static LlamaCppEngine()
    {
        // llama.cpp logs every tensor it loads to stderr; only its warnings and errors reach ours, less the one every load of
        // our files gives: they carry no vocabulary on purpose (the lab feeds token ids), and llama.cpp says it made one up.
        NativeLibraryConfig.All.WithLogCallback((level, message) =>
        {
            if (level is LLamaLogLevel.Warning or LLamaLogLevel.Error && !message.Contains("dummy tokens")) Console.Error.Write("llama.cpp: " + message);
        });
    }

    public LlamaCppEngine(string modelDirectory, int threads, int maxSequence)
    {
        var manifest = ModelFiles.ReadManifest(modelDirectory);
        var path = Path.Combine(modelDirectory, manifest.ModelFile);
        _vocab = manifest.Shape.Vocab;
        _params = new ModelParams(path)
        {
            ContextSize = (uint)maxSequence, SeqMax = 1, Threads = threads, BatchThreads = threads, GpuLayerCount = 0,
            // A prompt goes in one decode call (the default batch is 512 tokens: a longer prompt would not).
            BatchSize = (uint)Math.Max(512, maxSequence), UBatchSize = (uint)Math.Max(512, maxSequence),
        };
        try { _weights = LLamaWeights.LoadFromFile(_params); }
        catch (LLama.Exceptions.RuntimeError e)
        {
            throw new InvalidDataException($"{path}: llama.cpp cannot load it: {e.Message}", e);
        }
        MaxSequence = maxSequence;
    }

    public string Name => "llamacpp";
    public int MaxSequence { get; }

    public int Generate(ReadOnlySpan<long> prompt, int maxNewTokens, Action<int>? onToken = null)
    {
        if (!_idle.TryTake(out var ctx)) ctx = _weights.CreateContext(_params);
        try
        {
            ctx.NativeHandle.MemoryClear(true);
            var batch = new LLamaBatch();
            for (var i = 0; i < prompt.Length; i++) batch.Add((int)prompt[i], i, LLamaSeqId.Zero, i == prompt.Length - 1);
            Decode(ctx, batch);
            var next = DecoderSequence.ArgMax(ctx.NativeHandle.GetLogitsIth(batch.TokenCount - 1)[.._vocab]);
            onToken?.Invoke(next);
            var produced = 1;
            for (var pos = prompt.Length; produced < maxNewTokens; pos++)
            {
                batch.Clear();
                batch.Add(next, pos, LLamaSeqId.Zero, true);
                Decode(ctx, batch);
                next = DecoderSequence.ArgMax(ctx.NativeHandle.GetLogitsIth(0)[.._vocab]);
                onToken?.Invoke(next);
                produced++;
            }
            return produced;
        }
        finally { _idle.Add(ctx); }
    }

    private static void Decode(LLamaContext ctx, LLamaBatch batch)
    {
        var r = ctx.Decode(batch);
        if (r != DecodeResult.Ok) throw new InvalidOperationException($"llama.cpp decode failed: {r}");
    }

    /// <summary>
    /// Continuous batching through llama.cpp's own batch: one context, a sequence id per slot, each sequence its own KV
    /// stream (not unified). With one unified cache a sequence's new positions landed in cells a finished one had freed,
    /// its attention summed in another order, and a greedy answer flipped on a near-tie at its 11th token (tiny Q4_0,
    /// 2026-11-29): with a stream per sequence every sequence gets exactly the tokens it gets alone.
    /// </summary>
    public IBatchedEngine Batched(int slots) => new BatchedLlamaCpp(this, slots);

    public void Dispose()
    {
        while (_idle.TryTake(out var c)) c.Dispose();
        _weights.Dispose();
    }

    private sealed class BatchedLlamaCpp : IBatchedEngine
    {
        private readonly LlamaCppEngine _e;
        private readonly LLamaContext _ctx;
        private readonly LLamaBatch _batch = new();
        private readonly int[] _length;

        public BatchedLlamaCpp(LlamaCppEngine e, int slots)
        {
            _e = e;
            Slots = slots;
            _ctx = e._weights.CreateContext(new ModelParams(e._params.ModelPath)
            {
                ContextSize = (uint)(e.MaxSequence * slots), SeqMax = (uint)slots, Threads = e._params.Threads, BatchThreads = e._params.BatchThreads,
                GpuLayerCount = 0, BatchSize = e._params.BatchSize, UBatchSize = e._params.UBatchSize, KVUnified = false,
            });
            _length = new int[slots];
        }

        public string Name => "llamacpp";
        public int Slots { get; }
        public int MaxSequence => _e.MaxSequence;

        public int Start(int slot, ReadOnlySpan<long> prompt)
        {
            _ctx.NativeHandle.MemorySequenceRemove((LLamaSeqId)slot, -1, -1);
            _batch.Clear();
            for (var i = 0; i < prompt.Length; i++) _batch.Add((int)prompt[i], i, (LLamaSeqId)slot, i == prompt.Length - 1);
            Decode(_ctx, _batch);
            _length[slot] = prompt.Length;
            return DecoderSequence.ArgMax(_ctx.NativeHandle.GetLogitsIth(_batch.TokenCount - 1)[.._e._vocab]);
        }

        public void Step(ReadOnlySpan<int> slots, ReadOnlySpan<int> last, Span<int> next)
        {
            _batch.Clear();
            for (var i = 0; i < slots.Length; i++) _batch.Add(last[i], _length[slots[i]]++, (LLamaSeqId)slots[i], true);
            Decode(_ctx, _batch);
            for (var i = 0; i < slots.Length; i++) next[i] = DecoderSequence.ArgMax(_ctx.NativeHandle.GetLogitsIth(i)[.._e._vocab]);
        }

        public void Release(int slot)
        {
            _ctx.NativeHandle.MemorySequenceRemove((LLamaSeqId)slot, -1, -1);
            _length[slot] = 0;
        }

        public void Dispose() => _ctx.Dispose();
    }
}
