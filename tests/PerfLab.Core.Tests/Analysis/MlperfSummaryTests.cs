using PerfLab.Core.Analysis;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Results;
using PerfLab.Core.Suites;
using PerfLab.Core.Units;

namespace PerfLab.Core.Tests.Analysis;

/// <summary>mlperf_log_summary.txt prints LoadGen's figures (nearest rank, LoadGen's early stopping) under LoadGen's labels.</summary>
public class MlperfSummaryTests
{
    [Fact]
    public void A_single_stream_summary_prints_the_configured_percentile_and_LoadGens_early_stopping_lines()
    {
        // 2048 queries of 1..2048 µs, issued back to back, the last one after min_duration: LoadGen discards 172 at p90.
        const int n = 2048;
        var records = Enumerable.Range(0, n).Select(i => new QueryRecord
        {
            Id = i, ScheduledNs = i * 3_000_000L, IssuedNs = i * 3_000_000L, FirstTokenNs = i * 3_000_000L + 500, CompletedNs = i * 3_000_000L + (i + 1) * 1000L, Tokens = 1,
        }).ToArray();
        var spec = new ScenarioSpec("ss", ScenarioKind.SingleStream, null, Nanoseconds.FromSeconds(1), Nanoseconds.FromSeconds(60), 1024, null, null, null, 0.9, 0.99);
        var run = new ScenarioRun(new EffectiveSettings("ss", "single-stream", null, n, 1, 60, 1024, 1, "virtual", 16), records, records[^1].CompletedNs, null, false, false);
        var analysis = ScenarioAnalysis.Of(spec, run, RunProfile.Full, GateSpec.Default);
        var cell = new Cell("c", new WorkloadSpec("w", WorkloadKinds.Noop, new Dictionary<string, string>()), spec,
            new RealmConfig(Platform.Native, PageSize.Kib4, HugePageBacking.Thp, new Bytes(2 << 20), MpamSetting.Off, 1, new Bytes(1L << 32), Pinning.None), true);
        var text = MlperfSummary.Format(new CellResult(cell, CellStatus.Ok, null, Evidence.Measured, run.Effective, new EffectiveRealm(), new RealmPhases(), analysis,
            null, null, []), "test");

        Assert.Contains("90th percentile latency (ns) : 1844000", text); // sorted[⌊2048 × 0.9⌋] = sorted[1843] = 1844 µs
        Assert.Contains(" * Processed at least 64 queries (2048).", text);
        Assert.Contains(" * Would discard 172 highest latency queries.", text);
        Assert.Contains(" * Early stopping 90th percentile estimate: 1876000", text); // the 173rd highest: 2048 − 172 = 1876 µs
        Assert.Contains("Result is : VALID", text);
        Assert.Contains("MLPerf conformance : conformant", text);
        Assert.Contains("PerfLab statistics (the lab's own", text);
        Assert.Contains("99.90 percentile latency (ns) : 2046000", text); // sorted[⌊2048 × 0.999⌋] = sorted[2045]
    }

    [Fact]
    public void A_server_summary_prints_LoadGens_rates_not_the_rate_asked_for()
    {
        // 1000 queries scheduled every 10 ms (the last at 9.99 s), each done 5 ms later; 120 QPS was asked for.
        const int n = 1000;
        var records = Enumerable.Range(0, n).Select(i => new QueryRecord
        {
            Id = i, ScheduledNs = i * 10_000_000L, IssuedNs = i * 10_000_000L, FirstTokenNs = i * 10_000_000L + 1_000_000, CompletedNs = i * 10_000_000L + 5_000_000, Tokens = 2,
        }).ToArray();
        var spec = new ScenarioSpec("srv", ScenarioKind.Server, 120, Nanoseconds.FromSeconds(1), Nanoseconds.FromSeconds(60), 500, Nanoseconds.FromMilliseconds(50),
            null, null, 0.99, 0.99);
        var run = new ScenarioRun(new EffectiveSettings("srv", "server", 120, n, 1, 60, 500, 1, "virtual", 16), records, records[^1].CompletedNs, null, false, false);
        var cell = new Cell("c", new WorkloadSpec("w", WorkloadKinds.Noop, new Dictionary<string, string>()), spec,
            new RealmConfig(Platform.Native, PageSize.Kib4, HugePageBacking.Thp, new Bytes(2 << 20), MpamSetting.Off, 1, new Bytes(1L << 32), Pinning.None), true);
        var text = MlperfSummary.Format(new CellResult(cell, CellStatus.Ok, null, Evidence.Measured, run.Effective, new EffectiveRealm(), new RealmPhases(),
            ScenarioAnalysis.Of(spec, run, RunProfile.Full, GateSpec.Default), null, null, []), "test");

        Assert.Contains("Target QPS (PerfLab) : 120", text);
        Assert.Contains("Scheduled samples per second : 100", text);    // (1000 − 1) / 9.99 s
        Assert.Contains("Completed samples per second : 99.95", text);  // (1000 − 1) / 9.995 s
    }
}
