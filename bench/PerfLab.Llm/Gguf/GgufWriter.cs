using System.Buffers.Binary;
using System.Text;

namespace PerfLab.Llm.Gguf;

/// <summary>ggml's tensor types that the builder writes (their numbers are ggml's <c>enum ggml_type</c>).</summary>
public enum GgmlType : uint { F32 = 0, F16 = 1, Q4_0 = 2 }

/// <summary>One tensor as the writer placed it: offsets are absolute, in the file.</summary>
public sealed record GgufTensor(string Name, GgmlType Type, long[] Dims, long Offset, long Length);

/// <summary>
/// Writes a GGUF file (version 3): header, metadata key/values, tensor infos, then every tensor's data aligned to
/// <see cref="Alignment"/> bytes. Tensors are declared up front (their sizes decide every offset) and their bytes are then
/// written in the declared order, one at a time, so a 1B model never has to sit in memory whole. Dims are ggml's
/// (innermost first): a weight of N outputs over K inputs is [K, N].
/// </summary>
public sealed class GgufWriter
{
    public const uint Version = 3;
    public const int Alignment = 32;
    private const uint TypeUint32 = 4, TypeFloat32 = 6, TypeString = 8, TypeUint64 = 10;

    private readonly List<(string Key, uint Type, byte[] Value)> _kv = [];
    private readonly List<(string Name, GgmlType Type, long[] Dims, long Length)> _declared = [];

    public void Add(string key, string value) => _kv.Add((key, TypeString, Str(value)));
    public void Add(string key, uint value) { var b = new byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, value); _kv.Add((key, TypeUint32, b)); }
    public void Add(string key, float value) { var b = new byte[4]; BinaryPrimitives.WriteSingleLittleEndian(b, value); _kv.Add((key, TypeFloat32, b)); }
    public void Add(string key, ulong value) { var b = new byte[8]; BinaryPrimitives.WriteUInt64LittleEndian(b, value); _kv.Add((key, TypeUint64, b)); }

    public void Declare(string name, GgmlType type, params long[] dims) => _declared.Add((name, type, dims, ByteSize(type, dims)));

    /// <summary>Bytes of a tensor: F32 4 per element, F16 2, Q4_0 18 per block of 32 along the innermost dimension.</summary>
    public static long ByteSize(GgmlType type, long[] dims)
    {
        var elements = dims.Aggregate(1L, (a, d) => a * d);
        return type switch
        {
            GgmlType.F32 => elements * 4,
            GgmlType.F16 => elements * 2,
            GgmlType.Q4_0 when dims[0] % Q40.BlockElements == 0 => elements / Q40.BlockElements * Q40.BlockBytes,
            GgmlType.Q4_0 => throw new ArgumentException($"Q4_0 needs the innermost dimension to be a multiple of {Q40.BlockElements}, not {dims[0]}"),
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a type this writer knows"),
        };
    }

    /// <summary>Writes header, metadata and tensor infos (padded to the first tensor: <paramref name="header"/>); returns where each declared tensor's bytes go.</summary>
    public IReadOnlyList<GgufTensor> WriteHeader(Stream output, out byte[] header)
    {
        var head = new MemoryStream();
        void U32(uint v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); head.Write(b); }
        void U64(ulong v) { Span<byte> b = stackalloc byte[8]; BinaryPrimitives.WriteUInt64LittleEndian(b, v); head.Write(b); }
        head.Write("GGUF"u8);
        U32(Version);
        U64((ulong)_declared.Count);
        U64((ulong)_kv.Count + 1);
        head.Write(Str("general.alignment"));
        U32(TypeUint32);
        U32(Alignment);
        foreach (var (key, type, value) in _kv)
        {
            head.Write(Str(key));
            U32(type);
            head.Write(value);
        }
        var relative = new List<long>();
        long at = 0;
        foreach (var (name, type, dims, length) in _declared)
        {
            head.Write(Str(name));
            U32((uint)dims.Length);
            foreach (var d in dims) U64((ulong)d);
            U32((uint)type);
            U64((ulong)at);
            relative.Add(at);
            at = Align(at + length);
        }
        var dataStart = Align(head.Length);
        head.Write(new byte[dataStart - head.Length]);
        header = head.ToArray();
        output.Write(header);
        return _declared.Select((t, i) => new GgufTensor(t.Name, t.Type, t.Dims, dataStart + relative[i], t.Length)).ToList();
    }

    /// <summary>Writes one tensor's bytes at its place (the stream must be positioned at or before it).</summary>
    public static void WriteTensor(Stream output, GgufTensor tensor, ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != tensor.Length) throw new ArgumentException($"tensor {tensor.Name}: {bytes.Length} bytes given, {tensor.Length} declared");
        if (output.Position > tensor.Offset) throw new InvalidOperationException($"tensor {tensor.Name} written out of order");
        output.Write(new byte[tensor.Offset - output.Position]);
        output.Write(bytes);
    }

    private static long Align(long v) => (v + Alignment - 1) / Alignment * Alignment;

    private static byte[] Str(string s)
    {
        var utf8 = Encoding.UTF8.GetBytes(s);
        var b = new byte[8 + utf8.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(b, (ulong)utf8.Length);
        utf8.CopyTo(b, 8);
        return b;
    }
}

/// <summary>
/// ggml's Q4_0: blocks of 32 weights, each an fp16 scale d and 16 bytes of nibbles; weight j of a block is
/// (q_j − 8)·d with q_j in the low nibble of byte j for j &lt; 16 and in the high nibble of byte j − 16 otherwise.
/// d is the block's value of largest magnitude divided by −8, so that value lands exactly on q = 0.
/// </summary>
public static class Q40
{
    public const int BlockElements = 32, BlockBytes = 18;

    public static void QuantizeRow(ReadOnlySpan<float> row, Span<byte> output)
    {
        for (var b = 0; b < row.Length / BlockElements; b++)
        {
            var x = row.Slice(b * BlockElements, BlockElements);
            var block = output.Slice(b * BlockBytes, BlockBytes);
            float max = 0, absmax = 0;
            foreach (var v in x)
                if (Math.Abs(v) > absmax) { absmax = Math.Abs(v); max = v; }
            var d = max / -8f;
            var inverse = d == 0 ? 0 : 1f / d;
            BinaryPrimitives.WriteHalfLittleEndian(block, (Half)d);
            for (var j = 0; j < 16; j++)
            {
                var lo = (byte)Math.Min(15, (int)(x[j] * inverse + 8.5f));
                var hi = (byte)Math.Min(15, (int)(x[j + 16] * inverse + 8.5f));
                block[2 + j] = (byte)(lo | hi << 4);
            }
        }
    }

    /// <summary>The weights a quantized row stands for (tests; a reader's view of the format).</summary>
    public static void DequantizeRow(ReadOnlySpan<byte> input, Span<float> row)
    {
        for (var b = 0; b < row.Length / BlockElements; b++)
        {
            var block = input.Slice(b * BlockBytes, BlockBytes);
            var d = (float)BinaryPrimitives.ReadHalfLittleEndian(block);
            for (var j = 0; j < 16; j++)
            {
                row[b * BlockElements + j] = ((block[2 + j] & 0xF) - 8) * d;
                row[b * BlockElements + j + 16] = ((block[2 + j] >> 4) - 8) * d;
            }
        }
    }
}
