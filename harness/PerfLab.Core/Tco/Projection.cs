using PerfLab.Core.Suites;

namespace PerfLab.Core.Tco;

/// <summary>
/// What a projection of decode speed takes: the target (a model, its weight type and context, a host's memory bandwidth),
/// the efficiency measured on a model we did run, and the Realm's costs from a calibration profile. Every input is named
/// with its source, because a projection is only as good as what it was fed.
/// </summary>
public sealed record ProjectionInputs(
    ModelDescription Model, string Dtype, int ContextTokens, double HostBandwidthGBps,
    double Efficiency, string EfficiencySource,
    string CalibrationProfile, double ExitUs, double TimerHz = 250, double ExitsPerToken = 1, double EncryptionBandwidthTaxPct = 0);

public sealed record ProjectionTerm(string Name, double Value, string Unit, string Basis);

/// <summary>A projected decode rate, native and in a Realm; always <see cref="Evidence.Projected"/>, with every input listed.</summary>
public sealed record ProjectionResult(
    double BytesPerTokenGB, double RooflineTokensPerS, double NativeTokensPerS, double RealmTokensPerS, double RealmOverheadPct,
    IReadOnlyList<ProjectionTerm> Terms, Evidence Evidence);

/// <summary>
/// Decode at batch 1 is bound by memory bandwidth: every token reads every weight and the KV cache once. The projection is
/// that roofline times the fraction of it a decode step reached on a model we ran, then the Realm's world switches per
/// token (the timer's and the token's own I/O) at the calibration profile's exit cost, and any bandwidth tax of memory
/// encryption. Prefill, batching and compute-bound phases are out of its reach.
/// </summary>
public static class Projection
{
    public static IReadOnlyList<string> Problems(ProjectionInputs i)
    {
        var p = new List<string>();
        if (!ModelDescription.BytesPerWeight.ContainsKey(i.Dtype)) p.Add($"dtype '{i.Dtype}': give one of {string.Join(", ", ModelDescription.BytesPerWeight.Keys)}");
        if (i.ContextTokens < 1 || i.ContextTokens > i.Model.MaxContext) p.Add($"context {i.ContextTokens}: {i.Model.Name} takes 1 to {i.Model.MaxContext} tokens");
        if (!(i.HostBandwidthGBps > 0)) p.Add($"host bandwidth {i.HostBandwidthGBps} GB/s: give the target host's measured or specified memory bandwidth");
        if (i.Efficiency is <= 0 or > 1) p.Add($"efficiency {i.Efficiency}: give the fraction of the bandwidth roofline a decode step reached (0 to 1)");
        if (i.ExitUs < 0) p.Add($"exit cost {i.ExitUs} µs: cannot be negative");
        if (i.EncryptionBandwidthTaxPct is < 0 or >= 100) p.Add($"encryption bandwidth tax {i.EncryptionBandwidthTaxPct} %: give 0 to below 100");
        return p;
    }

    public static ProjectionResult Compute(ProjectionInputs i)
    {
        var problems = Problems(i);
        if (problems.Count > 0) throw new ArgumentException(string.Join("; ", problems));
        var weights = i.Model.WeightsGB(i.Dtype);
        // A decode step at position t reads the KV cache up to t: on average half the context over a sequence.
        var kv = i.Model.KvCacheGB(i.Dtype, i.ContextTokens / 2.0);
        var bytes = weights + kv;
        var roofline = i.HostBandwidthGBps / bytes;
        var native = roofline * i.Efficiency;
        var tokenS = 1 / native;
        var exitsPerToken = i.ExitsPerToken + i.TimerHz * tokenS;
        var switchS = exitsPerToken * i.ExitUs / 1e6;
        var realmTokenS = tokenS / (1 - i.EncryptionBandwidthTaxPct / 100) + switchS;
        var realm = 1 / realmTokenS;
        var terms = new List<ProjectionTerm>
        {
            new("weights read per token", weights, "GB", $"{i.Model.Parameters / 1e9:0.##} B parameters × {ModelDescription.BytesPerWeight[i.Dtype]} B ({i.Dtype})"),
            new("KV cache read per token", kv, "GB", $"2 × {i.Model.Layers} layers × {i.Model.KvHeads} KV heads × {i.Model.HeadDim} × {ModelDescription.KvBytesPerElement(i.Dtype)} B × {i.ContextTokens}/2 tokens (mean position)"),
            new("host bandwidth", i.HostBandwidthGBps, "GB/s", "input: the target host's memory bandwidth"),
            new("roofline", roofline, "tokens/s", "bandwidth ÷ bytes per token"),
            new("efficiency", i.Efficiency, "fraction", i.EfficiencySource),
            new("native decode", native, "tokens/s", "roofline × efficiency"),
            new("world switches per token", exitsPerToken, "exits", $"{i.ExitsPerToken} for the token's I/O + {i.TimerHz} Hz timer × {tokenS * 1e3:0.###} ms per token"),
            new("exit cost", i.ExitUs, "µs", $"calibration profile {i.CalibrationProfile}"),
            new("encryption bandwidth tax", i.EncryptionBandwidthTaxPct, "%", "input (0 unless measured on the target)"),
            new("Realm decode", realm, "tokens/s", "1 ÷ (token time ÷ (1 − tax) + exits × exit cost)"),
        };
        return new ProjectionResult(bytes, roofline, native, realm, (native / realm - 1) * 100, terms, Evidence.Projected);
    }
}
