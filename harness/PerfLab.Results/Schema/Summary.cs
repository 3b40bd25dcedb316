using PerfLab.Core.Analysis;
using PerfLab.Core.Results;
using PerfLab.Core.Suites;
using PerfLab.Core.Units;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Statistics;

namespace PerfLab.Results.Schema;

/// <summary>A cell's analysis as summary.json records it.</summary>
public sealed record CellResultData(
    string Validity, IReadOnlyList<string>? Reasons, bool Compliant, string? NonCompliantReason, long QueriesIssued, long QueriesCompleted,
    double DurationS, double QueriesPerS, double TokensPerS, double? EarlyStoppingPercentile, double? EarlyStoppingLatencyNs,
    IReadOnlyList<EarlyStoppingResult>? EarlyStopping, IReadOnlyDictionary<string, DistributionSummary>? Metrics)
{
    /// <summary>Queries that failed alone, and how many for each reason (absent when none failed).</summary>
    public long QueriesFailed { get; init; }
    public IReadOnlyDictionary<string, int>? FailureReasons { get; init; }
    /// <summary>Queries served within every limit (TTFT, TPOT, latency), their share and rate; absent without limits.</summary>
    public Goodput? Goodput { get; init; }
    /// <summary>Set when the load generator fell behind a server scenario's schedule (ScenarioAnalysis.ScheduleNote).</summary>
    public string? ScheduleNote { get; init; }

    public static CellResultData Of(ScenarioAnalysis a) => new(a.Validity.Word, a.Validity.Reasons, a.Validity.Compliant,
        a.Validity.NonCompliantReason, a.QueriesIssued, a.QueriesCompleted, a.DurationS, a.QueriesPerSecond, a.TokensPerSecond,
        a.Percentile, a.EarlyStoppingPercentileNs, a.EarlyStopping, a.Distributions)
    {
        QueriesFailed = a.Failures.Count,
        FailureReasons = a.Failures.Count == 0 ? null : a.Failures.ByReason.ToDictionary(r => r.Reason, r => r.Count),
        Goodput = a.Goodput, ScheduleNote = a.ScheduleNote,
    };
}

/// <summary>One cell of summary.json: what it was, how it ended, its figures, its overheads and its capacity.</summary>
public sealed record CellSummary(
    string Id, string Workload, string Scenario, string ScenarioKind, string Platform, string RealmId, string Evidence, string Status,
    string? Reason, string? BaselineCell, bool IsBaseline, RealmPhases? PhasesMs, double? HostCpuUsPerQuery, CellResultData? Result,
    IReadOnlyList<Overhead>? Overheads, CapacityResult? Capacity)
{
    public Interference? Interference { get; init; }
    /// <summary>Where an emulated figure's costs come from (its calibration profile); null for measured cells.</summary>
    public string? EvidenceSource { get; init; }
    /// <summary>"host busy: …" when other work on the host exceeded the bound during the cell: reported, never judged.</summary>
    public string? Disturbed { get; init; }
    /// <summary>Every launch: its status, verdict, host and medians (absent before schema 3).</summary>
    public IReadOnlyList<LaunchSummary>? Launches { get; init; }
    /// <summary>Per metric, the spread within launches and between them.</summary>
    public IReadOnlyDictionary<string, LaunchSpread>? Spread { get; init; }
    /// <summary>What the metrics' intervals are over: launches, or the queries of one launch.</summary>
    public IntervalBasis? IntervalBasis { get; init; }
    /// <summary>A search cell's capacity in each launch, with its interval over launches.</summary>
    public CapacityOverLaunches? CapacitySpread { get; init; }

    public static CellSummary Of(CellResult c) => new(c.Cell.Id, c.Cell.Workload.Name, c.Cell.Scenario.Name, c.Cell.Scenario.Kind.Name(),
        c.Cell.Realm.Platform.Name(), c.Cell.Realm.Id, c.Evidence.Name(), c.StatusWord, c.Reason, c.Cell.BaselineId, c.Cell.IsBaseline,
        c.PhasesMs, c.HostCpuUsPerQuery, c.Analysis is { } a ? CellResultData.Of(a) : null, c.Overheads, c.Capacity)
    {
        Interference = c.Interference, Disturbed = c.Disturbed, EvidenceSource = c.EvidenceSource,
        Launches = c.LaunchList, Spread = c.Spread.Count == 0 ? null : c.Spread, IntervalBasis = c.IntervalBasis, CapacitySpread = c.CapacitySpread,
    };
}

/// <summary>summary.json: every cell's summary, under the schema version and the run's id.</summary>
public sealed record SummaryDocument(int Schema, string RunId, string Suite, IReadOnlyList<CellSummary> Cells);

/// <summary>Flattens cell results into summary.csv rows and summary.json objects: one place decides both.</summary>
public static class SummaryRows
{
    public static IEnumerable<SummaryRow> From(IEnumerable<CellResult> cells)
    {
        foreach (var c in cells)
        {
            SummaryRow Base() => new()
            {
                Cell = c.Cell.Id, Workload = c.Cell.Workload.Name, Scenario = c.Cell.Scenario.Name, Platform = c.Cell.Realm.Platform.Name(),
                PageSize = c.Cell.Realm.PageSize.ToShort(), HugeBacking = c.Cell.Realm.Backing.Name(), RsiBatch = c.Cell.Realm.RsiBatch.ToShort(),
                Mpam = c.Cell.Realm.Mpam.ToShort(), Vcpus = c.Cell.Realm.Vcpus, Pinning = c.Cell.Realm.Pinning.ToShort(),
                Evidence = c.Evidence.Name(), EvidenceSource = c.EvidenceSource ?? "", Status = c.StatusWord, Result = c.Analysis?.Validity.Word ?? "", BaselineCell = c.Cell.BaselineId ?? "",
                Reason = c.Reason ?? string.Join("; ", c.Analysis?.Validity.Reasons ?? []),
                QueriesPerSecond = c.Analysis?.QueriesPerSecond ?? 0, TokensPerSecond = c.Analysis?.TokensPerSecond ?? 0,
                QueriesFailed = c.Analysis?.Failures.Count ?? 0, GoodputPerSecond = c.Analysis?.Goodput?.QueriesPerSecond,
                OtherCpus = c.Interference?.OtherCpus, StealPct = c.Interference?.StealPct, Disturbed = c.Disturbed ?? "",
            };
            if (c.Analysis is null || c.Analysis.Distributions.Count == 0)
            {
                yield return Base();
                continue;
            }
            foreach (var (metric, d) in c.Analysis.Distributions.OrderBy(kv => kv.Key))
            {
                var row = Base();
                row.Metric = metric; row.Unit = Metrics.TryByName(metric, out var info) ? info.UnitSymbol : ""; row.N = d.N;
                row.Median = d.Median.Value; row.MedianLower = d.Median.Lower; row.MedianUpper = d.Median.Upper;
                row.P90 = d.P90.Value; row.P90Lower = d.P90.Lower; row.P90Upper = d.P90.Upper;
                row.P99 = d.P99.Value; row.P99Lower = d.P99.Lower; row.P99Upper = d.P99.Upper;
                row.Mad = d.Mad; row.UpperOutliers = d.UpperOutliers; row.Warning = d.NoiseWarning ?? "";
                row.Launches = Math.Max(1, c.LaunchList.Count(l => l.Status == "ok"));
                row.IntervalOver = c.IntervalBasis == IntervalBasis.Launches ? "launches" : "queries";
                if (c.Spread.TryGetValue(metric, out var sp))
                {
                    row.BetweenLaunchPct = double.IsFinite(sp.BetweenPct) ? sp.BetweenPct : null;
                    row.WithinLaunchPct = double.IsFinite(sp.WithinPct) ? sp.WithinPct : null;
                }
                if (c.Overheads.FirstOrDefault(o => o.Metric == metric) is { } o)
                {
                    row.OverheadPct = o.Pct; row.OverheadLowerPct = o.PctLower; row.OverheadUpperPct = o.PctUpper; row.OverheadIntervalOver = o.Basis;
                }
                yield return row;
            }
        }
    }
}
