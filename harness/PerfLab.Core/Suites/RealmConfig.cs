using PerfLab.Core.Units;

namespace PerfLab.Core.Suites;

/// <summary>Who launches the Realm. See DESIGN.md, "Platforms".</summary>
public enum Platform { Native, Vm, Cca, CcaEmulated }

/// <summary>How a figure was obtained. Never blurred: every cell, summary row and chart carries one.</summary>
public enum Evidence { Measured, Emulated, Projected, Given }

/// <summary>How large pages are obtained when a page size above 4 KiB is asked for.</summary>
public enum HugePageBacking { Thp, Hugetlb }

public static class Names
{
    public static readonly IReadOnlyDictionary<string, Platform> Platforms = new Dictionary<string, Platform>
    {
        ["native"] = Platform.Native, ["vm"] = Platform.Vm, ["cca"] = Platform.Cca, ["cca-emulated"] = Platform.CcaEmulated,
    };

    public static string Name(this Platform p) => Platforms.First(kv => kv.Value == p).Key;
    public static string Name(this Evidence e) => e.ToString().ToLowerInvariant();
    public static string Name(this HugePageBacking b) => b.ToString().ToLowerInvariant();
    public static string Name(this CoTenant c) => c.ToString().ToLowerInvariant();
    public static readonly IReadOnlyDictionary<string, CoTenant> CoTenants = Enum.GetValues<CoTenant>().ToDictionary(c => c.Name());
}

/// <summary>MPAM (or RDT) partitioning: a cache portion and a memory-bandwidth limit, each optional.</summary>
public sealed record MpamSetting(int? CachePortionPct, int? BandwidthPct)
{
    public static readonly MpamSetting Off = new(null, null);
    public bool IsOff => CachePortionPct is null && BandwidthPct is null;

    public string ToShort() => IsOff ? "off"
        : string.Join("-", new[] { CachePortionPct is { } c ? $"l3{c}" : null, BandwidthPct is { } b ? $"mb{b}" : null }.Where(s => s != null));
}

/// <summary>How a Realm's vCPUs are placed on the host's CPUs.</summary>
public enum PinningKind { None, Auto, List }

/// <summary>CPU pinning: none, automatic (one CPU per vCPU, counted from the last CPU down), or an explicit list.</summary>
public sealed record Pinning(PinningKind Kind, IReadOnlyList<int> Cpus)
{
    public static readonly Pinning None = new(PinningKind.None, []);
    public static readonly Pinning Auto = new(PinningKind.Auto, []);
    public static Pinning List(IReadOnlyList<int> cpus) => new(PinningKind.List, cpus);

    /// <summary>The highest CPU number a list may name (Linux's NR_CPUS is at most 8192; no host of ours comes near).</summary>
    public const int MaxCpu = 4095;

    /// <summary>A CPU list this long or longer in its short form is named by its size and a hash: it is part of a folder name.</summary>
    private const int MaxShortLength = 32;

    /// <summary>"cpu0_2"; a long list as "cpus4096-1a2b3c4d" (its size and a hash), so a cell id stays a usable folder name.</summary>
    public string ToShort()
    {
        if (Kind == PinningKind.Auto) return "auto";
        if (Kind != PinningKind.List) return "none";
        var text = "cpu" + string.Join("_", Cpus);
        if (text.Length < MaxShortLength) return text;
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(string.Join(",", Cpus)));
        return $"cpus{Cpus.Count}-{Convert.ToHexStringLower(hash)[..8]}";
    }
}

/// <summary>What runs beside the Realm: nothing, or a process streaming memory (the noisy neighbour an MPAM
/// bandwidth reservation would limit).</summary>
public enum CoTenant { None, Stream }

/// <summary>The requested settings of one Realm: one point of a suite's matrix.</summary>
public sealed record RealmConfig(
    Platform Platform,
    PageSize PageSize,
    HugePageBacking Backing,
    Bytes RsiBatch,
    MpamSetting Mpam,
    int Vcpus,
    Bytes Memory,
    Pinning Pinning)
{
    public CoTenant CoTenant { get; init; } = CoTenant.None;

    /// <summary>File-system-safe, stable identifier of these settings, part of a cell id.</summary>
    public string Id =>
        $"{Platform.Name()}.p{PageSize.ToShort()}{(PageSize == PageSize.Kib4 ? "" : "-" + Backing.Name())}" +
        $".rsi{RsiBatch.ToShort()}.mpam-{Mpam.ToShort()}.v{Vcpus}.{Pinning.ToShort()}" + (CoTenant == CoTenant.None ? "" : $".co-{CoTenant.Name()}");
}
