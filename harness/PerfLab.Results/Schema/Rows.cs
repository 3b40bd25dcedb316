using CsvHelper;
using PerfLab.Core.LoadGen;

namespace PerfLab.Results.Schema;

/// <summary>One row of samples.csv: one query, raw, times in ns from the start of its cell's scenario.</summary>
[CsvRecord]
public sealed partial class SampleRow
{
    [CsvColumn("cell")] public string Cell { get; set; } = "";
    /// <summary>Which launch of the cell (1-based): queries of one launch are not independent of each other.</summary>
    [CsvColumn("launch", Optional = true)] public int Launch { get; set; } = 1;
    [CsvColumn("scenario")] public string Scenario { get; set; } = "";
    [CsvColumn("query_id")] public long QueryId { get; set; }
    [CsvColumn("sample_index")] public int SampleIndex { get; set; }
    [CsvColumn("scheduled_ns")] public long ScheduledNs { get; set; }
    [CsvColumn("issued_ns")] public long IssuedNs { get; set; }
    [CsvColumn("first_token_ns")] public long FirstTokenNs { get; set; }
    [CsvColumn("completed_ns")] public long CompletedNs { get; set; }
    [CsvColumn("tokens")] public int Tokens { get; set; }
    [CsvColumn("inside_ns")] public long InsideNs { get; set; }
    /// <summary>Why the query failed (empty: it was served). A failed query's row is kept with its reason, never dropped.</summary>
    [CsvColumn("error", Optional = true)] public string Error { get; set; } = "";

    /// <summary>Fills this row from a query (one row object is reused for a whole cell: no allocation per query).</summary>
    public void Set(in QueryRecord r)
    {
        QueryId = r.Id; SampleIndex = r.SampleIndex; ScheduledNs = r.ScheduledNs; IssuedNs = r.IssuedNs;
        FirstTokenNs = r.FirstTokenNs; CompletedNs = r.CompletedNs; Tokens = r.Tokens; InsideNs = r.InsideNs; Error = r.Error ?? "";
    }

    /// <summary>The query this row records: the one mapping from the file back to the load generator's record.</summary>
    public QueryRecord ToRecord() => new()
    {
        Id = QueryId, SampleIndex = SampleIndex, ScheduledNs = ScheduledNs, IssuedNs = IssuedNs,
        FirstTokenNs = FirstTokenNs, CompletedNs = CompletedNs, Tokens = Tokens, InsideNs = InsideNs, Error = Error.Length == 0 ? null : Error,
    };
}

/// <summary>One row of summary.csv: one cell and metric (or one row for a cell with no metrics: failed or skipped).</summary>
[CsvRecord]
public sealed partial class SummaryRow
{
    [CsvColumn("cell")] public string Cell { get; set; } = "";
    [CsvColumn("workload")] public string Workload { get; set; } = "";
    [CsvColumn("scenario")] public string Scenario { get; set; } = "";
    [CsvColumn("platform")] public string Platform { get; set; } = "";
    [CsvColumn("page_size")] public string PageSize { get; set; } = "";
    [CsvColumn("huge_backing")] public string HugeBacking { get; set; } = "";
    [CsvColumn("rsi_batch")] public string RsiBatch { get; set; } = "";
    [CsvColumn("mpam")] public string Mpam { get; set; } = "";
    [CsvColumn("vcpus")] public int Vcpus { get; set; }
    [CsvColumn("pinning")] public string Pinning { get; set; } = "";
    [CsvColumn("evidence")] public string Evidence { get; set; } = "";
    [CsvColumn("evidence_source")] public string EvidenceSource { get; set; } = "";
    [CsvColumn("status")] public string Status { get; set; } = "";
    [CsvColumn("result")] public string Result { get; set; } = "";
    [CsvColumn("metric")] public string Metric { get; set; } = "";
    [CsvColumn("unit")] public string Unit { get; set; } = "";
    [CsvColumn("n")] public int N { get; set; }
    [CsvColumn("median")] public double Median { get; set; }
    [CsvColumn("median_ci_lower")] public double MedianLower { get; set; }
    [CsvColumn("median_ci_upper")] public double MedianUpper { get; set; }
    [CsvColumn("p90")] public double P90 { get; set; }
    [CsvColumn("p90_ci_lower")] public double P90Lower { get; set; }
    [CsvColumn("p90_ci_upper")] public double P90Upper { get; set; }
    [CsvColumn("p99")] public double P99 { get; set; }
    [CsvColumn("p99_ci_lower")] public double P99Lower { get; set; }
    [CsvColumn("p99_ci_upper")] public double P99Upper { get; set; }
    [CsvColumn("mad")] public double Mad { get; set; }
    /// <summary>Launches the figures come from, and what the intervals are over: "launches" or "queries" (one launch).</summary>
    [CsvColumn("launches")] public int Launches { get; set; } = 1;
    [CsvColumn("interval_over")] public string IntervalOver { get; set; } = "";
    /// <summary>Standard deviation of the launches' log medians ×100 (empty with one launch).</summary>
    [CsvColumn("between_launch_pct")] public double? BetweenLaunchPct { get; set; }
    /// <summary>Robust spread of queries within a launch: the normalised MAD of log values ×100, median over launches.</summary>
    [CsvColumn("within_launch_pct")] public double? WithinLaunchPct { get; set; }
    [CsvColumn("upper_outliers")] public int UpperOutliers { get; set; }
    [CsvColumn("queries_per_s")] public double QueriesPerSecond { get; set; }
    [CsvColumn("tokens_per_s")] public double TokensPerSecond { get; set; }
    /// <summary>Queries that failed alone (an HTTP error, a cut stream, a timeout): the validity's reason lists why.</summary>
    [CsvColumn("queries_failed", Optional = true)] public long QueriesFailed { get; set; }
    /// <summary>Queries served within every latency limit of the scenario, per second (empty without limits).</summary>
    [CsvColumn("goodput_per_s", Optional = true)] public double? GoodputPerSecond { get; set; }
    [CsvColumn("overhead_pct")] public double? OverheadPct { get; set; }
    [CsvColumn("overhead_ci_lower_pct")] public double? OverheadLowerPct { get; set; }
    [CsvColumn("overhead_ci_upper_pct")] public double? OverheadUpperPct { get; set; }
    [CsvColumn("overhead_interval_over")] public string OverheadIntervalOver { get; set; } = "";
    [CsvColumn("baseline_cell")] public string BaselineCell { get; set; } = "";
    [CsvColumn("warning")] public string Warning { get; set; } = "";
    [CsvColumn("other_cpus")] public double? OtherCpus { get; set; }
    [CsvColumn("steal_pct")] public double? StealPct { get; set; }
    [CsvColumn("disturbed")] public string Disturbed { get; set; } = "";
    [CsvColumn("reason")] public string Reason { get; set; } = "";
}

/// <summary>One row of micro_samples.csv: one sample of a native microbenchmark, in ns (costs) or bytes/s (rates).</summary>
[CsvRecord]
public sealed partial class MicroSampleRow
{
    [CsvColumn("cell")] public string Cell { get; set; } = "";
    [CsvColumn("launch", Optional = true)] public int Launch { get; set; } = 1;
    [CsvColumn("index")] public int Index { get; set; }
    [CsvColumn("metric")] public string Metric { get; set; } = "";
    [CsvColumn("value")] public double Value { get; set; }
}

/// <summary>One row of cells/&lt;cell&gt;/capacity_samples.csv: one query of one capacity-search probe, times in ns from the probe's start.</summary>
[CsvRecord]
public sealed partial class CapacitySampleRow
{
    [CsvColumn("launch", Optional = true)] public int Launch { get; set; } = 1;
    [CsvColumn("probe")] public int Probe { get; set; }
    [CsvColumn("target_qps")] public double TargetQps { get; set; }
    [CsvColumn("query_id")] public long QueryId { get; set; }
    [CsvColumn("scheduled_ns")] public long ScheduledNs { get; set; }
    [CsvColumn("issued_ns")] public long IssuedNs { get; set; }
    [CsvColumn("first_token_ns")] public long FirstTokenNs { get; set; }
    [CsvColumn("completed_ns")] public long CompletedNs { get; set; }
    [CsvColumn("tokens")] public int Tokens { get; set; }

    public void Set(in QueryRecord r)
    {
        QueryId = r.Id; ScheduledNs = r.ScheduledNs; IssuedNs = r.IssuedNs;
        FirstTokenNs = r.FirstTokenNs; CompletedNs = r.CompletedNs; Tokens = r.Tokens;
    }
}
