using PerfLab.Core.Analysis;
using PerfLab.Core.Results;
using PerfLab.Core.Suites;
using PerfLab.Core.Units;

namespace PerfLab.Lab.Results;

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
                Evidence = c.Evidence.Name(), Status = c.StatusWord, Result = c.Analysis?.Validity.Word ?? "", BaselineCell = c.Cell.BaselineId ?? "",
                Reason = c.Reason ?? string.Join("; ", c.Analysis?.Validity.Reasons ?? []),
                QueriesPerSecond = c.Analysis?.QueriesPerSecond ?? 0, TokensPerSecond = c.Analysis?.TokensPerSecond ?? 0,
            };
            if (c.Analysis is null || c.Analysis.Distributions.Count == 0)
            {
                yield return Base();
                continue;
            }
            foreach (var (metric, d) in c.Analysis.Distributions.OrderBy(kv => kv.Key))
            {
                var row = Base();
                row.Metric = metric; row.Unit = Metrics.ByName(metric).Unit; row.N = d.N;
                row.Median = d.Median.Value; row.MedianLower = d.Median.Lower; row.MedianUpper = d.Median.Upper;
                row.P90 = d.P90.Value; row.P90Lower = d.P90.Lower; row.P90Upper = d.P90.Upper;
                row.P99 = d.P99.Value; row.P99Lower = d.P99.Lower; row.P99Upper = d.P99.Upper;
                row.Mad = d.Mad; row.UpperOutliers = d.UpperOutliers; row.Warning = d.NoiseWarning ?? "";
                if (c.Overheads.FirstOrDefault(o => o.Metric == metric) is { } o)
                {
                    row.OverheadPct = o.Pct; row.OverheadLowerPct = o.PctLower; row.OverheadUpperPct = o.PctUpper;
                }
                yield return row;
            }
        }
    }

    public static object ToJson(CellResult c) => new
    {
        id = c.Cell.Id,
        workload = c.Cell.Workload.Name,
        scenario = c.Cell.Scenario.Name,
        scenario_kind = c.Cell.Scenario.Kind.Name(),
        platform = c.Cell.Realm.Platform.Name(),
        realm_id = c.Cell.Realm.Id,
        evidence = c.Evidence.Name(),
        status = c.StatusWord,
        reason = c.Reason,
        baseline_cell = c.Cell.BaselineId,
        is_baseline = c.Cell.IsBaseline,
        phases_ms = c.PhasesMs,
        host_cpu_us_per_query = c.HostCpuUsPerQuery,
        result = c.Analysis is { } a ? new
        {
            validity = a.Validity.Word,
            reasons = a.Validity.Reasons,
            compliant = a.Validity.Compliant,
            non_compliant_reason = a.Validity.NonCompliantReason,
            queries_issued = a.QueriesIssued,
            queries_completed = a.QueriesCompleted,
            duration_s = a.DurationS,
            queries_per_s = a.QueriesPerSecond,
            tokens_per_s = a.TokensPerSecond,
            early_stopping_percentile = a.Percentile,
            early_stopping_latency_ns = a.EarlyStoppingPercentileNs,
            bounds = a.Bounds,
            metrics = a.Distributions,
        } : null,
        overheads = c.Overheads,
        capacity = c.Capacity,
    };
}
