using PerfLab.Core.Suites;
using PerfLab.Core.Tco;

namespace PerfLab.Core.Tests.Tco;

public class WarmPoolTests
{
    private static readonly WarmPoolInputs Base = new(2, ArrivalPattern.Poisson, ColdBootS: 10, TargetStartS: 0, BootJitterCv: 0);

    [Fact]
    public void Without_a_pool_every_start_is_a_cold_boot()
    {
        var lat = WarmPool.StartLatencies(Base, 0);
        Assert.All(lat, l => Assert.Equal(10, l, 9));
    }

    [Fact]
    public void Poisson_pool_size_matches_the_Poisson_quantile_of_arrivals_during_one_boot()
    {
        // A start waits only when W or more Realms were claimed in the last boot time: W − 1 is the 99th percentile
        // of Poisson(λ × boot) = Poisson(20), which is 31.
        var r = WarmPool.Size(Base);
        Assert.NotNull(r.PoolSize);
        Assert.InRange(r.PoolSize!.Value, 30, 34);
        // The curve falls as the pool grows, and the answer is the smallest size meeting the target.
        var curve = r.Curve.ToList();
        Assert.True(curve.First().StartLatencyAtPercentileS > curve.Last().StartLatencyAtPercentileS);
        Assert.All(curve.Where(p => p.PoolSize < r.PoolSize), p => Assert.True(p.StartLatencyAtPercentileS > 0));
    }

    [Fact]
    public void Seeded_runs_agree_and_bursts_need_a_larger_pool_than_Poisson_at_the_same_mean_rate()
    {
        var a = WarmPool.Size(Base with { BootJitterCv = 0.2, TargetStartS = 1 });
        var b = WarmPool.Size(Base with { BootJitterCv = 0.2, TargetStartS = 1 });
        Assert.Equal(a.PoolSize, b.PoolSize);
        Assert.Equal(a.Curve.Select(c => c.StartLatencyAtPercentileS), b.Curve.Select(c => c.StartLatencyAtPercentileS));
        var bursty = WarmPool.Size(Base with { BootJitterCv = 0.2, TargetStartS = 1, Pattern = ArrivalPattern.Bursty });
        Assert.True(bursty.PoolSize > a.PoolSize, $"bursty {bursty.PoolSize} vs poisson {a.PoolSize}");
    }

    [Fact]
    public void A_pooled_Realm_that_still_loads_its_model_starts_no_sooner_than_its_warm_start()
    {
        var warm = Base with { WarmStartS = 2, TargetStartS = 2.5 };
        // With a pool far larger than any burst, every start is the warm start itself, never less.
        var ample = WarmPool.StartLatencies(warm, 200);
        Assert.All(ample, l => Assert.Equal(2, l, 9));
        // Below the warm start no pool meets the target; above it, the warm start needs at least the fully loaded pool.
        Assert.Null(WarmPool.Size(Base with { WarmStartS = 2, TargetStartS = 1.5, MaxPool = 64 }).PoolSize);
        var loaded = WarmPool.Size(Base with { TargetStartS = 2.5 });
        Assert.True(WarmPool.Size(warm).PoolSize >= loaded.PoolSize);
        Assert.Contains("a pooled Realm's start 2 s", WarmPool.Size(warm).Basis);
        Assert.Contains(WarmPool.Problems(Base with { WarmStartS = 10 }), p => p.Contains("not shorter than the cold boot"));
    }

    [Fact]
    public void Bad_inputs_are_named()
    {
        var p = WarmPool.Problems(Base with { ColdBootS = 0, ArrivalsPerSecond = -1, Percentile = 1.5 });
        Assert.Contains(p, x => x.StartsWith("cold boot 0 s"));
        Assert.Contains(p, x => x.StartsWith("arrivals per second -1"));
        Assert.Contains(p, x => x.StartsWith("percentile 1.5"));
    }
}

public class ProjectionTests
{
    private static ProjectionInputs Llama70B(double exitUs = 24.6, double tax = 0) =>
        new(ModelDescription.Known["llama-70b"], "bf16", 8192, 500, 0.57, "measured here", "kvm-pvm-measured", exitUs, EncryptionBandwidthTaxPct: tax);

    [Fact]
    public void Decode_is_the_bandwidth_roofline_times_the_measured_efficiency()
    {
        var r = Projection.Compute(Llama70B());
        // 140 GB of bf16 weights + 2 × 80 × 8 × 128 × 2 B × 4096 tokens of KV = 141.34 GB per token.
        Assert.Equal(141.34, r.BytesPerTokenGB, 2);
        Assert.Equal(500 / 141.34, r.RooflineTokensPerS, 3);
        Assert.Equal(500 / 141.34 * 0.57, r.NativeTokensPerS, 3);
        Assert.Equal(Evidence.Projected, r.Evidence);
        Assert.Contains(r.Terms, t => t.Name == "efficiency" && t.Basis == "measured here");
    }

    [Fact]
    public void The_Realm_costs_come_from_the_exit_cost_and_the_encryption_tax()
    {
        var free = Projection.Compute(Llama70B(exitUs: 0));
        Assert.Equal(free.NativeTokensPerS, free.RealmTokensPerS, 9);
        var pvm = Projection.Compute(Llama70B(exitUs: 24.6));
        var claim = Projection.Compute(Llama70B(exitUs: 1.5));
        Assert.True(pvm.RealmOverheadPct > claim.RealmOverheadPct && claim.RealmOverheadPct > 0);
        var taxed = Projection.Compute(Llama70B(exitUs: 0, tax: 10));
        Assert.Equal(100.0 / 90 - 1, taxed.RealmOverheadPct / 100, 6);
    }

    [Fact]
    public void Bad_inputs_are_named()
    {
        var p = Projection.Problems(Llama70B() with { HostBandwidthGBps = 0, Efficiency = 1.5, ContextTokens = 100_000 });
        Assert.Equal(3, p.Count);
        Assert.Contains(p, x => x.StartsWith("context 100000: llama-70b takes 1 to 8192"));
    }
}
