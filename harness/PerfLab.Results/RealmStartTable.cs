using System.Globalization;
using PerfLab.Core.Results;

namespace PerfLab.Results;

/// <summary>One cell's start, medians over its ok launches (ms); null where the phase did not happen.</summary>
public sealed record RealmStart(string CellId, string Platform, string Weights, int Launches, IReadOnlyDictionary<Phase, double> Medians,
    double ColdStartMs, double? WarmStartMs)
{
    /// <summary>Each launch's cold start (ready + first token), in launch order: the spread a warm-pool simulation draws from.</summary>
    public IReadOnlyList<double> ColdStartsMs { get; init; } = [];
}

/// <summary>
/// From creation to the first token, per cell (the article's "end-to-end time from Realm creation to first token
/// generation, including attestation"): each lifecycle phase's median over the cell's launches, the cold start (launch
/// to ready, then the first token: measured on the host's clock), and the warm start a pre-booted, pre-attested Realm of
/// a warm pool would still have (derived: the load inside the Realm less its attestation, verification and first key
/// release — its key comes again from the broker's cached evidence, timed inside that load — then the first token).
/// </summary>
public static class RealmStartTable
{
    public static readonly IReadOnlyList<Phase> Shown =
        [Phase.Launch, Phase.Measure, Phase.Populate, Phase.Attest, Phase.Verify, Phase.KeyRelease, Phase.Decrypt, Phase.LoadInside, Phase.Ready, Phase.FirstToken];

    public static IReadOnlyList<RealmStart> For(RunData run)
    {
        var list = new List<RealmStart>();
        if (run.Manifest is null) return list;
        foreach (var cell in run.Cells)
        {
            var ok = run.Manifest.LaunchesByCell[cell.Id].Where(l => l.Status == "ok" && l.PhasesMs.Has(Phase.Ready) && l.PhasesMs.Has(Phase.FirstToken)).ToList();
            if (ok.Count == 0) continue;
            double? Median(Func<RealmPhases, double?> f)
            {
                var v = ok.Select(l => f(l.PhasesMs)).Where(x => x is not null).Select(x => x!.Value).Order().ToList();
                return v.Count == 0 ? null : v.Count % 2 == 1 ? v[v.Count / 2] : (v[v.Count / 2 - 1] + v[v.Count / 2]) / 2;
            }
            var medians = Shown.Select(p => (p, m: Median(x => x.Get(p)))).Where(x => x.m is not null).ToDictionary(x => x.p, x => x.m!.Value);
            var cold = Median(p => p[Phase.Ready] + p[Phase.FirstToken])!.Value;
            var warm = Median(p => p.Get(Phase.Verify) is null || p.Get(Phase.LoadInside) is not { } inside ? null
                : inside - (p.Get(Phase.Attest) ?? 0) - p[Phase.Verify] - (p.Get(Phase.KeyRelease) ?? 0) + p[Phase.FirstToken]);
            list.Add(new RealmStart(cell.Id, cell.Platform, cell.WorkloadParameters.GetValueOrDefault("weights", "plain"), ok.Count, medians, cold, warm)
            {
                ColdStartsMs = ok.Select(l => l.PhasesMs[Phase.Ready] + l.PhasesMs[Phase.FirstToken]).ToList(),
            });
        }
        return list;
    }

    public static readonly IReadOnlyList<string> Headers =
    [
        "cell", "weights", "launches", "launch", "measure", "populate", "attest", "verify", "key release", "decrypt (in populate)", "load inside",
        "ready", "first token", "cold start (min–max over launches)", "warm start (derived)", "evidence",
    ];

    public static IReadOnlyList<string[]> Rows(IReadOnlyList<RealmStart> cells, Func<string, string> evidenceOf) => cells.Select(s => (string[])
    [
        s.CellId, s.Weights, s.Launches.ToString(CultureInfo.InvariantCulture),
        .. Shown.Select(p => s.Medians.TryGetValue(p, out var v) ? Ms(v) : "–"),
        ColdWithRange(s), s.WarmStartMs is { } w ? Ms(w) : "–", evidenceOf(s.CellId),
    ]).ToList();

    // The spread beside the median: a cell's first launch is often the slow one (a cold page cache), and three launches
    // are too few for an interval to say more than their range does.
    private static string ColdWithRange(RealmStart s) =>
        s.ColdStartsMs.Count > 1 ? $"{Ms(s.ColdStartMs)} ({Ms(s.ColdStartsMs.Min())}–{Ms(s.ColdStartsMs.Max())})" : Ms(s.ColdStartMs);

    private static string Ms(double v) => v.ToString(v < 10 ? "0.0#" : "0", CultureInfo.InvariantCulture);
}
