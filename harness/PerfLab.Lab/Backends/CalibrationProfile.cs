using System.Globalization;
using PerfLab.Lab.Os;
using YamlDotNet.RepresentationModel;

namespace PerfLab.Lab.Backends;

/// <summary>
/// World-switch costs an emulated Realm applies as real busy time: per exit (each query in and each answer out
/// crosses the boundary, and each timer tick at the guest's tick rate), per RSI call (each chunk of the payload), per
/// stage-2 fault. Where the figures come from is part of it, and so is the tick rate the exits are counted at.
/// </summary>
public sealed record CalibrationProfile(string Name, string Source, double ExitUs, double RsiCallUs, double FaultUs, double TickHz)
{
    /// <summary>Stage-2 granule (optional, default 4 KiB): the emulated Realm counts its faults in these.</summary>
    public long GranuleBytes { get; init; } = 4096;
    /// <summary>Price of one granule-delegation call at populate (optional, default 0: not priced).</summary>
    public double DelegateUs { get; init; }
    /// <summary>Bytes one delegation call covers (optional, default one granule; a range for RMM v2.0's range delegation).</summary>
    public long DelegateBytes { get; init; } = 4096;
    /// <summary>Priced, not paid (optional, default 0: not priced): the bounce buffer's copy bandwidth in GB/s, the
    /// stage-2 share of a TLB miss in ns, an attestation-token request and a key release in µs.</summary>
    public double BounceGBps { get; init; }
    public double WalkNs { get; init; }
    public double AttestUs { get; init; }
    public double KeyReleaseUs { get; init; }

    public Core.Analysis.RealmPrices ToPrices() => new(Name, Source, ExitUs, RsiCallUs, FaultUs, TickHz)
    {
        GranuleBytes = GranuleBytes, DelegateUs = DelegateUs, DelegateBytes = Math.Max(GranuleBytes, DelegateBytes),
        BounceGBps = BounceGBps, WalkNs = WalkNs, AttestUs = AttestUs, KeyReleaseUs = KeyReleaseUs,
    };

    /// <summary>bench/profiles/&lt;name&gt;.yaml, found above the binary or the current folder (or in PERFLAB_PROFILES).</summary>
    public static CalibrationProfile Load(string name)
    {
        var dir = Environment.GetEnvironmentVariable("PERFLAB_PROFILES") is { Length: > 0 } d ? d : FindProfiles();
        // A path to a profile file is taken as it is (perflab project --profile my.yaml); a name is looked up in the folder.
        var path = name.EndsWith(".yaml", StringComparison.Ordinal) && File.Exists(name) ? name : Path.Combine(dir, name + ".yaml");
        if (!File.Exists(path))
        {
            var valid = Directory.Exists(dir) ? string.Join(", ", Directory.GetFiles(dir, "*.yaml").Select(Path.GetFileNameWithoutExtension)) : "(none)";
            throw new FileNotFoundException($"{path}: no calibration profile '{name}'; profiles here: {valid}", path);
        }
        var yaml = new YamlStream();
        try { yaml.Load(new StringReader(File.ReadAllText(path))); }
        catch (YamlDotNet.Core.YamlException e) { throw new InvalidDataException($"{path}: not valid YAML at {e.Start.Line}:{e.Start.Column}: {e.Message}"); }
        if (yaml.Documents.Count == 0 || yaml.Documents[0].RootNode is not YamlMappingNode m)
            throw new InvalidDataException($"{path}: a calibration profile is a mapping of name, source, exit_us, rsi_call_us, fault_us and tick_hz");
        string S(string k) => !m.Children.TryGetValue(new YamlScalarNode(k), out var v) ? throw new InvalidDataException($"{path}: missing '{k}'")
            : v is YamlScalarNode { Value: { Length: > 0 } text } ? text : throw new InvalidDataException($"{path}: '{k}' must be a single value");
        double D(string k) => double.TryParse(S(k), NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && x >= 0 ? x
            : throw new InvalidDataException($"{path}: '{k}' must be a number ≥ 0");
        var tickHz = D("tick_hz");
        if (tickHz is < 1 or > 10_000) throw new InvalidDataException($"{path}: 'tick_hz' {tickHz} must be a guest timer rate from 1 to 10000 Hz (Debian's arm64 kernel: 250)");
        bool Has(string k) => m.Children.ContainsKey(new YamlScalarNode(k));
        long Bytes(string k, long fallback)
        {
            if (!Has(k)) return fallback;
            var v = S(k);
            return long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var b) && b >= 4096 && (b & (b - 1)) == 0 ? b
                : throw new InvalidDataException($"{path}: '{k}' {v} must be a power of two of at least 4096 bytes (4 KiB, 16 KiB, 64 KiB, 2 MiB…)");
        }
        var granule = Bytes("granule_bytes", 4096);
        return new CalibrationProfile(S("name"), S("source"), D("exit_us"), D("rsi_call_us"), D("fault_us"), tickHz)
        {
            GranuleBytes = granule, DelegateUs = Has("delegate_us") ? D("delegate_us") : 0, DelegateBytes = Bytes("delegate_bytes", granule),
            BounceGBps = Has("bounce_gbps") ? D("bounce_gbps") : 0, WalkNs = Has("walk_ns") ? D("walk_ns") : 0,
            AttestUs = Has("attest_us") ? D("attest_us") : 0, KeyReleaseUs = Has("key_release_us") ? D("key_release_us") : 0,
        };
    }

    private static string FindProfiles() =>
        RepoPaths.FindUpwards(Path.Combine("bench", "profiles")) ?? Path.Combine(Directory.GetCurrentDirectory(), "bench", "profiles");

    /// <summary>
    /// What the agent gets in PERFLAB_REALM_COSTS (and the launch records as calibration_costs): nanoseconds per exit, per RSI
    /// call and per stage-2 fault, the tick rate, the granule, and the prices that are priced, not paid: delegation
    /// (populate is the host's work before the Realm runs), bounce copies, translation, attestation and key release.
    /// </summary>
    public string ToEnvironment() => string.Create(CultureInfo.InvariantCulture,
        $"exit_ns={ExitUs * 1000:0},rsi_ns={RsiCallUs * 1000:0},fault_ns={FaultUs * 1000:0},tick_hz={TickHz:0},granule_bytes={GranuleBytes},delegate_ns={DelegateUs * 1000:0},delegate_bytes={DelegateBytes}" +
        $",bounce_mbps={BounceGBps * 1000:0},walk_ps={WalkNs * 1000:0},attest_ns={AttestUs * 1000:0},key_release_ns={KeyReleaseUs * 1000:0}");
}
