using PerfLab.Core.Analysis;

namespace PerfLab.Core.Tests.Analysis;

/// <summary>The cost model's arithmetic on counts given by hand: where each counted event lands and what it costs.</summary>
public class RealmCostModelTests
{
    private static readonly RealmPrices Prices = new("p", "a test", ExitUs: 10, RsiCallUs: 2, FaultUs: 3, TickHz: 250);

    [Fact]
    public void Each_term_lands_where_the_agent_pays_it()
    {
        // 100 queries of 16 tokens: 1500 decode tokens; 90 ticks (20 of them before first tokens), 300 faults, 50 RSI calls at load.
        var c = new RealmCounts(Queries: 100, Tokens: 1600, QueryExits: 100, FirstTokenExits: 100, AnswerExits: 100, TimerTicks: 90,
            Stage2Faults: 300, RsiCalls: 50) { TicksBeforeFirstToken = 20 };
        var terms = RealmCostModel.Decompose(c, Prices);
        Assert.Equal(20 + 20 * 10 / 100.0, RealmCostModel.Total(terms, "ttft"), 9);        // 2 exits and 0.2 ticks before the first token
        Assert.Equal((100 * 10 + 70 * 10 + 300 * 3) / 1500.0, RealmCostModel.Total(terms, "tpot"), 9);
        Assert.Equal((300 * 10 + 90 * 10 + 300 * 3) / 100.0, RealmCostModel.Total(terms, "latency"), 9);
        Assert.Equal(0.1, terms.Sum(t => t.LaunchMs), 9);                                  // 50 calls × 2 µs
        Assert.Contains(terms, t => t.Term.Contains("250 Hz before") && t.Count == 20);
        Assert.Contains(terms, t => t.Term.Contains("250 Hz after") && t.Count == 70);
        Assert.Throws<ArgumentOutOfRangeException>(() => RealmCostModel.Total(terms, "throughput"));
    }

    [Fact]
    public void Bounce_copies_translation_and_attestation_are_priced_where_they_land_and_unpriced_terms_keep_their_counts()
    {
        // 10 queries of 11 tokens (100 decode tokens); 10 KiB in, 20 KiB out; 4 MiB streamed a token; 2 launches with
        // 2 attestations and 1 key release; 8 MiB of payload.
        var c = new RealmCounts(10, 110, 10, 10, 10, 0, 0, 0)
        {
            IoBytesIn = 10 * 1024, IoBytesOut = 20 * 1024, StreamedBytesPerToken = 4 << 20, HugeShare = 0, PayloadBytes = 8 << 20,
            AttestationCalls = 2, KeyReleaseCalls = 1, Launches = 2,
        };
        var unpriced = RealmCostModel.Decompose(c, Prices);
        var added = unpriced.Where(t => t.Counted is "KiB" or "pages" || t.Term.StartsWith("attestation") || t.Term.StartsWith("key")).ToList();
        Assert.Equal(5, added.Count);
        Assert.All(added, t => Assert.Equal(0, t.TtftUs + t.TpotUs + t.LatencyUs + t.LaunchMs));
        var translation = unpriced.Single(t => t.Counted == "pages");
        Assert.Equal(1024 * 110, translation.Count);  // 1024 4 KiB pages a token, prefill's pass and each decode token's
        Assert.Contains("1024 for 4 MiB streamed, 0 % in 2 MiB pages", translation.Term);
        Assert.Equal(2, unpriced.Single(t => t.Term.StartsWith("attestation")).Count);

        var p = Prices with { ExitUs = 0, RsiCallUs = 0, FaultUs = 0, BounceGBps = 10.24, WalkNs = 10, AttestUs = 1000, KeyReleaseUs = 4000 };
        var terms = RealmCostModel.Decompose(c, p);
        // A KiB at 10.24 GB/s is 0.1 µs: 1 KiB in a query before its first token, 2 KiB out over its 10 decode tokens.
        Assert.Equal(0.1 + 1024 * 0.01, RealmCostModel.Total(terms, "ttft"), 9);
        Assert.Equal(0.02 + 1024 * 0.01, RealmCostModel.Total(terms, "tpot"), 9);
        // Launch terms per launch: 8 MiB of payload copied once more (0.8192 ms over 2 launches), 2 × 1 ms attestation, 4 ms key release.
        Assert.Equal((8192 * 0.1 / 1000 + 2 * 1 + 4) / 2, terms.Sum(t => t.LaunchMs), 9);

        // Huge pages cut the pages a token touches: all of it in 2 MiB pages is 2, half of it 1 + 512.
        Assert.Equal(2, (c with { HugeShare = 1 }).PagesPerToken);
        Assert.Equal(1 + 512, (c with { HugeShare = 0.5 }).PagesPerToken);
        Assert.Equal(0, (c with { HugeShare = null }).PagesPerToken); // not recorded: not invented
    }

    [Fact]
    public void Counts_read_back_from_settings_and_add_up_and_a_missing_count_is_none()
    {
        var c = new RealmCounts(3, 48, 3, 3, 3, 2, 7, 0) { TicksBeforeFirstToken = 1 };
        var settings = c.ToStats().ToDictionary(kv => kv.Key, kv => kv.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(c, RealmCounts.FromSettings(settings));
        Assert.Equal(c with { Queries = 6, Tokens = 96, QueryExits = 6, FirstTokenExits = 6, AnswerExits = 6, TimerTicks = 4, Stage2Faults = 14, TicksBeforeFirstToken = 2, Launches = 2 },
            c.Add(c));
        // A run from before ticks were split paid them all at completion: none before the first token.
        settings.Remove("realm_timer_ticks_first_token");
        Assert.Equal(0, RealmCounts.FromSettings(settings)!.TicksBeforeFirstToken);
        settings.Remove("realm_timer_ticks");
        Assert.Null(RealmCounts.FromSettings(settings));
        Assert.Null(RealmCounts.FromSettings(new Dictionary<string, string>(c.ToStats().ToDictionary(kv => kv.Key, _ => "-1"))));
        // No queries served: no per-query or per-token figure is invented.
        var idle = RealmCostModel.Decompose(new RealmCounts(0, 0, 0, 0, 0, 0, 0, 5), Prices);
        Assert.Equal(0, RealmCostModel.Total(idle, "tpot"));
        Assert.Equal(0.01, idle.Sum(t => t.LaunchMs), 9);
    }

    [Fact]
    public void A_profile_with_larger_granules_and_range_delegation_reprices_the_same_counts_and_says_how()
    {
        // Two launches: 1600 faults counted in 4 KiB granules, 64 MiB of payload each, 100 RSI calls each.
        var c = new RealmCounts(Queries: 100, Tokens: 1600, QueryExits: 100, FirstTokenExits: 100, AnswerExits: 100, TimerTicks: 0,
            Stage2Faults: 1600, RsiCalls: 200) { PayloadBytes = 2 * (64L << 20), Launches = 2 };
        var v1 = Prices with { DelegateUs = 2, GranuleBytes = 4096, DelegateBytes = 4096 };
        var v2 = Prices with { DelegateUs = 2, GranuleBytes = 65536, DelegateBytes = 2 << 20 };

        var t1 = RealmCostModel.Decompose(c, v1);
        var t2 = RealmCostModel.Decompose(c, v2);
        var f1 = t1.Single(t => t.Counted == "faults");
        var f2 = t2.Single(t => t.Counted == "faults");
        Assert.Equal(1600, f1.Count);
        Assert.Equal(100, f2.Count);                                   // the same growth in 64 KiB granules: 16 times fewer
        Assert.Contains("derived from 1600 counted at 4 KiB", f2.Term);
        Assert.Equal(f1.TpotUs / 16, f2.TpotUs, 9);
        // Delegation per launch: 64 MiB in 4 KiB calls (16384 × 2 µs = 32.8 ms) or in 2 MiB calls (32 × 2 µs).
        Assert.Equal(32.768, t1.Single(t => t.Term.StartsWith("granule delegation")).LaunchMs, 9);
        Assert.Equal(0.064, t2.Single(t => t.Term.StartsWith("granule delegation")).LaunchMs, 9);
        Assert.Equal(0.2, t1.Single(t => t.Term.StartsWith("RSI calls")).LaunchMs, 9);     // 100 calls a launch × 2 µs
        // Exits do not depend on the ABI's memory shape.
        Assert.Equal(RealmCostModel.Total(t1, "ttft"), RealmCostModel.Total(t2, "ttft"), 9);
    }

    [Fact]
    public void Scaled_to_a_70B_model_the_ticks_follow_its_TPOT_and_the_faults_its_KV_growth_in_the_profile_granules()
    {
        var run = new RealmCounts(Queries: 100, Tokens: 2500, QueryExits: 100, FirstTokenExits: 100, AnswerExits: 100, TimerTicks: 0, Stage2Faults: 0, RsiCalls: 0);
        var p4k = new RealmPrices("v1", "a test", ExitUs: 24.6, RsiCallUs: 2.8, FaultUs: 4.216, TickHz: 250);
        var p64k = p4k with { GranuleBytes = 65536 };
        var model = PerfLab.Core.Tco.ModelDescription.Known["llama-70b"];
        var a = RealmScalingModel.Project(run, p4k, model, "bf16", 460, 1024);
        var b = RealmScalingModel.Project(run, p64k, model, "bf16", 460, 1024);
        // Native TPOT: (70e9 × 2 B + 2·80·8·128·1024·2 B) ÷ 460 GB/s.
        var native = (140e9 + 2.0 * 80 * 8 * 128 * 1024 * 2) / 460e9 * 1e6;
        Assert.Equal(native, a.NativeTpotUs, 6);
        Assert.Equal(native * 1e-6 * 250 * 24.6, a.Terms[0].TpotUs, 6);               // ticks: ~0.6 % of TPOT whatever the model
        Assert.Equal(100.0 / 2400 * 24.6, a.Terms[1].TpotUs, 9);                        // the run's answer exits per decode token
        Assert.Equal(2.0 * 80 * 8 * 128 * 2 / 4096 * 4.216, a.Terms[2].TpotUs, 9);        // 320 KiB of KV a token: 80 granules of 4 KiB
        Assert.Equal(a.Terms[2].TpotUs / 16, b.Terms[2].TpotUs, 9);                      // ...5 of 64 KiB
        Assert.Equal(a.Terms[0].TpotUs, b.Terms[0].TpotUs, 9);
        Assert.InRange(a.OverheadPct, 0.6, 0.8);
        Assert.Throws<ArgumentException>(() => RealmScalingModel.Project(run, p4k, model, "fp8", 460, 1024));
        Assert.Throws<ArgumentException>(() => RealmScalingModel.Project(run, p4k, model, "bf16", 0, 1024));
    }
}
