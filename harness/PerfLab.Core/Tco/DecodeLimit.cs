namespace PerfLab.Core.Tco;

/// <summary>A claimed decode rate set against the rate memory bandwidth allows, and the batch the claim would need.</summary>
/// <param name="LimitBatch1TokensPerS">bandwidth ÷ bytes read per token at batch 1 (every weight, plus the sequence's KV cache)</param>
/// <param name="BatchNeeded">the smallest batch whose aggregate rate the bandwidth allows to reach the claim; null when no batch can</param>
public sealed record DecodeLimitCheck(double ClaimedTokensPerS, double LimitBatch1TokensPerS, double WeightsGB, double KvPerSequenceGB,
    double BandwidthGBps, bool PossibleAtBatch1, int? BatchNeeded)
{
    public string Verdict
    {
        get
        {
            var ci = System.Globalization.CultureInfo.InvariantCulture;
            if (PossibleAtBatch1) return string.Create(ci, $"possible at batch 1 ({100 * ClaimedTokensPerS / LimitBatch1TokensPerS:0}% of the bandwidth limit)");
            return BatchNeeded is { } b
                ? string.Create(ci, $"impossible at batch 1 (limit {LimitBatch1TokensPerS:0.##} tokens/s, {ClaimedTokensPerS / LimitBatch1TokensPerS:0.#}× over); needs a batch of {b} or more, as aggregate throughput")
                : string.Create(ci, $"impossible at any batch: the KV caches alone would need more than {BandwidthGBps:0.#} GB/s");
        }
    }
}

/// <summary>
/// The physical limit a decode-rate claim implies. Decode is memory-bound: each step reads every weight once, whatever
/// the batch, and each sequence's KV cache. So b sequences decode at most b·BW / (W + b·KV) tokens/s — at batch 1,
/// BW / (W + KV). A claim above the batch-1 limit can only be aggregate throughput over a batch; the batch it needs
/// is the smallest b with b·BW / (W + b·KV) ≥ claim, i.e. b ≥ claim·W / (BW − claim·KV). Theoretical peak bandwidth
/// makes this an upper bound: real kernels reach a fraction of it (the lab measures that fraction as its efficiency).
/// </summary>
public static class DecodeLimit
{
    public static IReadOnlyList<string> Problems(double bandwidthGBps, double claimedTokensPerS, double contextTokens)
    {
        var p = new List<string>();
        if (!(bandwidthGBps > 0 && bandwidthGBps < 1e6)) p.Add($"bandwidth {bandwidthGBps} GB/s: give a memory bandwidth above 0 and below 1e6 GB/s");
        if (!(claimedTokensPerS > 0 && claimedTokensPerS < 1e9)) p.Add($"claimed rate {claimedTokensPerS} tokens/s: give a rate above 0 and below 1e9");
        if (!(contextTokens >= 0 && contextTokens <= 10_000_000)) p.Add($"context {contextTokens} tokens: give 0 to 10,000,000");
        return p;
    }

    public static DecodeLimitCheck Check(ModelDescription model, string dtype, double contextTokens, double bandwidthGBps, double claimedTokensPerS)
    {
        var problems = Problems(bandwidthGBps, claimedTokensPerS, contextTokens);
        if (problems.Count > 0) throw new ArgumentException(string.Join("; ", problems));
        var w = model.WeightsGB(dtype);
        var kv = model.KvCacheGB(dtype, contextTokens);
        var limit = bandwidthGBps / (w + kv);
        int? batch = null;
        var headroom = bandwidthGBps - claimedTokensPerS * kv;
        if (headroom > 0) batch = Math.Max(1, (int)Math.Ceiling(claimedTokensPerS * w / headroom - 1e-9));
        return new DecodeLimitCheck(claimedTokensPerS, limit, w, kv, bandwidthGBps, claimedTokensPerS <= limit * (1 + 1e-12), batch);
    }
}
