using System.Buffers.Binary;
using System.Text;

namespace PerfLab.Core.Measurement;

/// <summary>One thing a VMM loads into a Realm before it runs, where, and whether its content is measured.</summary>
public sealed record RimBlob(string Name, ulong Ipa, ReadOnlyMemory<byte> Content);

/// <summary>What a Realm's construction measured, in the order it happened.</summary>
public sealed record RimReport(RealmParameters Parameters, string Rim, ulong MemoryBase, ulong MemoryBytes, long RipasEntries,
    IReadOnlyList<(RimBlob Blob, long Granules)> Blobs, ulong RecPc, ulong RecX0);

/// <summary>
/// kvmtool's construction of an arm64 Realm (`lkvm run --realm -k Image -i initrd -c N -m M`), as its realm code
/// orders it: RAM at 2 GiB; the IPA width one bit wider than the top of RAM's highest bit, and never below 33; the device tree
/// 2 MiB-aligned below min(top of RAM, RAM + 256 MiB) less 2 MiB + 64 KiB, padded to its 64 KiB slot; the initrd right
/// below the device tree, 4-byte aligned; the kernel at RAM + its header's text_offset. RIPAS of all RAM first, then the
/// blobs in ascending address, then the boot vCPU's REC (pc at RAM, x0 the device tree). Other vCPUs start through
/// PSCI, not runnable, and are not measured. The device tree is the one kvmtool generates (`--dump-dtb`): it cannot be
/// derived here without reimplementing kvmtool's generator, so it is an input and is checked against the command line
/// and vCPU count. The layout follows Veraison's cca-realm-measurements model of kvmtool (read, not copied).
/// </summary>
public static class KvmtoolRealmLayout
{
    public const ulong MemoryBase = 0x8000_0000;
    public const int DtbSlotBytes = 0x10000;
    private const ulong Mib = 1024 * 1024;

    public static int IpaBits(ulong memoryBytes) => Math.Max((int)Math.Log2(MemoryBase + memoryBytes - 1), 32) + 1;

    public static ulong DtbBase(ulong memoryBytes)
    {
        var top = Math.Min(MemoryBase + memoryBytes, MemoryBase + 256 * Mib) - (2 * Mib + DtbSlotBytes);
        return AlignUp(top, 2 * Mib);
    }

    /// <summary>The RIM of the Realm kvmtool builds from these images. Throws <see cref="ArgumentException"/> naming the
    /// input when an image is not what kvmtool would accept or the device tree disagrees with the command.</summary>
    public static RimReport Measure(RealmHashAlgorithm hash, int breakpoints, int watchpoints, ulong memoryBytes, int vcpus,
        byte[] kernel, byte[]? initrd, byte[] dtb, string? cmdline)
    {
        if (memoryBytes == 0 || memoryBytes % (2 * Mib) != 0) throw new ArgumentException($"--memory {memoryBytes} bytes: kvmtool needs a whole number of 2 MiB");
        if (vcpus < 1) throw new ArgumentException($"--vcpus {vcpus}: at least 1");
        var textOffset = Arm64Image.TextOffset(kernel);
        if (dtb.Length > DtbSlotBytes) throw new ArgumentException($"--dtb is {dtb.Length} bytes; kvmtool's device-tree slot holds {DtbSlotBytes}");
        var tree = FlattenedDeviceTree.Read(dtb);
        if (tree.Cpus != vcpus) throw new ArgumentException($"--dtb describes {tree.Cpus} CPUs but --vcpus is {vcpus}: dump the device tree with the same command");
        if (cmdline is not null && !(tree.Bootargs ?? "").TrimEnd().EndsWith(cmdline.Trim(), StringComparison.Ordinal))
            throw new ArgumentException($"--dtb's bootargs are '{tree.Bootargs}', which do not end with --cmdline '{cmdline}'");
        if (tree.MemoryBytes is { } m && m != memoryBytes)
            throw new ArgumentException($"--dtb describes {m / Mib} MiB of memory but --memory is {memoryBytes / Mib} MiB");

        var p = new RealmParameters(hash, IpaBits(memoryBytes), breakpoints, watchpoints);
        var dtbBase = DtbBase(memoryBytes);
        var blobs = new List<RimBlob> { new("kernel", MemoryBase + textOffset, kernel) };
        if (initrd is not null)
        {
            var at = AlignUp(dtbBase - (ulong)initrd.Length - 4, 4);
            blobs.Add(new RimBlob("initrd", at, initrd));
        }
        var slot = new byte[DtbSlotBytes];
        dtb.CopyTo(slot, 0);
        blobs.Add(new RimBlob("dtb", dtbBase, slot));
        blobs.Sort((a, b) => a.Ipa.CompareTo(b.Ipa));
        for (var i = 1; i < blobs.Count; i++)
            if (blobs[i - 1].Ipa + (ulong)blobs[i - 1].Content.Length > blobs[i].Ipa)
                throw new ArgumentException($"{blobs[i - 1].Name} ({blobs[i - 1].Content.Length} bytes at 0x{blobs[i - 1].Ipa:x}) overlaps {blobs[i].Name} at 0x{blobs[i].Ipa:x}: more --memory is needed");

        var b = new RimBuilder(p);
        b.InitRipas(MemoryBase, MemoryBase + memoryBytes);
        var counted = new List<(RimBlob, long)>();
        foreach (var blob in blobs)
        {
            var before = b.MeasuredGranules;
            b.AddData(blob.Ipa, blob.Content.Span);
            counted.Add((blob, b.MeasuredGranules - before));
        }
        b.AddRunnableRec(MemoryBase, [dtbBase]);
        return new RimReport(p, b.RimHex, MemoryBase, memoryBytes, b.RipasEntries, counted, MemoryBase, dtbBase);
    }

    private static ulong AlignUp(ulong v, ulong a) => (v + a - 1) / a * a;
}

/// <summary>The arm64 Linux Image header (Documentation/arch/arm64/booting.rst): text_offset at 8, "ARM\x64" at 0x38.</summary>
public static class Arm64Image
{
    public static ulong TextOffset(ReadOnlySpan<byte> image)
    {
        if (image.Length < 64 || BinaryPrimitives.ReadUInt32LittleEndian(image[0x38..]) != 0x644d5241)
            throw new ArgumentException("--kernel is not an arm64 Linux Image (no 'ARM\\x64' magic at 0x38); a compressed or x86 kernel cannot be measured as kvmtool loads it");
        return BinaryPrimitives.ReadUInt64LittleEndian(image[8..]);
    }
}

/// <summary>Just enough of a flattened device tree (devicetree spec v0.4 ch. 5) to check it against a command line.</summary>
public sealed record FlattenedDeviceTree(int Cpus, string? Bootargs, ulong? MemoryBytes)
{
    public static FlattenedDeviceTree Read(ReadOnlySpan<byte> dtb)
    {
        if (dtb.Length < 40 || BinaryPrimitives.ReadUInt32BigEndian(dtb) != 0xd00dfeed)
            throw new ArgumentException("--dtb is not a flattened device tree (no 0xd00dfeed magic)");
        var structAt = (int)BinaryPrimitives.ReadUInt32BigEndian(dtb[8..]);
        var stringsAt = (int)BinaryPrimitives.ReadUInt32BigEndian(dtb[12..]);
        if (structAt >= dtb.Length || stringsAt >= dtb.Length) throw new ArgumentException("--dtb's header points past its end");
        var path = new List<string>();
        int cpus = 0;
        string? bootargs = null;
        ulong? memory = null;
        var at = structAt;
        while (at + 4 <= dtb.Length)
        {
            var token = BinaryPrimitives.ReadUInt32BigEndian(dtb[at..]);
            at += 4;
            switch (token)
            {
                case 1: // FDT_BEGIN_NODE
                    var end = dtb[at..].IndexOf((byte)0);
                    if (end < 0) throw new ArgumentException("--dtb has an unterminated node name");
                    var name = Encoding.ASCII.GetString(dtb.Slice(at, end));
                    path.Add(name);
                    if (path.Count == 3 && path[1] == "cpus" && name.StartsWith("cpu@", StringComparison.Ordinal)) cpus++;
                    at = Align4(at + end + 1);
                    break;
                case 2: // FDT_END_NODE
                    if (path.Count > 0) path.RemoveAt(path.Count - 1);
                    break;
                case 3: // FDT_PROP
                    var len = (int)BinaryPrimitives.ReadUInt32BigEndian(dtb[at..]);
                    var nameOff = (int)BinaryPrimitives.ReadUInt32BigEndian(dtb[(at + 4)..]);
                    var value = dtb.Slice(at + 8, len);
                    var prop = CString(dtb[(stringsAt + nameOff)..]);
                    if (path.Count == 2 && path[1] == "chosen" && prop == "bootargs") bootargs = CString(value);
                    if (path.Count == 2 && path[1].StartsWith("memory", StringComparison.Ordinal) && prop == "reg" && len == 16)
                        memory = BinaryPrimitives.ReadUInt64BigEndian(value[8..]);
                    at = Align4(at + 8 + len);
                    break;
                case 4: // FDT_NOP
                    break;
                case 9: // FDT_END
                    return new FlattenedDeviceTree(cpus, bootargs, memory);
                default:
                    throw new ArgumentException($"--dtb has an unknown structure token 0x{token:x} at offset {at - 4}");
            }
        }
        throw new ArgumentException("--dtb's structure block has no FDT_END");
    }

    private static int Align4(int v) => (v + 3) & ~3;
    private static string CString(ReadOnlySpan<byte> s) { var n = s.IndexOf((byte)0); return Encoding.ASCII.GetString(n < 0 ? s : s[..n]); }
}
