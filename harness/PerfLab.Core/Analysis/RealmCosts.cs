using System.Globalization;

namespace PerfLab.Core.Analysis;

/// <summary>
/// What drives a Realm's cost, counted inside the Realm (the agent) during one launch's load: the exits it made by cause,
/// the timer ticks it would exit for, its stage-2 faults (first touch of a granule after load), its RSI calls (payload
/// chunks over the shared buffer, at load) and the queries and tokens they served. Counts are measurements whatever the
/// platform: on cca-emulated they are the events the agent paid for, on a real Realm the ones it made.
/// </summary>
public sealed record RealmCounts(long Queries, long Tokens, long QueryExits, long FirstTokenExits, long AnswerExits, long TimerTicks,
    long Stage2Faults, long RsiCalls)
{
    /// <summary>The agent's stats keys, as recorded in a cell's effective settings (source "agent").</summary>
    public static readonly IReadOnlyList<string> Keys =
        ["realm_queries", "realm_tokens", "realm_exits_query", "realm_exits_first_token", "realm_exits_answer", "realm_timer_ticks", "realm_stage2_faults", "realm_rsi_calls"];

    /// <summary>Of the timer ticks, those that fell due before a query's first token (TTFT's share); the rest after it.</summary>
    public long TicksBeforeFirstToken { get; init; }

    private const string TicksBeforeKey = "realm_timer_ticks_first_token";

    /// <summary>The stage-2 granule the faults were counted in (the profile's when the Realm ran; 4 KiB in older runs).</summary>
    public long FaultGranuleBytes { get; init; } = 4096;
    public const string GranuleKey = "fault_granule_bytes";

    /// <summary>Launches these counts were summed over: launch terms (RSI calls, delegation) are per launch.</summary>
    public int Launches { get; init; } = 1;

    /// <summary>Bytes populated into the Realm at load (the payload the agent received): what granule delegation covers,
    /// and what crosses the shared (bounce) buffer before the first query.</summary>
    public long PayloadBytes { get; init; }
    private const string PayloadKey = "payload_bytes_received";

    /// <summary>Bytes of queries in and of first tokens and answers out that crossed the Realm's boundary in the measured
    /// window: each is copied through shared memory (a bounce buffer) in a Realm. The lab's channel carries ids and
    /// counts, not text, so a server's prompts and streamed answers would be larger; the count is what crossed here.</summary>
    public long IoBytesIn { get; init; }
    public long IoBytesOut { get; init; }
    public const string IoInKey = "realm_io_bytes_in", IoOutKey = "realm_io_bytes_out";

    /// <summary>Bytes of weights (and KV) the engine reads for one decode token (the LLM engine's count; 0 for other
    /// workloads): with the page size obtained, the pages one token touches — the input of the translation term.</summary>
    public long StreamedBytesPerToken { get; init; }
    private const string StreamedKey = "llm.streamed_bytes_per_token";

    /// <summary>The share of the Realm's anonymous memory (where the engine keeps its weights and KV) that 2 MiB pages
    /// backed, from its smaps at the end of the launch (THP or hugetlb); the rest is in 4 KiB pages. Null when not recorded.</summary>
    public double? HugeShare { get; init; }

    /// <summary>Attestation-token requests and key releases made in the launches (launch terms).</summary>
    public long AttestationCalls { get; init; }
    public long KeyReleaseCalls { get; init; }

    /// <summary>Pages one decode token touches: its streamed bytes, the huge share in 2 MiB pages and the rest in 4 KiB
    /// (0 when either is unknown). Assumes the weights are spread over huge and small pages as the memory is.</summary>
    public long PagesPerToken
    {
        get
        {
            if (StreamedBytesPerToken <= 0 || HugeShare is not { } h) return 0;
            var huge = StreamedBytesPerToken * h;
            return (long)Math.Ceiling(huge / (2 * Units.Bytes.MiB)) + (long)Math.Ceiling((StreamedBytesPerToken - huge) / 4096);
        }
    }

    public IReadOnlyDictionary<string, long> ToStats() => new Dictionary<string, long>
    {
        [Keys[0]] = Queries, [Keys[1]] = Tokens, [Keys[2]] = QueryExits, [Keys[3]] = FirstTokenExits, [Keys[4]] = AnswerExits,
        [Keys[5]] = TimerTicks, [Keys[6]] = Stage2Faults, [Keys[7]] = RsiCalls, [TicksBeforeKey] = TicksBeforeFirstToken,
        [GranuleKey] = FaultGranuleBytes, [IoInKey] = IoBytesIn, [IoOutKey] = IoBytesOut,
    };

    /// <summary>The counts in one launch's agent settings, or null when the agent counted none (not a Realm cell, or an older run).</summary>
    public static RealmCounts? FromSettings(IReadOnlyDictionary<string, string> settings)
    {
        var v = new long[Keys.Count];
        for (var i = 0; i < Keys.Count; i++)
        {
            if (!settings.TryGetValue(Keys[i], out var s) || !long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out v[i]) || v[i] < 0)
                return null;
        }
        // Absent in runs before ticks were paid at the first token: all their ticks were paid at completion.
        var before = settings.TryGetValue(TicksBeforeKey, out var b) && long.TryParse(b, NumberStyles.Integer, CultureInfo.InvariantCulture, out var t) && t >= 0 && t <= v[5] ? t : 0;
        long Optional(string key, long fallback) => settings.TryGetValue(key, out var x) && long.TryParse(x, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : fallback;
        return new RealmCounts(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7])
        {
            TicksBeforeFirstToken = before, FaultGranuleBytes = Optional(GranuleKey, 4096), PayloadBytes = Optional(PayloadKey, 0),
            IoBytesIn = Optional(IoInKey, 0), IoBytesOut = Optional(IoOutKey, 0), StreamedBytesPerToken = Optional(StreamedKey, 0),
        };
    }

    public RealmCounts Add(RealmCounts o) => new(Queries + o.Queries, Tokens + o.Tokens, QueryExits + o.QueryExits, FirstTokenExits + o.FirstTokenExits,
        AnswerExits + o.AnswerExits, TimerTicks + o.TimerTicks, Stage2Faults + o.Stage2Faults, RsiCalls + o.RsiCalls)
    {
        TicksBeforeFirstToken = TicksBeforeFirstToken + o.TicksBeforeFirstToken, FaultGranuleBytes = FaultGranuleBytes, PayloadBytes = PayloadBytes + o.PayloadBytes,
        Launches = Launches + o.Launches, IoBytesIn = IoBytesIn + o.IoBytesIn, IoBytesOut = IoBytesOut + o.IoBytesOut,
        AttestationCalls = AttestationCalls + o.AttestationCalls, KeyReleaseCalls = KeyReleaseCalls + o.KeyReleaseCalls,
        // Per-token and per-page figures describe the cell, not a launch: the same model and page policy in each.
        StreamedBytesPerToken = Math.Max(StreamedBytesPerToken, o.StreamedBytesPerToken),
        HugeShare = HugeShare is { } a && o.HugeShare is { } b ? (a * Launches + b * o.Launches) / (Launches + o.Launches) : HugeShare ?? o.HugeShare,
    };

    /// <summary>Tokens after each query's first: what TPOT divides by.</summary>
    public long DecodeTokens => Math.Max(0, Tokens - Queries);
}

/// <summary>The price of each counted event, from a named calibration profile, with where the prices come from.</summary>
public sealed record RealmPrices(string Profile, string Source, double ExitUs, double RsiCallUs, double FaultUs, double TickHz)
{
    /// <summary>The stage-2 granule: a fault maps one (RMM v1.0: 4 KiB; RMM v2.0: the host's page size).</summary>
    public long GranuleBytes { get; init; } = 4096;

    /// <summary>The price of one granule-delegation call at populate (0: not priced).</summary>
    public double DelegateUs { get; init; }

    /// <summary>Bytes one delegation call covers: one granule (RMM v1.0, RMI_GRANULE_DELEGATE) or a range (v2.0, RMI_GRANULE_RANGE_DELEGATE).</summary>
    public long DelegateBytes { get; init; } = 4096;

    /// <summary>Copy bandwidth of the bounce buffer, GB/s: every byte across the boundary is copied once more (0: not priced).</summary>
    public double BounceGBps { get; init; }

    /// <summary>What a page touched costs in translation beyond native, ns: the stage-2 part of a TLB miss's walk, one
    /// miss a page a token assumed (0: not priced).</summary>
    public double WalkNs { get; init; }

    /// <summary>An attestation-token request (RSI_ATTESTATION_TOKEN_INIT/CONTINUE to a signed token) and a key release
    /// (the round trip that trades the token for a key), µs (0: not priced).</summary>
    public double AttestUs { get; init; }
    public double KeyReleaseUs { get; init; }
}

/// <summary>
/// One term of a Realm's overhead: what was counted, its price, and what it adds to a query's time to first token, to
/// each decode token (TPOT) and to a query's latency, in microseconds (launch terms in LaunchMs instead).
/// </summary>
public sealed record CostTerm(string Term, string Counted, long Count, string Per, double PriceUs, double TtftUs, double TpotUs, double LatencyUs, double LaunchMs);

/// <summary>
/// Prices a launch's counts. Where each event lands follows the agent's timeline: the exit for a query's arrival, the one
/// for its first token and the timer ticks that fell due before it come before the first token (TTFT); the exit for its
/// answer, the ticks after the first token and the faults charged when it completes come in the decode span that TPOT
/// divides by (tokens − 1 per query). RSI calls and granule delegations happen
/// while the payload loads, before any query: launch terms, per launch, as are the payload's bounce copy, attestation and
/// key release. A query's bytes in are copied before its first token, its bytes out over its decode span; the pages a
/// token touches are walked once by prefill (TTFT) and once by each decode token (TPOT). Per-query and per-token figures are means over the launch
/// (totals divided by queries or decode tokens), to set beside measured medians; that difference is part of the gap.
/// </summary>
public static class RealmCostModel
{
    public static IReadOnlyList<CostTerm> Decompose(RealmCounts c, RealmPrices p)
    {
        double perQuery = c.Queries > 0 ? 1.0 / c.Queries : 0, perToken = c.DecodeTokens > 0 ? 1.0 / c.DecodeTokens : 0;
        var inExits = c.QueryExits + c.FirstTokenExits;
        var ticksAfter = c.TimerTicks - c.TicksBeforeFirstToken;
        var tickBeforeCost = c.TicksBeforeFirstToken * p.ExitUs;
        var tickCost = ticksAfter * p.ExitUs;
        var hz = p.TickHz.ToString("0.#", CultureInfo.InvariantCulture);
        // Faults counted in one granule, priced in another: growth of the same memory touches G/g times fewer granules
        // of size G than of g (first touches fill whole granules); the count is then derived, and says so.
        var faults = c.FaultGranuleBytes == p.GranuleBytes ? c.Stage2Faults : (long)Math.Ceiling(c.Stage2Faults * (double)c.FaultGranuleBytes / p.GranuleBytes);
        var faultCost = faults * p.FaultUs;
        var delegations = c.PayloadBytes > 0 ? (long)Math.Ceiling(c.PayloadBytes / (double)Math.Max(p.GranuleBytes, p.DelegateBytes)) : 0;
        var answerCost = c.AnswerExits * p.ExitUs;
        // A byte through the bounce buffer costs one more copy; priced per KiB so the price column reads.
        var kibUs = p.BounceGBps > 0 ? 1.024 / p.BounceGBps : 0;
        double KiB(long bytes) => bytes / 1024.0;
        var inCost = KiB(c.IoBytesIn) * kibUs;
        var outCost = KiB(c.IoBytesOut) * kibUs;
        // Prefill reads the weights once per query (TTFT), each decode token once more (TPOT).
        var pages = c.PagesPerToken;
        var walkUs = p.WalkNs / 1000;
        var share = c.HugeShare is { } h ? string.Create(CultureInfo.InvariantCulture, $"{h * 100:0} % in 2 MiB pages") : "page sizes not recorded";
        return
        [
            new("exits: query in, first token out", "exits", inExits, "query", p.ExitUs, inExits * p.ExitUs * perQuery, 0, inExits * p.ExitUs * perQuery, 0),
            new("exits: answer out", "exits", c.AnswerExits, "query", p.ExitUs, 0, answerCost * perToken, answerCost * perQuery, 0),
            new($"exits: timer ticks at {hz} Hz before the first token", "ticks", c.TicksBeforeFirstToken, "query", p.ExitUs,
                tickBeforeCost * perQuery, 0, tickBeforeCost * perQuery, 0),
            new($"exits: timer ticks at {hz} Hz after it", "ticks", ticksAfter, "token", p.ExitUs, 0, tickCost * perToken, tickCost * perQuery, 0),
            new($"stage-2 faults ({new Units.Bytes(p.GranuleBytes)} granules first touched after load" +
                (c.FaultGranuleBytes == p.GranuleBytes ? ")" : $"; derived from {c.Stage2Faults} counted at {new Units.Bytes(c.FaultGranuleBytes)})"),
                "faults", faults, "token", p.FaultUs, 0, faultCost * perToken, faultCost * perQuery, 0),
            new("RSI calls (payload chunks over the shared buffer)", "calls", c.RsiCalls, "launch", p.RsiCallUs, 0, 0, 0, c.RsiCalls * p.RsiCallUs / 1000 / c.Launches),
            new($"granule delegation at populate ({new Units.Bytes(Math.Max(p.GranuleBytes, p.DelegateBytes))} a call over " +
                string.Create(CultureInfo.InvariantCulture, $"{c.PayloadBytes / (double)Units.Bytes.MiB / c.Launches:0.#} MiB of payload a launch)"),
                "calls", delegations, "launch", p.DelegateUs, 0, 0, 0, delegations * p.DelegateUs / 1000 / c.Launches),
            new("bounce copies: query bytes in, token and answer bytes out (KiB)", "KiB", (long)Math.Ceiling(KiB(c.IoBytesIn + c.IoBytesOut)), "query",
                kibUs, inCost * perQuery, outCost * perToken, (inCost + outCost) * perQuery, 0),
            new("bounce copies at populate: the payload through the shared buffer (KiB)", "KiB", (long)Math.Ceiling(KiB(c.PayloadBytes)), "launch",
                kibUs, 0, 0, 0, KiB(c.PayloadBytes) * kibUs / 1000 / c.Launches),
            new("translation: pages touched a token (" +
                string.Create(CultureInfo.InvariantCulture, $"{pages} for {c.StreamedBytesPerToken / (double)Units.Bytes.MiB:0.##} MiB streamed, {share}; derived)"),
                "pages", pages * (c.DecodeTokens + c.Queries), "token", walkUs, pages * walkUs, pages * walkUs,
                c.Queries > 0 ? pages * walkUs * (c.DecodeTokens + c.Queries) / c.Queries : 0, 0),
            new("attestation: token requests", "calls", c.AttestationCalls, "launch", p.AttestUs, 0, 0, 0, c.AttestationCalls * p.AttestUs / 1000 / c.Launches),
            new("key release", "calls", c.KeyReleaseCalls, "launch", p.KeyReleaseUs, 0, 0, 0, c.KeyReleaseCalls * p.KeyReleaseUs / 1000 / c.Launches),
        ];
    }

    /// <summary>The modelled total of a decomposition on one figure (ttft, tpot, latency), in microseconds.</summary>
    public static double Total(IReadOnlyList<CostTerm> terms, string metric) => metric switch
    {
        "ttft" => terms.Sum(t => t.TtftUs),
        "tpot" => terms.Sum(t => t.TpotUs),
        "latency" => terms.Sum(t => t.LatencyUs),
        _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, "ttft, tpot or latency"),
    };
}
