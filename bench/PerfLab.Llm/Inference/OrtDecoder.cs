using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using PerfLab.Llm.Model;

namespace PerfLab.Llm.Inference;

/// <summary>Session-wide settings of our engine.</summary>
/// <summary>Session-wide settings of our engine. ProfilePrefix: ONNX Runtime's profiler on, its JSON written under that prefix.</summary>
public sealed record DecoderOptions(int IntraOpThreads = 1, bool AllowSpinning = true, string? ProfilePrefix = null);

/// <summary>
/// Our engine: one ONNX Runtime session over a model built by LlamaBuilder; sequences decode greedily with a
/// KV cache. MatMulNBits prepacking stays on (with it off, ONNX Runtime dequantises every weight on every call).
/// </summary>
public sealed class OrtDecoder : IDisposable
{
    public InferenceSession Session { get; }
    public LlamaShape Shape { get; }
    public string ModelDirectory { get; }

    public OrtDecoder(string modelDirectory, DecoderOptions? options = null)
    {
        options ??= new DecoderOptions();
        ModelDirectory = modelDirectory;
        var manifest = ModelFiles.ReadManifest(modelDirectory);
        Shape = manifest.Shape;
        using var so = new SessionOptions
        {
            IntraOpNumThreads = options.IntraOpThreads,
            InterOpNumThreads = 1,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        so.AddSessionConfigEntry("session.intra_op.allow_spinning", options.AllowSpinning ? "1" : "0");
        if (options.ProfilePrefix is { } prefix)
        {
            so.EnableProfiling = true;
            so.ProfileOutputPathPrefix = prefix;
        }
        try
        {
            Session = new InferenceSession(Path.Combine(modelDirectory, BuiltModel.ModelFile), so);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"{Path.Combine(modelDirectory, BuiltModel.ModelFile)}: ONNX Runtime cannot load it: {e.Message}", e);
        }
    }

    public DecoderSequence NewSequence(int maxLength) => new(this, maxLength);

    public void Dispose() => Session.Dispose();
}

/// <summary>
/// One sequence's state: a KV cache of the sequence's maximum length shared between each layer's past and
/// present (GroupQueryAttention writes the new positions in place), a fixed-size attention mask whose ones
/// mark the positions in use, a one-token input and a logits buffer, all bound once through an IoBinding.
/// A decode step writes the token and one mask element and runs: nothing is allocated or rebound per token.
/// </summary>
public sealed class DecoderSequence : IDisposable
{
    private readonly OrtDecoder _d;
    private readonly OrtIoBinding _binding;
    private readonly RunOptions _run = new();
    private readonly List<OrtValue> _owned = [];
    private readonly long[] _mask;
    private readonly OrtValue _maskValue;
    private readonly long[] _stepToken = new long[1];
    private readonly OrtValue _stepInput;
    private readonly float[] _stepLogits;
    private readonly OrtValue _stepLogitsValue;
    public int Length { get; private set; }
    public int MaxLength { get; }

    internal DecoderSequence(OrtDecoder d, int maxLength)
    {
        _d = d;
        var s = d.Shape;
        if (maxLength > s.MaxSequence) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, $"the model's context is {s.MaxSequence} tokens");
        MaxLength = maxLength;
        _binding = d.Session.CreateIoBinding();
        _mask = new long[maxLength];
        _maskValue = OrtValue.CreateTensorValueFromMemory(_mask, [1, maxLength]);
        _owned.Add(_maskValue);
        for (var i = 0; i < s.Layers; i++)
        {
            foreach (var kind in new[] { "key", "value" })
            {
                var kv = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float, [1, s.KvHeads, maxLength, s.HeadSize]);
                _owned.Add(kv);
                _binding.BindInput($"past_key_values.{i}.{kind}", kv);
                _binding.BindOutput($"present.{i}.{kind}", kv);
            }
        }
        _stepInput = OrtValue.CreateTensorValueFromMemory(_stepToken, [1, 1]);
        _stepLogits = new float[s.Vocab];
        _stepLogitsValue = OrtValue.CreateTensorValueFromMemory(_stepLogits, [1, 1, s.Vocab]);
        _owned.Add(_stepInput);
        _owned.Add(_stepLogitsValue);
    }

    /// <summary>
    /// Runs the prompt through the model; returns the logits of its last position (valid until the next call). The graph
    /// computes no others: before graph version 4 every position's logits came back (L × vocab floats), and a fresh array
    /// of them per prompt set off a full GC every third query of the tiny model (TTFT 13 → 60-80 ms, 2026-11-29).
    /// </summary>
    public ReadOnlySpan<float> Prefill(ReadOnlySpan<long> tokens)
    {
        if (Length != 0) throw new InvalidOperationException("prefill runs once, on an empty sequence");
        if (tokens.Length == 0 || tokens.Length > MaxLength)
            throw new ArgumentException($"a prompt of {tokens.Length} tokens does not fit this sequence (1..{MaxLength}, the model's context is {_d.Shape.MaxSequence})");
        var ids = tokens.ToArray();
        using var input = OrtValue.CreateTensorValueFromMemory(ids, [1, ids.Length]);
        _binding.BindInput("input_ids", input);
        _mask.AsSpan(0, ids.Length).Fill(1);
        _binding.BindInput("attention_mask", _maskValue);
        _binding.BindOutput("logits", _stepLogitsValue);
        _d.Session.RunWithBinding(_run, _binding);
        Length = ids.Length;
        return _stepLogits;
    }

    /// <summary>Appends one token; returns the logits for the next position (valid until the next call).</summary>
    public ReadOnlySpan<float> Step(long token)
    {
        if (Length == 0) throw new InvalidOperationException("prefill first");
        if (Length >= MaxLength) throw new InvalidOperationException($"the sequence is full ({MaxLength} tokens)");
        if (!_boundStep)
        {
            _binding.BindInput("input_ids", _stepInput);
            _boundStep = true;
        }
        _stepToken[0] = token;
        _mask[Length++] = 1;
        _d.Session.RunWithBinding(_run, _binding);
        return _stepLogits;
    }

    private bool _boundStep;

    /// <summary>
    /// The first index of the largest value, as the scalar loop finds it, a SIMD vector at a time: over GPT-2's 50,257
    /// logits the scalar loop took ~80 µs a token (measured 2026-11-29), serial on a batch's one driving thread.
    /// </summary>
    public static int ArgMax(ReadOnlySpan<float> v)
    {
        var n = System.Numerics.Vector<float>.Count;
        if (!System.Numerics.Vector.IsHardwareAccelerated || v.Length < 2 * n) return ArgMaxScalar(v, 0, 0);
        Span<int> lanes = stackalloc int[n];
        for (var l = 0; l < n; l++) lanes[l] = l;
        var index = new System.Numerics.Vector<int>(lanes);
        var bestIndex = index;
        var best = new System.Numerics.Vector<float>(v);
        var step = new System.Numerics.Vector<int>(n);
        var i = n;
        for (; i <= v.Length - n; i += n)
        {
            index += step;
            var x = new System.Numerics.Vector<float>(v[i..]);
            // Strictly greater: each lane keeps its earliest index among equal values, as the scalar loop does.
            var greater = System.Numerics.Vector.GreaterThan(x, best);
            best = System.Numerics.Vector.ConditionalSelect(greater, x, best);
            bestIndex = System.Numerics.Vector.ConditionalSelect(greater, index, bestIndex);
        }
        var winner = bestIndex[0];
        for (var l = 1; l < n; l++)
            if (best[l] > v[winner] || best[l] == v[winner] && bestIndex[l] < winner) winner = bestIndex[l];
        return ArgMaxScalar(v, i, winner);
    }

    private static int ArgMaxScalar(ReadOnlySpan<float> v, int from, int best)
    {
        for (var i = Math.Max(from, 1); i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    public void Dispose()
    {
        _binding.Dispose();
        _run.Dispose();
        foreach (var o in _owned) o.Dispose();
    }
}
