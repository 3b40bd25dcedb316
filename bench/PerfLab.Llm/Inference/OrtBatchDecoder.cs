using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace PerfLab.Llm.Inference;

/// <summary>
/// Continuous batching in our engine: a batch dimension in the KV layout. Each layer's key and value caches are one
/// native block of [slots, kv heads, max length, head size], shared between past and present as in
/// <see cref="DecoderSequence"/>; the attention mask is [slots, max length]. A step runs the model once over the first
/// B rows, B being the live sequences: GroupQueryAttention takes each row's own length from its mask (seqlens_k), so
/// sequences of different lengths share the step. Rows stay packed: a sequence that leaves hands its row to the last
/// live one, whose used positions are copied over (head by head, only the prefix in use). A prefill runs alone, on views
/// of its row. Slots are the caller's names; rows are where they live now.
/// </summary>
public sealed unsafe class OrtBatchDecoder : IBatchedEngine
{
    private readonly OrtDecoder _d;
    private readonly int _maxLength, _layers, _kvHeads, _headSize, _vocab;
    private readonly float*[] _kv; // [layer * 2 + kind]
    private readonly long* _mask;
    private readonly int[] _rowOf, _slotAt, _length;
    private int _rows;
    private readonly RunOptions _run = new();
    private OrtIoBinding? _stepBinding;
    private int _stepRows = -1;
    private readonly List<OrtValue> _stepValues = [];
    private long[] _stepTokens = [];
    private float[] _stepLogits = [];
    private readonly float[] _prefillLogits;

    public OrtBatchDecoder(OrtDecoder decoder, int slots, int maxLength)
    {
        _d = decoder;
        var s = decoder.Shape;
        if (maxLength > s.MaxSequence) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, $"the model's context is {s.MaxSequence} tokens");
        Slots = slots;
        (_maxLength, _layers, _kvHeads, _headSize, _vocab) = (maxLength, s.Layers, s.KvHeads, s.HeadSize, s.Vocab);
        _kv = new float*[s.Layers * 2];
        for (var i = 0; i < _kv.Length; i++) _kv[i] = (float*)NativeMemory.AlignedAlloc((nuint)(RowFloats * slots * sizeof(float)), 64);
        _mask = (long*)NativeMemory.AllocZeroed((nuint)(slots * maxLength), sizeof(long));
        _rowOf = Enumerable.Repeat(-1, slots).ToArray();
        _slotAt = new int[slots];
        _length = new int[slots];
        _prefillLogits = new float[_vocab];
    }

    public string Name => "ort";
    public int Slots { get; }
    private long RowFloats => (long)_kvHeads * _maxLength * _headSize;

    public int Start(int slot, ReadOnlySpan<long> prompt)
    {
        if (_rowOf[slot] >= 0) throw new InvalidOperationException($"slot {slot} is in use");
        if (prompt.Length == 0 || prompt.Length >= _maxLength) throw new ArgumentException($"a prompt of {prompt.Length} tokens does not fit (1..{_maxLength - 1})");
        var row = _rows++;
        (_rowOf[slot], _slotAt[row], _length[slot]) = (row, slot, prompt.Length);
        new Span<long>(_mask + (long)row * _maxLength, _maxLength).Clear();
        new Span<long>(_mask + (long)row * _maxLength, prompt.Length).Fill(1);
        var ids = prompt.ToArray();
        using var binding = _d.Session.CreateIoBinding();
        var owned = new List<OrtValue>();
        try
        {
            owned.Add(OrtValue.CreateTensorValueFromMemory(ids, [1, ids.Length]));
            binding.BindInput("input_ids", owned[^1]);
            owned.Add(View(_mask + (long)row * _maxLength, TensorElementType.Int64, [1, _maxLength], sizeof(long)));
            binding.BindInput("attention_mask", owned[^1]);
            BindKv(binding, owned, row, 1);
            owned.Add(OrtValue.CreateTensorValueFromMemory(_prefillLogits, [1, 1, _vocab]));
            binding.BindOutput("logits", owned[^1]);
            _d.Session.RunWithBinding(_run, binding);
        }
        finally { foreach (var v in owned) v.Dispose(); }
        return DecoderSequence.ArgMax(_prefillLogits);
    }

    public void Step(ReadOnlySpan<int> slots, ReadOnlySpan<int> last, Span<int> next)
    {
        if (slots.Length != _rows) throw new InvalidOperationException($"a step advances every live sequence ({_rows}), not {slots.Length}");
        if (_stepRows != _rows) Rebind();
        for (var i = 0; i < slots.Length; i++)
        {
            var slot = slots[i];
            var row = _rowOf[slot];
            if (row < 0) throw new InvalidOperationException($"slot {slot} is not live");
            if (_length[slot] >= _maxLength) throw new InvalidOperationException($"slot {slot} is full ({_maxLength} tokens)");
            _stepTokens[row] = last[i];
            _mask[(long)row * _maxLength + _length[slot]++] = 1;
        }
        _d.Session.RunWithBinding(_run, _stepBinding!);
        for (var i = 0; i < slots.Length; i++)
            next[i] = DecoderSequence.ArgMax(_stepLogits.AsSpan(_rowOf[slots[i]] * _vocab, _vocab));
    }

    public void Release(int slot)
    {
        var row = _rowOf[slot];
        if (row < 0) return;
        var lastRow = --_rows;
        if (row != lastRow)
        {
            var moved = _slotAt[lastRow];
            var used = _length[moved];
            for (var t = 0; t < _kv.Length; t++)
            for (var h = 0; h < _kvHeads; h++)
            {
                var from = _kv[t] + lastRow * RowFloats + (long)h * _maxLength * _headSize;
                var to = _kv[t] + row * RowFloats + (long)h * _maxLength * _headSize;
                Buffer.MemoryCopy(from, to, (long)used * _headSize * sizeof(float), (long)used * _headSize * sizeof(float));
            }
            Buffer.MemoryCopy(_mask + (long)lastRow * _maxLength, _mask + (long)row * _maxLength, _maxLength * sizeof(long), _maxLength * sizeof(long));
            (_rowOf[moved], _slotAt[row]) = (row, moved);
        }
        _rowOf[slot] = -1;
        _length[slot] = 0;
    }

    /// <summary>Binds the step to the first B rows; done when B changes, never per token otherwise.</summary>
    private void Rebind()
    {
        foreach (var v in _stepValues) v.Dispose();
        _stepValues.Clear();
        _stepBinding?.Dispose();
        _stepBinding = _d.Session.CreateIoBinding();
        _stepRows = _rows;
        _stepTokens = new long[_rows];
        _stepLogits = new float[(long)_rows * _vocab];
        _stepValues.Add(OrtValue.CreateTensorValueFromMemory(_stepTokens, [_rows, 1]));
        _stepBinding.BindInput("input_ids", _stepValues[^1]);
        _stepValues.Add(View(_mask, TensorElementType.Int64, [_rows, _maxLength], sizeof(long)));
        _stepBinding.BindInput("attention_mask", _stepValues[^1]);
        BindKv(_stepBinding, _stepValues, 0, _rows);
        _stepValues.Add(OrtValue.CreateTensorValueFromMemory(_stepLogits, [_rows, 1, _vocab]));
        _stepBinding.BindOutput("logits", _stepValues[^1]);
    }

    private void BindKv(OrtIoBinding binding, List<OrtValue> owned, int firstRow, int rows)
    {
        for (var i = 0; i < _layers; i++)
        for (var kind = 0; kind < 2; kind++)
        {
            var v = View(_kv[i * 2 + kind] + firstRow * RowFloats, TensorElementType.Float, [rows, _kvHeads, _maxLength, _headSize], sizeof(float));
            owned.Add(v);
            var name = kind == 0 ? "key" : "value";
            binding.BindInput($"past_key_values.{i}.{name}", v);
            binding.BindOutput($"present.{i}.{name}", v);
        }
    }

    private static OrtValue View(void* at, TensorElementType type, long[] shape, int elementBytes) =>
        OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, type, shape, (IntPtr)at, shape.Aggregate(1L, (a, d) => a * d) * elementBytes);

    public void Dispose()
    {
        foreach (var v in _stepValues) v.Dispose();
        _stepBinding?.Dispose();
        _run.Dispose();
        foreach (var p in _kv) NativeMemory.AlignedFree(p);
        NativeMemory.Free(_mask);
    }
}
