using PerfLab.Core.Suites;

namespace PerfLab.Core.Tco;

/// <summary>A model as a capacity planner describes it: size, weight type, and the shape the KV cache follows.</summary>
public sealed record ModelDescription(string Name, double Parameters, int Layers, int KvHeads, int HeadDim, int MaxContext)
{
    public static readonly IReadOnlyDictionary<string, ModelDescription> Known = new Dictionary<string, ModelDescription>
    {
        // Published shapes of the Llama family (layers, KV heads, head size, context).
        ["llama-70b"] = new("llama-70b", 70e9, 80, 8, 128, 8192),
        ["llama-8b"] = new("llama-8b", 8e9, 32, 8, 128, 8192),
        // PerfLab's own 1b preset (TinyLlama 1.1B's shape).
        ["perflab-1b"] = new("perflab-1b", 1.17e9, 22, 4, 64, 2048),
    };

    public static readonly IReadOnlyDictionary<string, double> BytesPerWeight = new Dictionary<string, double>
    {
        ["fp32"] = 4, ["bf16"] = 2, ["fp16"] = 2, ["int8"] = 1, ["int4"] = 0.5 + 4.0 / 32, // int4: nibbles plus an fp32 scale per 32
    };

    /// <summary>Bytes of one KV-cache element: the cache stays in 16-bit unless the model is fp32.</summary>
    public static int KvBytesPerElement(string dtype) => dtype == "fp32" ? 4 : 2;

    /// <summary>The KV cache of <paramref name="tokens"/> positions of one sequence, in GB: keys and values, every layer and KV head.</summary>
    public double KvCacheGB(string dtype, double tokens) => 2.0 * Layers * KvHeads * HeadDim * tokens * KvBytesPerElement(dtype) / 1e9;

    /// <summary>The weights in GB at this weight type.</summary>
    public double WeightsGB(string dtype) => Parameters * BytesPerWeight[dtype] / 1e9;
}

/// <summary>The host a Realm runs on and what an hour of it costs.</summary>
public sealed record HostDescription(double MemoryGB, int Cores, int Sockets, double PricePerHour);

/// <summary>Everything a TCO estimate takes; each assumption is a named input with its default stated.</summary>
public sealed record TcoInputs(
    ModelDescription Model, string Dtype, int ContextTokens, int Concurrency, HostDescription Host, int CoresPerRealm,
    double TokensPerSecondPerRealm, Evidence TokensEvidence, double ConfidentialOverheadPct,
    double RuntimeGB = 2, double ActivationFraction = 0.02, double RealmMetadataFraction = 0.02, double HostReserveGB = 16);

/// <summary>One visible term of a Realm's memory.</summary>
public sealed record MemoryTerm(string Name, double GB, string Basis);

public sealed record TcoResult(
    IReadOnlyList<MemoryTerm> Terms, double MemoryPerRealmGB, int RealmsPerHost, string LimitedBy,
    double TokensPerSecondPerHostNative, double TokensPerSecondPerHostConfidential,
    double CostPerMillionTokensNative, double CostPerMillionTokensConfidential, Evidence TokensEvidence);

/// <summary>Memory per Realm, Realms per host, tokens/s and cost per million tokens, native against confidential.</summary>
public static class TcoModel
{
    /// <summary>Every problem with the inputs, named by field with what would be valid; empty when they are sound.</summary>
    public static IReadOnlyList<string> Problems(TcoInputs i)
    {
        var p = new List<string>();
        if (!ModelDescription.BytesPerWeight.ContainsKey(i.Dtype)) p.Add($"dtype '{i.Dtype}': give one of {string.Join(", ", ModelDescription.BytesPerWeight.Keys)}");
        if (i.ContextTokens < 1 || i.ContextTokens > i.Model.MaxContext) p.Add($"context {i.ContextTokens}: {i.Model.Name} takes 1 to {i.Model.MaxContext} tokens");
        if (i.Concurrency < 1) p.Add($"concurrency {i.Concurrency}: give at least 1 sequence per Realm");
        if (i.Host.Cores < 1) p.Add($"cores {i.Host.Cores}: a host has at least 1 core");
        if (i.Host.Sockets < 1) p.Add($"sockets {i.Host.Sockets}: a host has at least 1 socket");
        if (i.Host.MemoryGB <= i.HostReserveGB) p.Add($"host memory {i.Host.MemoryGB} GB: must exceed the host's own reserve of {i.HostReserveGB} GB");
        if (i.Host.PricePerHour < 0) p.Add($"price per hour {i.Host.PricePerHour}: a price cannot be negative");
        if (i.CoresPerRealm < 1 || i.CoresPerRealm > i.Host.Cores) p.Add($"cores per Realm {i.CoresPerRealm}: give 1 to {i.Host.Cores}");
        if (i.TokensPerSecondPerRealm <= 0) p.Add($"tokens/s per Realm {i.TokensPerSecondPerRealm}: give a measured or projected rate above 0");
        if (i.ConfidentialOverheadPct is < 0 or >= 100) p.Add($"confidential overhead {i.ConfidentialOverheadPct} %: give 0 to below 100");
        return p;
    }

    public static TcoResult Compute(TcoInputs i)
    {
        var problems = Problems(i);
        if (problems.Count > 0) throw new ArgumentException(string.Join("; ", problems));
        var m = i.Model;
        var weights = m.WeightsGB(i.Dtype);
        var kvBytesPerWeightType = ModelDescription.KvBytesPerElement(i.Dtype);
        var kv = m.KvCacheGB(i.Dtype, i.ContextTokens) * i.Concurrency;
        var activations = weights * i.ActivationFraction;
        var subtotal = weights + kv + i.RuntimeGB + activations;
        var metadata = subtotal * i.RealmMetadataFraction;
        var terms = new List<MemoryTerm>
        {
            new("weights", weights, $"{m.Parameters / 1e9:0.##} B parameters × {ModelDescription.BytesPerWeight[i.Dtype]} B ({i.Dtype})"),
            new("kv_cache", kv, $"2 × {m.Layers} layers × {m.KvHeads} KV heads × {m.HeadDim} × {i.ContextTokens} tokens × {i.Concurrency} sequences × {kvBytesPerWeightType} B"),
            new("runtime", i.RuntimeGB, "inference runtime, agent and guest kernel (assumption)"),
            new("activations", activations, $"{i.ActivationFraction:P0} of the weights (assumption)"),
            new("realm_metadata", metadata, $"{i.RealmMetadataFraction:P0} of the above for RMM tracking and guard pages (assumption; the article claims 15–25 %)"),
        };
        var perRealm = terms.Sum(t => t.GB);
        var byMemory = (int)Math.Floor((i.Host.MemoryGB - i.HostReserveGB) / perRealm);
        var byCores = i.Host.Cores / i.CoresPerRealm;
        var realms = Math.Min(byMemory, byCores);
        var native = realms * i.TokensPerSecondPerRealm;
        var confidential = native * (1 - i.ConfidentialOverheadPct / 100);
        double Cost(double tokensPerSecond) => tokensPerSecond <= 0 ? double.PositiveInfinity : i.Host.PricePerHour / (tokensPerSecond * 3600) * 1e6;
        return new TcoResult(terms, perRealm, realms, byMemory <= byCores ? "memory" : "cores", native, confidential, Cost(native), Cost(confidential), i.TokensEvidence);
    }
}
