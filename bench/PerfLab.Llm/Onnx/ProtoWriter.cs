using System.Buffers.Binary;
using System.Text;

namespace PerfLab.Llm.Onnx;

/// <summary>
/// The protobuf wire format, as much of it as an ONNX model needs: varints, 64-bit ints, fixed32 floats and
/// length-delimited fields (strings, bytes, nested messages). Messages are built inside out: a nested message
/// is written to its own writer and added as bytes.
/// </summary>
public sealed class ProtoWriter
{
    private readonly MemoryStream _buffer = new();

    private void Varint(ulong v)
    {
        while (v >= 0x80)
        {
            _buffer.WriteByte((byte)(v | 0x80));
            v >>= 7;
        }
        _buffer.WriteByte((byte)v);
    }

    private void Tag(int field, int wireType) => Varint((ulong)((field << 3) | wireType));

    public ProtoWriter Int(int field, long value)
    {
        Tag(field, 0);
        Varint((ulong)value);
        return this;
    }

    public ProtoWriter Float(int field, float value)
    {
        Tag(field, 5);
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(b, value);
        _buffer.Write(b);
        return this;
    }

    public ProtoWriter Bytes(int field, ReadOnlySpan<byte> bytes)
    {
        Tag(field, 2);
        Varint((ulong)bytes.Length);
        _buffer.Write(bytes);
        return this;
    }

    public ProtoWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));
    public ProtoWriter Message(int field, ProtoWriter message) => Bytes(field, message.ToArray());

    /// <summary>A repeated int64 field in packed form (what ONNX readers expect for dims and ints).</summary>
    public ProtoWriter PackedInts(int field, IEnumerable<long> values)
    {
        var inner = new ProtoWriter();
        foreach (var v in values) inner.Varint((ulong)v);
        return Bytes(field, inner.ToArray());
    }

    public ProtoWriter PackedFloats(int field, IEnumerable<float> values)
    {
        var inner = new MemoryStream();
        Span<byte> b = stackalloc byte[4];
        foreach (var v in values)
        {
            BinaryPrimitives.WriteSingleLittleEndian(b, v);
            inner.Write(b);
        }
        return Bytes(field, inner.ToArray());
    }

    public byte[] ToArray() => _buffer.ToArray();
}
