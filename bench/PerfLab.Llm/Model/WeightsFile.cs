using System.Security.Cryptography;
using PerfLab.Llm.Onnx;

namespace PerfLab.Llm.Model;

/// <summary>One tensor of the weights file as the manifest lists it: where, how long, and its SHA-256.</summary>
public sealed record TensorEntry(string Name, string Dtype, long[] Dims, long Offset, long Length, string Sha256);

/// <summary>
/// The external weights file: tensors back to back, each starting on a 4 KiB boundary (so it can be mapped,
/// streamed and verified shard by shard), with a manifest entry and hash per tensor.
/// </summary>
public sealed class WeightsFile(string path) : IDisposable
{
    public const int Alignment = 4096;
    private readonly FileStream _out = new(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
    public List<TensorEntry> Entries { get; } = [];
    public List<ExternalTensor> Tensors { get; } = [];

    public ExternalTensor Add(string name, ElementType type, long[] dims, ReadOnlySpan<byte> bytes)
    {
        var pad = (Alignment - _out.Position % Alignment) % Alignment;
        if (pad > 0) _out.Write(new byte[pad]);
        var offset = _out.Position;
        _out.Write(bytes);
        var t = new ExternalTensor(name, type, dims, offset, bytes.Length);
        Tensors.Add(t);
        Entries.Add(new TensorEntry(name, type.ToString().ToLowerInvariant(), dims, offset, bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes))));
        return t;
    }

    public long Length => _out.Length;
    public void Dispose() => _out.Dispose();
}
