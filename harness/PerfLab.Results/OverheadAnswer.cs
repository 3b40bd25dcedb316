using System.Globalization;
using PerfLab.Core.Analysis;
using PerfLab.Core.Gate;
using PerfLab.Core.Suites;
using PerfLab.Results.Schema;

namespace PerfLab.Results;

/// <summary>One knob's effect inside the Realm: two Realm cells that differ in that knob alone, compared over their launches.</summary>
/// <param name="Pct">change of the metric going <paramref name="From"/> → <paramref name="To"/> (negative: the knob bought time back)</param>
/// <param name="Confidence">this interval's own level: the run's, divided among the run's comparisons (Bonferroni)</param>
public sealed record KnobEffect(string Knob, string From, string To, string Metric, double Pct, double LowerPct, double UpperPct, string FromCell, string ToCell,
    double Confidence = 0.95);

/// <summary>The mission's question answered from one run: the Realm's overhead, the term that dominates it, what each knob bought back.</summary>
/// <param name="Scenario">the scenario the answer is about (single-stream when the run has it: one query at a time, no queueing)</param>
/// <param name="Reference">the Realm cell the headline quotes: the centre of the one-knob-at-a-time design</param>
public sealed record OverheadAnswerData(string Scenario, CellData Reference, IReadOnlyList<CellData> RealmCells, IReadOnlyList<KnobEffect> Knobs,
    CellCosts? Costs, IReadOnlyList<string> Sentences);

/// <summary>
/// Builds the few sentences a report opens with, from the run's own figures: every number is one of the run's overheads
/// (an interval over launches, the cell's evidence) or a comparison of two of its Realm cells over their launches
/// (LaunchComparer, the same statistic as the overheads), and the dominant term is from the cell's decomposition.
/// Null when the run has no Realm cell with overheads (a native-only suite): the report then has no answer to open with.
/// </summary>
public static class OverheadAnswer
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private static readonly string[] Headline = [Metrics.Ttft.Name, Metrics.Tpot.Name];

    /// <summary>The knobs compared inside the Realm, by the realm keys that name them.</summary>
    private static readonly (string Knob, string Key)[] KnobKeys = [("page size", "page_size"), ("RSI batch", "rsi_batch"), ("MPAM", "mpam")];

    public static OverheadAnswerData? For(RunData run)
    {
        bool IsRealm(CellData c) => c.Platform is "cca-emulated" or "cca";
        bool HasOverheads(CellData c) => Headline.All(m => c.Overheads.Any(o => o.Metric == m));
        var candidates = run.Cells.Where(c => IsRealm(c) && c.Status == "ok" && c.Capacity is null && HasOverheads(c)).ToList();
        if (candidates.Count == 0) return null;
        var scenario = candidates.Any(c => c.ScenarioKind == "single-stream") ? candidates.First(c => c.ScenarioKind == "single-stream").Scenario : candidates[0].Scenario;
        var realm = candidates.Where(c => c.Scenario == scenario).ToList();
        // Knobs compare Realm cells with each other: a cell without a native baseline (a neighbour's) still has its pair.
        var compared = run.Cells.Where(c => IsRealm(c) && c.Status == "ok" && c.Capacity is null && c.Scenario == scenario).ToList();
        var confidence = run.GateConfidence ?? 0.99;
        var knobs = Knobs(run, compared, confidence);
        // The reference is the design's centre: the Realm cell in the most one-knob pairs (ties: no neighbour, then suite
        // order). Not the cell with the smallest overhead: the least of several noisy estimates is biased low.
        var reference = realm.OrderByDescending(c => knobs.Count(k => k.FromCell == c.Id || k.ToCell == c.Id))
            .ThenBy(c => c.Setting("co_tenant") is "none" or "?" ? 0 : 1).ThenBy(c => Order(run, c)).First();
        var costs = RealmCostTable.For(run).FirstOrDefault(c => c.CellId == reference.Id);

        var s = new List<string>();
        var level = $"{confidence * 100:0.##} %";
        s.Add($"Inside the Realm (evidence: {reference.EvidenceLabel}), {scenario} TTFT is {Pct(Ttft(reference))} and TPOT {Pct(Tpot(reference))} over " +
              $"native ({Settings(reference)}; medians, intervals at {level} over {Launches(run, reference)} launches a side).");
        if (realm.Count > 1)
            s.Add($"Across the {realm.Count} Realm settings run with a native baseline, TTFT overhead ranges {Range(realm, Ttft)} and TPOT {Range(realm, Tpot)}.");
        if (costs != null && Dominant(costs) is { } dom) s.Add(dom);
        if (knobs.Count > 1)
            s.Add($"What each knob bought back, Realm against Realm ({knobs.Count} comparisons, each interval at {knobs[0].Confidence * 100:0.##} % so that " +
                  $"all hold together at {level}):");
        foreach (var g in knobs.GroupBy(k => (k.Knob, k.From, k.To)))
            s.Add($"{Cap(g.Key.Knob)} {g.Key.From} → {g.Key.To}: " + string.Join(", ", g.Select(k => $"{Upper(k.Metric)} {Change(k)}")) +
                  (Populate(run, g.First()) is { } populate ? $"; populating the weights {populate}" : "") + ".");
        if (Unsteady(run, compared) is { } unsteady) s.Add(unsteady);
        if (knobs.Count == 0 && compared.Count > 1)
            s.Add("No two Realm cells differ in one knob alone, so no knob's effect can be separated here.");
        return new OverheadAnswerData(scenario, reference, compared, knobs, costs, s);
    }

    /// <summary>
    /// Launches whose warm-up ended before the agent's memory stopped growing: their fault term is early life, not steady
    /// state, and the answer says how many there were.
    /// </summary>
    private static string? Unsteady(RunData run, IReadOnlyList<CellData> realm)
    {
        if (run.Manifest is null) return null;
        var byCell = run.Manifest.LaunchesByCell;
        var launches = realm.SelectMany(c => byCell[c.Id]).ToList();
        string? Steady(CellRecord l) => l.EffectiveRealm.Find("warmup_steady");
        int growing = launches.Count(l => Steady(l) == "false"), notChecked = launches.Count(l => Steady(l) == "unchecked");
        if (growing > 0)
            return $"In {growing} of {launches.Count} Realm launches the runtime's memory was still growing when the warm-up ended (warmup_max_s): " +
                   "their fault term is a Realm's early life, not its steady state.";
        return notChecked > 0
            ? $"The warm-up did not wait for the runtime's memory to settle ({notChecked} of {launches.Count} Realm launches; set warmup_max_s): " +
              "a fault term may be a Realm's early life rather than its steady state."
            : null;
    }

    private static Core.Results.Overhead Ttft(CellData c) => c.Overheads.First(o => o.Metric == Metrics.Ttft.Name);
    private static Core.Results.Overhead Tpot(CellData c) => c.Overheads.First(o => o.Metric == Metrics.Tpot.Name);

    private static string Pct(Core.Results.Overhead o) => $"{Signed(o.Pct)} [{Signed(o.PctLower)}, {Signed(o.PctUpper)}]";
    private static string Signed(double pct) => pct.ToString("+0.0;−0.0;0.0", Inv) + " %";
    private static string Upper(string metric) => metric.ToUpperInvariant();
    private static string Cap(string s) => char.ToUpperInvariant(s[0]) + s[1..];

    private static string Range(IReadOnlyList<CellData> cells, Func<CellData, Core.Results.Overhead> pick) =>
        $"{Signed(cells.Min(c => pick(c).Pct))} to {Signed(cells.Max(c => pick(c).Pct))}";

    private static string Settings(CellData c) =>
        string.Join(", ", new[] { "page_size", "rsi_batch", "mpam", "co_tenant" }.Where(k => c.Realm.ContainsKey(k)).Select(k => $"{k} {c.Setting(k)}"));

    private static int Launches(RunData run, CellData c) =>
        run.LaunchSamples.GetValueOrDefault(c.Id)?.GetValueOrDefault(Metrics.Tpot.Name)?.Count ?? 1;

    /// <summary>A change whose interval holds zero is not called a gain or a loss.</summary>
    private static string Change(KnobEffect k) => k.LowerPct <= 0 && k.UpperPct >= 0
        ? $"{Signed(k.Pct)} [{Signed(k.LowerPct)}, {Signed(k.UpperPct)}], no change resolved"
        : $"{Signed(k.Pct)} [{Signed(k.LowerPct)}, {Signed(k.UpperPct)}]";

    /// <summary>The term with the largest share of the modelled TPOT overhead, beside the measured overhead.</summary>
    private static string? Dominant(CellCosts c)
    {
        var modelled = c.Modelled(Metrics.Tpot.Name);
        if (modelled <= 0) return null;
        var top = c.Terms.MaxBy(t => t.TpotUs)!;
        var measured = c.Measured.TryGetValue(Metrics.Tpot.Name, out var m) ? $" (the measured overhead: {m.Us.ToString("0.##", Inv)} µs [{m.LowerUs.ToString("0.##", Inv)}, {m.UpperUs.ToString("0.##", Inv)}], {c.Evidence})" : "";
        return $"Of its modelled TPOT overhead, {modelled.ToString("0.##", Inv)} µs a token ({c.ModelledEvidence}: counts × prices of profile " +
               $"{c.Prices.Profile}), the largest term is {top.Term}, {top.TpotUs.ToString("0.##", Inv)} µs{measured}. The model's terms are means " +
               "over the window and the measured overhead is of medians: a term paid in bursts (faults, ticks) weighs in the mean and the tail, not the median.";
    }

    /// <summary>
    /// Pairs of Realm cells that differ in one knob alone, compared on TTFT and TPOT over their launches. The pair is
    /// oriented from the setting the suite lists first (4 KiB before 2 MiB, off before a reservation), so a negative change
    /// is time bought back.
    /// </summary>
    public static IReadOnlyList<KnobEffect> Knobs(RunData run, IReadOnlyList<CellData> realm, double confidence)
    {
        var pairs = new List<(string Knob, string Key, CellData A, CellData B, string Metric, List<double[]> From, List<double[]> To)>();
        foreach (var (knob, key) in KnobKeys)
        {
            foreach (var a in realm)
            foreach (var b in realm)
            {
                if (a.Id == b.Id || !a.Realm.ContainsKey(key) || a.Setting(key) == b.Setting(key)) continue;
                var others = a.Realm.Keys.Concat(b.Realm.Keys).Distinct().Where(k => k != key && k != "id");
                if (others.Any(k => a.Setting(k) != b.Setting(k))) continue;
                if (Order(run, a) > Order(run, b)) continue;
                foreach (var metric in Headline)
                {
                    var from = Launched(run, a, metric);
                    var to = Launched(run, b, metric);
                    if (from.Count > 0 && to.Count > 0) pairs.Add((knob, key, a, b, metric, from, to));
                }
            }
        }
        // Several knobs and figures are compared at once: at 95 % each, one in four runs of six comparisons would show a
        // change that is not there. Each interval is widened so that all of them hold together at the run's confidence.
        var each = pairs.Count > 1 ? 1 - (1 - confidence) / pairs.Count : confidence;
        var list = new List<KnobEffect>();
        foreach (var (knob, key, a, b, metric, from, to) in pairs)
        {
            var cmp = LaunchComparer.Compare(from, to, higherIsBetter: false, 1, each);
            if (double.IsNaN(cmp.Ratio)) continue;
            list.Add(new KnobEffect(knob, a.Setting(key), b.Setting(key), metric, cmp.EffectPct, (cmp.RatioLower - 1) * 100, (cmp.RatioUpper - 1) * 100, a.Id, b.Id, each));
        }
        return list;
    }

    private static int Order(RunData run, CellData c) => run.Cells.ToList().FindIndex(x => x.Id == c.Id);

    private static List<double[]> Launched(RunData run, CellData c, string metric) =>
        run.LaunchSamples.GetValueOrDefault(c.Id)?.GetValueOrDefault(metric)?.OrderBy(kv => kv.Key).Select(kv => kv.Value).Where(v => v.Length > 0).ToList() ?? [];

    /// <summary>The RSI batch acts where the weights cross into the Realm: the two cells' populate phases, measured.</summary>
    private static string? Populate(RunData run, KnobEffect k)
    {
        if (k.Knob != "RSI batch") return null;
        var from = run.Cells.First(c => c.Id == k.FromCell).PhasesMs;
        var to = run.Cells.First(c => c.Id == k.ToCell).PhasesMs;
        var p = Core.Results.Phase.Populate;
        return from.Has(p) && to.Has(p) ? $"{from[p].ToString("0.#", Inv)} → {to[p].ToString("0.#", Inv)} ms (measured, median of the launches)" : null;
    }
}
