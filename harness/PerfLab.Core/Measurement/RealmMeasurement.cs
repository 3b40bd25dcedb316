using System.Buffers.Binary;
using System.Security.Cryptography;

namespace PerfLab.Core.Measurement;

/// <summary>The Realm hash algorithm (RMM RmiHashAlgorithm): the value is the encoding in RmiRealmParams.hash_algo.</summary>
public enum RealmHashAlgorithm : byte { Sha256 = 0, Sha512 = 1 }

/// <summary>
/// The Realm parameters the RMM measures at RMI_REALM_CREATE (DEN0137 1.0 B4.3.9.4): everything else in RmiRealmParams
/// is zeroed before hashing, so two Realms that differ only in, say, their VMID have the same RIM. Breakpoints and
/// watchpoints are counts here and encoded as count − 1, as ID_AA64DFR0_EL1 and the RMM encode them; the SVE vector
/// length is in quadwords (128-bit units) minus one, 0 with SVE off.
/// </summary>
public sealed record RealmParameters(
    RealmHashAlgorithm Hash,
    int IpaBits,
    int Breakpoints,
    int Watchpoints,
    int PmuCounters = 0,
    bool Pmu = false,
    int SveVectorQuadwordsMinusOne = 0,
    bool Sve = false,
    bool Lpa2 = false)
{
    public const int Size = 0x1000;

    /// <summary>Why these parameters cannot describe a Realm, or null.</summary>
    public string? Problem =>
        IpaBits is < 32 or > 52 ? $"ipa_bits {IpaBits} is outside 32..52" :
        Breakpoints is < 2 or > 16 ? $"{Breakpoints} breakpoints is outside 2..16 (Armv8 has 2 to 16)" :
        Watchpoints is < 2 or > 16 ? $"{Watchpoints} watchpoints is outside 2..16 (Armv8 has 2 to 16)" :
        PmuCounters is < 0 or > 31 ? $"{PmuCounters} PMU counters is outside 0..31" :
        SveVectorQuadwordsMinusOne is < 0 or > 15 ? $"SVE vector length field {SveVectorQuadwordsMinusOne} is outside 0..15" :
        null;

    /// <summary>The measured RmiRealmParams: flags at 0, s2sz 0x8, sve_vl 0x10, num_bps 0x18, num_wps 0x20,
    /// pmu_num_ctrs 0x28, hash_algo 0x30, the rest of the 4 KiB granule zero.</summary>
    public byte[] MeasuredBytes()
    {
        var b = new byte[Size];
        ulong flags = (Lpa2 ? 1UL : 0) | (Sve ? 2UL : 0) | (Pmu ? 4UL : 0);
        BinaryPrimitives.WriteUInt64LittleEndian(b, flags);
        b[0x08] = (byte)IpaBits;
        b[0x10] = (byte)(Sve ? SveVectorQuadwordsMinusOne : 0);
        b[0x18] = (byte)(Breakpoints - 1);
        b[0x20] = (byte)(Watchpoints - 1);
        b[0x28] = (byte)PmuCounters;
        b[0x30] = (byte)Hash;
        return b;
    }
}

/// <summary>
/// The Realm Initial Measurement, extended as the RMM extends it (DEN0137 1.0 A7.1.1): RMI_REALM_CREATE hashes the
/// measured parameters; every later operation builds a 256-byte measurement descriptor that holds the current RIM and
/// sets the RIM to its hash — DATA granules (type 0: ipa, flags, content hash), runnable RECs (type 1: hash of the
/// measured RmiRecParams) and RIPAS initialisation (type 2: one descriptor per stage-2 table entry the range covers).
/// The order of operations is part of the value, so a caller replays its VMM's order. A RIM is 64 bytes; a SHA-256
/// Realm's is zero-filled past its 32.
/// </summary>
public sealed class RimBuilder
{
    public const int GranuleBytes = 4096;
    private const int DescriptorBytes = 0x100;

    private readonly byte[] _rim = new byte[64];
    private readonly ulong _blockSizes;

    public RealmParameters Parameters { get; }
    /// <summary>DATA granules created with their content measured (the populate count of a launch).</summary>
    public long MeasuredGranules { get; private set; }
    public long UnmeasuredGranules { get; private set; }
    public int RunnableRecs { get; private set; }
    public long RipasEntries { get; private set; }

    public RimBuilder(RealmParameters parameters)
    {
        if (parameters.Problem is { } p) throw new ArgumentException($"Realm parameters: {p}", nameof(parameters));
        Parameters = parameters;
        _blockSizes = TranslationBlockSizes(parameters.IpaBits);
        Hash(parameters.MeasuredBytes(), _rim);
    }

    /// <summary>The RIM as reported in a Realm token: 32 bytes for SHA-256, 64 for SHA-512.</summary>
    public byte[] Rim => _rim[..Length];
    public string RimHex => Convert.ToHexStringLower(Rim);
    private int Length => Parameters.Hash == RealmHashAlgorithm.Sha256 ? 32 : 64;

    /// <summary>RMI_DATA_CREATE for the granules a blob covers once placed at <paramref name="ipa"/>: the blob is
    /// zero-padded to whole granules on both sides, as a VMM copies it into zeroed pages.</summary>
    public void AddData(ulong ipa, ReadOnlySpan<byte> content, bool measureContent = true)
    {
        var start = ipa & ~(ulong)(GranuleBytes - 1);
        var lead = (int)(ipa - start);
        var granule = new byte[GranuleBytes];
        var contentHash = new byte[64];
        var desc = new byte[DescriptorBytes];
        long offset = -lead;
        for (var at = start; offset < content.Length; at += GranuleBytes, offset += GranuleBytes)
        {
            Array.Clear(granule);
            var from = (int)Math.Max(0, offset);
            var to = (int)Math.Min(content.Length, offset + GranuleBytes);
            content[from..to].CopyTo(granule.AsSpan((int)(from - offset)));
            Array.Clear(contentHash);
            if (measureContent) Hash(granule, contentHash);
            Array.Clear(desc);
            desc[0] = 0; // RmmMeasurementDescriptorData
            BinaryPrimitives.WriteUInt64LittleEndian(desc.AsSpan(0x08), DescriptorBytes);
            _rim.CopyTo(desc, 0x10);
            BinaryPrimitives.WriteUInt64LittleEndian(desc.AsSpan(0x50), at);
            BinaryPrimitives.WriteUInt64LittleEndian(desc.AsSpan(0x58), measureContent ? 1UL : 0UL);
            contentHash.CopyTo(desc, 0x60);
            Hash(desc, _rim);
            if (measureContent) MeasuredGranules++; else UnmeasuredGranules++;
        }
    }

    /// <summary>RMI_REC_CREATE of a runnable REC: only runnable RECs extend the RIM (A7.1.1), and only their flags, pc
    /// and x0..x7 are measured.</summary>
    public void AddRunnableRec(ulong pc, ReadOnlySpan<ulong> gprs)
    {
        if (gprs.Length > 8) throw new ArgumentException("a REC's measured registers are x0..x7", nameof(gprs));
        var p = new byte[0x1000];
        BinaryPrimitives.WriteUInt64LittleEndian(p, 1UL); // flags.runnable
        BinaryPrimitives.WriteUInt64LittleEndian(p.AsSpan(0x200), pc);
        for (var i = 0; i < gprs.Length; i++) BinaryPrimitives.WriteUInt64LittleEndian(p.AsSpan(0x300 + 8 * i), gprs[i]);
        var content = new byte[64];
        Hash(p, content);
        var desc = new byte[DescriptorBytes];
        desc[0] = 1; // RmmMeasurementDescriptorRec
        BinaryPrimitives.WriteUInt64LittleEndian(desc.AsSpan(0x08), DescriptorBytes);
        _rim.CopyTo(desc, 0x10);
        content.CopyTo(desc, 0x50);
        Hash(desc, _rim);
        RunnableRecs++;
    }

    /// <summary>RMI_RTT_INIT_RIPAS over [base, top): the RMM measures each stage-2 entry it sets, so the range is
    /// walked in the largest blocks the tables allow at each address (4 KiB, 2 MiB, 1 GiB, 512 GiB, as the IPA width
    /// gives levels).</summary>
    public void InitRipas(ulong baseIpa, ulong topIpa)
    {
        if (topIpa <= baseIpa || ((baseIpa | topIpa) & (GranuleBytes - 1)) != 0)
            throw new ArgumentException($"RIPAS range [0x{baseIpa:x}, 0x{topIpa:x}) must be non-empty and granule-aligned");
        var desc = new byte[DescriptorBytes];
        for (var at = baseIpa; at < topIpa;)
        {
            var block = BlockSize(at, topIpa, _blockSizes);
            Array.Clear(desc);
            desc[0] = 2; // RmmMeasurementDescriptorRipas
            BinaryPrimitives.WriteUInt64LittleEndian(desc.AsSpan(0x08), DescriptorBytes);
            _rim.CopyTo(desc, 0x10);
            BinaryPrimitives.WriteUInt64LittleEndian(desc.AsSpan(0x50), at);
            BinaryPrimitives.WriteUInt64LittleEndian(desc.AsSpan(0x58), at + block);
            Hash(desc, _rim);
            RipasEntries++;
            at += block;
        }
    }

    private void Hash(ReadOnlySpan<byte> data, Span<byte> into64)
    {
        into64.Clear();
        if (Parameters.Hash == RealmHashAlgorithm.Sha256) SHA256.HashData(data, into64);
        else SHA512.HashData(data, into64);
    }

    /// <summary>The block sizes a 4 KiB-granule stage-2 table can map, as a bit mask: one level per 9 bits of IPA
    /// above the page offset, and a starting level of 16 or fewer entries folded into the next by concatenation
    /// (how KVM builds its tables; another hypervisor may start a level higher).</summary>
    public static ulong TranslationBlockSizes(int ipaBits)
    {
        const int pageBits = 12, bitsPerLevel = 9;
        var tableBits = ipaBits - pageBits;
        var levels = (tableBits + bitsPerLevel - 1) / bitsPerLevel;
        if (tableBits - bitsPerLevel * (levels - 1) <= 4) levels--;
        var sizes = 0UL;
        for (var level = 4 - levels; level < 4; level++) sizes |= (ulong)GranuleBytes << (bitsPerLevel * (3 - level));
        return sizes;
    }

    /// <summary>The largest block that starts at <paramref name="at"/>, is aligned there and fits below top.</summary>
    public static ulong BlockSize(ulong at, ulong top, ulong sizes)
    {
        for (var bit = 63; bit >= 12; bit--)
        {
            var size = 1UL << bit;
            if ((sizes & size) != 0 && at % size == 0 && top - at >= size) return size;
        }
        return GranuleBytes;
    }
}
