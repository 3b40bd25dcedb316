using System.Buffers.Binary;
using System.Text;

namespace PerfLab.Tests.Shared;

/// <summary>Boot images for RIM tests, built in memory: an arm64 Image header and a minimal flattened device tree.
/// Compiled into the Core and the Lab tests (linked), so the CLI's tests measure the same inputs.</summary>
public static class TestImages
{
    public static byte[] Image(int size, byte fill = 0)
    {
        var b = new byte[size];
        Array.Fill(b, fill);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(8), 0); // text_offset
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(0x38), 0x644d5241);
        return b;
    }

    /// <summary>A device tree with /memory reg, /chosen bootargs and /cpus/cpu@N, laid out as the devicetree spec's
    /// chapter 5 says: header, empty reservation map, structure block, strings block.</summary>
    public static byte[] Dtb(int cpus, string bootargs, ulong memoryBytes)
    {
        var strings = new List<byte>();
        var structure = new List<byte>();
        int Str(string s) { var at = strings.Count; strings.AddRange(Encoding.ASCII.GetBytes(s)); strings.Add(0); return at; }
        void U32(uint v) { var b = new byte[4]; BinaryPrimitives.WriteUInt32BigEndian(b, v); structure.AddRange(b); }
        void Pad() { while (structure.Count % 4 != 0) structure.Add(0); }
        void Begin(string n) { U32(1); structure.AddRange(Encoding.ASCII.GetBytes(n)); structure.Add(0); Pad(); }
        void Prop(string n, byte[] v) { U32(3); U32((uint)v.Length); U32((uint)Str(n)); structure.AddRange(v); Pad(); }
        Begin("");
        var reg = new byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(reg, 0x80000000);
        BinaryPrimitives.WriteUInt64BigEndian(reg.AsSpan(8), memoryBytes);
        Begin("memory"); Prop("reg", reg); U32(2);
        Begin("chosen"); Prop("bootargs", [.. Encoding.ASCII.GetBytes(bootargs), 0]); U32(2);
        Begin("cpus");
        for (var i = 0; i < cpus; i++) { Begin($"cpu@{i}"); U32(2); }
        U32(2);
        U32(2); U32(9);
        var header = new byte[40];
        const int structAt = 40 + 16;
        BinaryPrimitives.WriteUInt32BigEndian(header, 0xd00dfeed);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), (uint)(structAt + structure.Count + strings.Count));
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(8), structAt);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(12), (uint)(structAt + structure.Count));
        return [.. header, .. new byte[16], .. structure, .. strings];
    }
}
