using System.Globalization;
using System.Text;
using PerfLab.Core.Analysis;
using PerfLab.Results.Schema;

namespace PerfLab.Results;

/// <summary>A measured overhead against the baseline cell, in microseconds, with its interval.</summary>
public sealed record MeasuredOverhead(double Us, double LowerUs, double UpperUs, string Basis);

/// <summary>One Realm cell's overhead, term by term: counts summed over its ok launches, priced, beside what was measured.</summary>
/// <param name="Repriced">true when the prices are not the ones the cell ran with: every modelled figure is then projected</param>
/// <param name="Evidence">the cell's own evidence word, which its measured overhead carries (emulated on cca-emulated)</param>
public sealed record CellCosts(string CellId, string? BaselineCell, RealmPrices Prices, bool Repriced, RealmCounts Counts, int Launches,
    IReadOnlyList<CostTerm> Terms, IReadOnlyDictionary<string, MeasuredOverhead> Measured, string Evidence)
{
    /// <summary>What the modelled figures are: derived from measured counts and the cell's own prices, or projected under others.</summary>
    public string ModelledEvidence => Repriced ? "projected" : "derived";

    /// <summary>The confidence of the measured overheads' intervals: the run's (its suite's gate confidence).</summary>
    public double Confidence { get; init; } = 0.99;

    public double Modelled(string metric) => RealmCostModel.Total(Terms, metric);

    /// <summary>Measured − modelled: what the cost model does not capture (real mechanics, side effects, noise).</summary>
    public double? GapUs(string metric) => Measured.TryGetValue(metric, out var m) ? m.Us - Modelled(metric) : null;
}

/// <summary>
/// The decomposition of every Realm cell of a run that counted its events (Analysis.RealmCostModel), under the prices it
/// ran with or under another profile's: what `perflab project` prints and the report shows.
/// </summary>
public static class RealmCostTable
{
    public static readonly IReadOnlyList<string> Figures = ["ttft", "tpot", "latency"];

    /// <param name="prices">another profile's prices (a projection); null: each cell's own, from its effective settings</param>
    public static IReadOnlyList<CellCosts> For(RunData run, RealmPrices? prices = null)
    {
        var list = new List<CellCosts>();
        if (run.Manifest is null) return list;
        var byId = run.Cells.ToDictionary(c => c.Id);
        foreach (var launches in run.Manifest.LaunchesByCell)
        {
            var ok = launches.Where(l => l.Status == "ok").ToList();
            var counts = ok.Select(l => RealmCounts.FromSettings(Agent(l.EffectiveRealm)) is { } c ? WithLaunchFacts(c, l.EffectiveRealm) : null)
                .Where(c => c != null).Select(c => c!).ToList();
            if (counts.Count == 0 || !byId.TryGetValue(launches.Key, out var cell)) continue;
            var own = OwnPrices(ok[0].EffectiveRealm);
            var p = prices ?? own;
            if (p is null) continue;
            var total = counts.Aggregate((a, b) => a.Add(b));
            list.Add(new CellCosts(cell.Id, cell.BaselineCell, p, prices != null && prices != own, total, counts.Count,
                RealmCostModel.Decompose(total, p), MeasuredOf(cell, cell.BaselineCell is { } b ? byId.GetValueOrDefault(b) : null), cell.Evidence)
            { Confidence = run.GateConfidence ?? 0.99 });
        }
        return list;
    }

    /// <summary>What the host side of a launch recorded: how much of the Realm's memory huge pages backed and the attestation and
    /// key-release calls made (runs before these were counted: one attestation where one was recorded).</summary>
    private static RealmCounts WithLaunchFacts(RealmCounts c, Core.Results.EffectiveRealm e)
    {
        string? Get(string k) => e.Find(k);
        long Count(string k) => long.TryParse(Get(k), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0 ? n : 0;
        // The share of anonymous memory in huge pages at the end of the launch (smaps_rollup, recorded by the host).
        double Kb(string k) => double.TryParse(Get("smaps." + k + "_kb"), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= 0 ? v : double.NaN;
        var (anon, thp, tlb) = (Kb("Anonymous"), Kb("AnonHugePages"), Kb("Hugetlb"));
        double? share = double.IsFinite(anon + thp + tlb) && anon + tlb > 0 ? Math.Clamp((thp + tlb) / (anon + tlb), 0, 1) : null;
        var attest = Get("attestation_calls") is not null ? Count("attestation_calls") : Get("attestation") is not null ? 1 : 0;
        return c with { HugeShare = share, AttestationCalls = attest, KeyReleaseCalls = Count("key_release_calls") };
    }

    private static Dictionary<string, string> Agent(Core.Results.EffectiveRealm e) =>
        e.All.Where(kv => kv.Key.StartsWith("agent.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key["agent.".Length..], kv => kv.Value);

    /// <summary>The prices a cell ran with, from its recorded calibration (profile, source, and the costs the agent was given).</summary>
    public static RealmPrices? OwnPrices(Core.Results.EffectiveRealm e)
    {
        var name = e.Find("calibration_profile");
        var costs = e.Find("calibration_costs");
        if (name is null || costs is null) return null;
        var kv = costs.Split(',').Select(x => x.Split('=')).Where(x => x.Length == 2)
            .ToDictionary(x => x[0], x => double.TryParse(x[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : double.NaN);
        double Get(string k) => kv.GetValueOrDefault(k, double.NaN);
        double Opt(string k) => kv.TryGetValue(k, out var v) && v >= 0 ? v : 0;
        var p = new RealmPrices(name, e.Find("calibration_source") ?? "?", Get("exit_ns") / 1000, Get("rsi_ns") / 1000,
            Get("fault_ns") / 1000, Get("tick_hz"))
        {
            // Absent in runs before profiles named their granule: 4 KiB, one delegation a granule, unpriced.
            GranuleBytes = kv.TryGetValue("granule_bytes", out var g) && g >= 4096 ? (long)g : 4096,
            DelegateUs = kv.TryGetValue("delegate_ns", out var d) && d >= 0 ? d / 1000 : 0,
            DelegateBytes = kv.TryGetValue("delegate_bytes", out var db) && db >= 4096 ? (long)db : kv.TryGetValue("granule_bytes", out var g2) && g2 >= 4096 ? (long)g2 : 4096,
            // Absent in runs before these terms were priced: not priced.
            BounceGBps = Opt("bounce_mbps") / 1000, WalkNs = Opt("walk_ps") / 1000, AttestUs = Opt("attest_ns") / 1000, KeyReleaseUs = Opt("key_release_ns") / 1000,
        };
        return double.IsFinite(p.ExitUs + p.RsiCallUs + p.FaultUs + p.TickHz) ? p : null;
    }

    private static Dictionary<string, MeasuredOverhead> MeasuredOf(CellData cell, CellData? baseline)
    {
        var d = new Dictionary<string, MeasuredOverhead>();
        if (baseline?.Result?.Metrics is not { } bm) return d;
        foreach (var o in cell.Overheads)
        {
            if (!Figures.Contains(o.Metric) || !bm.TryGetValue(o.Metric, out var dist)) continue;
            var us = dist.Median.Value / 1000;   // ns → µs; the overhead is relative to the baseline's median
            d[o.Metric] = new MeasuredOverhead(us * o.Pct / 100, us * o.PctLower / 100, us * o.PctUpper / 100, o.Basis);
        }
        return d;
    }

    public static readonly IReadOnlyList<string> Headers = ["term", "count", "price µs", "TTFT µs", "TPOT µs", "latency µs", "launch ms", "evidence"];

    /// <summary>
    /// The rows of one cell's table, formatted once for every renderer (perflab project's Markdown, the report): each
    /// term, the modelled total, and — under the cell's own prices — its overhead against the baseline cell, with the
    /// cell's evidence word, and the gap. A projection is never set beside what was measured under other prices.
    /// </summary>
    public static IReadOnlyList<string[]> Rows(CellCosts c)
    {
        var ci = CultureInfo.InvariantCulture;
        var rows = c.Terms.Select(t => new[]
        {
            t.Term, t.Count.ToString(ci), t.PriceUs.ToString("0.###", ci), t.TtftUs.ToString("0.##", ci), t.TpotUs.ToString("0.###", ci),
            t.LatencyUs.ToString("0.##", ci), t.LaunchMs.ToString("0.###", ci), c.ModelledEvidence,
        }).ToList();
        rows.Add(["modelled total", "", "", c.Modelled("ttft").ToString("0.##", ci), c.Modelled("tpot").ToString("0.###", ci),
            c.Modelled("latency").ToString("0.##", ci), c.Terms.Sum(t => t.LaunchMs).ToString("0.###", ci), c.ModelledEvidence]);
        if (c.Repriced || c.Measured.Count == 0) return rows;
        string M(string f) => c.Measured.TryGetValue(f, out var m) ? string.Create(ci, $"{m.Us:0.##} [{m.LowerUs:0.##}, {m.UpperUs:0.##}]") : "–";
        string G(string f) => c.GapUs(f) is { } g ? string.Create(ci, $"{g:+0.##;-0.##;0}") : "–";
        rows.Add([string.Create(CultureInfo.InvariantCulture, $"overhead vs {c.BaselineCell}, {c.Confidence * 100:0.##} % interval over launches"), "", "", M("ttft"), M("tpot"), M("latency"), "", c.Evidence]);
        rows.Add(["gap: overhead − modelled (what the model does not capture)", "", "", G("ttft"), G("tpot"), G("latency"), "", ""]);
        return rows;
    }

    /// <summary>The line that says where a cell's prices and counts come from.</summary>
    public static string Caption(CellCosts c) => string.Create(CultureInfo.InvariantCulture,
        $"`{c.CellId}`: profile {c.Prices.Profile} ({(c.Repriced ? "re-priced, projected" : "the prices it ran with")}), from {c.Prices.Source}: " +
        $"exit {c.Prices.ExitUs:0.###} µs, RSI call {c.Prices.RsiCallUs:0.###} µs, stage-2 fault {c.Prices.FaultUs:0.###} µs, timer {c.Prices.TickHz:0.#} Hz, " +
        $"bounce copy {Priced(c.Prices.BounceGBps, "GB/s")}, stage-2 walk {Priced(c.Prices.WalkNs, "ns a page")}, attestation {Priced(c.Prices.AttestUs, "µs")}, " +
        $"key release {Priced(c.Prices.KeyReleaseUs, "µs")}. " +
        $"Counts (measured, {c.Launches} launch(es)): {c.Counts.Queries} queries, {c.Counts.Tokens} tokens.");

    private static string Priced(double v, string unit) => v > 0 ? string.Create(CultureInfo.InvariantCulture, $"{v:0.###} {unit}") : "not priced";

    public static string ToMarkdown(IReadOnlyList<CellCosts> cells)
    {
        var sb = new StringBuilder();
        foreach (var c in cells)
        {
            sb.AppendLine(Caption(c)).AppendLine();
            sb.AppendLine("| " + string.Join(" | ", Headers) + " |");
            sb.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---:|", Headers.Count - 2)) + "---|");
            foreach (var r in Rows(c)) sb.AppendLine("| " + string.Join(" | ", r) + " |");
            sb.AppendLine();
        }
        return sb.ToString();
    }
}
