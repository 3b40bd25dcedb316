using PerfLab.Core.Suites;
using PerfLab.Core.Tco;

namespace PerfLab.Core.Tests.Tco;

public class TcoTests
{
    private static TcoInputs Example(int concurrency = 8) => new(ModelDescription.Known["llama-70b"], "bf16", 8192, concurrency,
        new HostDescription(1536, 128, 2, 12.0), 32, 20, Evidence.Projected, 9);

    [Fact]
    public void Seventy_B_in_BF16_with_8K_context_shows_every_term_and_lands_in_150_to_180_GB()
    {
        var r = TcoModel.Compute(Example());
        var terms = r.Terms.ToDictionary(t => t.Name, t => t.GB);
        Assert.Equal(140.0, terms["weights"], 6);
        Assert.Equal(2 * 80 * 8 * 128 * 8192.0 * 8 * 2 / 1e9, terms["kv_cache"], 6); // 21.5 GB for 8 sequences
        Assert.True(terms["runtime"] > 0 && terms["activations"] > 0 && terms["realm_metadata"] > 0);
        Assert.InRange(r.MemoryPerRealmGB, 150, 180);
        Assert.InRange(TcoModel.Compute(Example(1)).MemoryPerRealmGB, 145, 160);
    }

    [Fact]
    public void Realms_per_host_costs_and_the_confidential_premium_follow_from_the_inputs()
    {
        var r = TcoModel.Compute(Example());
        var byMemory = (int)Math.Floor((1536 - 16) / r.MemoryPerRealmGB); // 9 Realms fit in memory, 4 in the cores
        Assert.Equal(Math.Min(byMemory, 128 / 32), r.RealmsPerHost);
        Assert.Equal("cores", r.LimitedBy);
        Assert.Equal(r.RealmsPerHost * 20.0, r.TokensPerSecondPerHostNative, 9);
        Assert.Equal(12.0 / (r.TokensPerSecondPerHostNative * 3600) * 1e6, r.CostPerMillionTokensNative, 9);
        Assert.Equal(r.CostPerMillionTokensNative / 0.91, r.CostPerMillionTokensConfidential, 9);
        Assert.Equal(Evidence.Projected, r.TokensEvidence);
    }

    [Theory]
    [InlineData("cores", "cores 0")]
    [InlineData("price", "price per hour -1")]
    [InlineData("context", "llama-70b takes 1 to 8192 tokens")]
    [InlineData("dtype", "dtype 'fp8'")]
    public void Bad_inputs_are_refused_naming_the_field(string what, string message)
    {
        var i = Example();
        i = what switch
        {
            "cores" => i with { Host = i.Host with { Cores = 0 }, CoresPerRealm = 1 },
            "price" => i with { Host = i.Host with { PricePerHour = -1 } },
            "context" => i with { ContextTokens = 32768 },
            _ => i with { Dtype = "fp8" },
        };
        var e = Assert.Throws<ArgumentException>(() => TcoModel.Compute(i));
        Assert.Contains(message, e.Message);
    }
}
