using PerfLab.Core.Tco;

namespace PerfLab.Core.Tests.Tco;

/// <summary>The bandwidth limit on decode, and the batch a claim above it needs.</summary>
public class DecodeLimitTests
{
    private static readonly ModelDescription Llama70 = ModelDescription.Known["llama-70b"];

    [Fact]
    public void A_claim_above_the_batch_1_limit_needs_the_smallest_batch_whose_aggregate_reaches_it()
    {
        // 140 GB of bf16 weights and 0.671 GB of KV at 2,048 tokens, over 537.6 GB/s: 3.82 tokens/s at batch 1.
        var c = DecodeLimit.Check(Llama70, "bf16", 2048, 537.6, 45);
        Assert.Equal(537.6 / (140 + Llama70.KvCacheGB("bf16", 2048)), c.LimitBatch1TokensPerS, 9);
        Assert.False(c.PossibleAtBatch1);
        Assert.Equal(13, c.BatchNeeded);
        // The batch found is the smallest: it reaches the claim and one fewer does not.
        static double Rate(int b, double w, double kv) => b * 537.6 / (w + b * kv);
        var kv = Llama70.KvCacheGB("bf16", 2048);
        Assert.True(Rate(13, 140, kv) >= 45 && Rate(12, 140, kv) < 45);
        Assert.Contains("needs a batch of 13", c.Verdict);
    }

    [Fact]
    public void A_claim_within_the_limit_is_possible_and_one_the_kv_caches_alone_exceed_is_possible_at_no_batch()
    {
        var ok = DecodeLimit.Check(Llama70, "int4", 2048, 537.6, 12);
        Assert.True(ok.PossibleAtBatch1);
        Assert.Equal(1, ok.BatchNeeded);
        Assert.StartsWith("possible at batch 1", ok.Verdict);
        // 1,000 tokens/s with 0.671 GB of KV per token-sequence step needs 671 GB/s for the caches alone.
        var never = DecodeLimit.Check(Llama70, "bf16", 2048, 537.6, 1000);
        Assert.Null(never.BatchNeeded);
        Assert.Contains("impossible at any batch", never.Verdict);
        Assert.Throws<ArgumentException>(() => DecodeLimit.Check(Llama70, "bf16", 2048, double.NaN, 10));
        Assert.Throws<ArgumentException>(() => DecodeLimit.Check(Llama70, "bf16", 2048, 500, 0));
    }
}
