using System.Text.Json;
using System.Text.Json.Serialization;

namespace PerfLab.Core.Results;

/// <summary>The timed steps of a Realm's life, in the order they happen. Their JSON names are snake_case.</summary>
/// <remarks>Attest: the Realm's token obtained (broker nonce, challenge, token); Verify: the broker's appraisal as the Realm
/// waits for it; KeyRelease: the wrapped model key's round trip; Decrypt: AES-GCM opening of the shards inside the Realm
/// (while they stream, so within Populate).</remarks>
public enum Phase { Launch, Measure, Populate, Attest, Verify, KeyRelease, Decrypt, Load, LoadInside, Ready, FirstToken, Run, Teardown }

/// <summary>
/// A launch's lifecycle phases in milliseconds, keyed by <see cref="Phase"/>. Written as <c>phases_ms: {"launch": 12.3, …}</c>;
/// a phase that did not happen is absent, not zero.
/// </summary>
[JsonConverter(typeof(RealmPhasesConverter))]
public sealed class RealmPhases
{
    private readonly SortedDictionary<Phase, double> _ms = new();

    public double this[Phase p]
    {
        get => _ms.TryGetValue(p, out var v) ? v : throw new KeyNotFoundException($"phase {p.Name()} was not timed");
        set => _ms[p] = value;
    }

    public bool Has(Phase p) => _ms.ContainsKey(p);
    public double? Get(Phase p) => _ms.TryGetValue(p, out var v) ? v : null;
    public int Count => _ms.Count;
    public IEnumerable<KeyValuePair<Phase, double>> All => _ms;

    /// <summary>The phase of this snake_case name (as written in phases_ms), if there is one.</summary>
    public static Phase? Named(string name) => ByName.TryGetValue(name, out var p) ? p : null;

    private static readonly Dictionary<string, Phase> ByName = Enum.GetValues<Phase>().ToDictionary(p => p.Name());

    /// <summary>Reads a phases_ms object; names this version does not know are left out (a newer writer's additions).</summary>
    public static RealmPhases From(IEnumerable<KeyValuePair<string, double>> named)
    {
        var r = new RealmPhases();
        foreach (var (k, v) in named)
            if (ByName.TryGetValue(k, out var p)) r[p] = v;
        return r;
    }

    private sealed class RealmPhasesConverter : JsonConverter<RealmPhases>
    {
        public override RealmPhases Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            From(JsonSerializer.Deserialize<Dictionary<string, double>>(ref reader, options) ?? []);

        public override void Write(Utf8JsonWriter writer, RealmPhases value, JsonSerializerOptions options)
        {
            writer.WriteStartObject();
            foreach (var (p, ms) in value._ms) writer.WriteNumber(p.Name(), ms);
            writer.WriteEndObject();
        }
    }
}

/// <summary>Who established an effective setting: its key's prefix in the manifest says so.</summary>
public enum SettingSource { Host, Agent, Smaps, Env, Vm, Wsbench, Client }

/// <summary>
/// A launch's effective settings as verified on the running Realm (LoadGen's "effective" beside the suite's
/// "requested"): page size obtained, CPUs allowed, calibration profile, RSI chunks, attestation, … Each key carries
/// its source (<c>agent.tokens_digest</c>, <c>smaps.Rss_kb</c>, <c>vm.accel</c>; host-established keys have no prefix).
/// Written as one flat JSON object.
/// </summary>
[JsonConverter(typeof(EffectiveRealmConverter))]
public sealed class EffectiveRealm
{
    private readonly SortedDictionary<string, string> _values = new(StringComparer.Ordinal);

    public void Set(SettingSource source, string key, string value)
    {
        lock (_values) _values[Key(source, key)] = value;
    }

    public void Set(string key, string value) => Set(SettingSource.Host, key, value);

    public string this[string key] => _values[key];
    public bool ContainsKey(string key) => _values.ContainsKey(key);
    public string? Get(SettingSource source, string key) => _values.GetValueOrDefault(Key(source, key));
    /// <summary>A setting by its full key as recorded (<c>agent.peak_rss_kb</c>, <c>page_size_obtained</c>), or null.</summary>
    public string? Find(string key) => _values.GetValueOrDefault(key);
    public IEnumerable<KeyValuePair<string, string>> All => _values;

    private static string Key(SettingSource source, string key) => source == SettingSource.Host ? key : source.ToString().ToLowerInvariant() + "." + key;

    public static EffectiveRealm From(IEnumerable<KeyValuePair<string, string>> flat)
    {
        var r = new EffectiveRealm();
        foreach (var (k, v) in flat) r._values[k] = v;
        return r;
    }

    private sealed class EffectiveRealmConverter : JsonConverter<EffectiveRealm>
    {
        public override EffectiveRealm Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            From(JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(ref reader, options)?
                .Select(kv => KeyValuePair.Create(kv.Key, kv.Value.ValueKind == JsonValueKind.String ? kv.Value.GetString()! : kv.Value.GetRawText())) ?? []);

        public override void Write(Utf8JsonWriter writer, EffectiveRealm value, JsonSerializerOptions options)
        {
            writer.WriteStartObject();
            foreach (var (k, v) in value._values) writer.WriteString(k, v);
            writer.WriteEndObject();
        }
    }
}

/// <summary>Where a figure's evidence comes from, beyond its word: the calibration profile an emulated cell's costs were
/// priced from, or the emulator a VM ran under. The one place this label is decided.</summary>
public static class EvidenceSource
{
    public static string? Of(PerfLab.Core.Suites.Evidence evidence, EffectiveRealm effective)
    {
        if (evidence != PerfLab.Core.Suites.Evidence.Emulated) return null;
        // An emulated CPU first: under it even a calibration profile's costs ran on the emulator's time.
        if (effective.Get(SettingSource.Host, "cpu_emulation") is { } cpu)
            return effective.Get(SettingSource.Host, "calibration_profile") is { } p ? $"{cpu}; calibration profile {p}" : cpu;
        if (effective.Get(SettingSource.Host, "calibration_profile") is { } profile) return "calibration profile " + profile;
        if (effective.Get(SettingSource.Vm, "accel") is "tcg") return "QEMU TCG: a functional check, never a timing";
        return "emulated";
    }

    /// <summary>"emulated (calibration profile kvm-pvm-measured)", or the evidence word alone.</summary>
    public static string Label(string evidence, string? source) => source is null || source == evidence ? evidence : $"{evidence} ({source})";
}

public static class PhaseNames
{
    /// <summary>snake_case, as phases_ms and the report name them.</summary>
    public static string Name(this Phase p) => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.ToString());
}
