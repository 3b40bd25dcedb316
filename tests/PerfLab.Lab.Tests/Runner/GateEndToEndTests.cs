using PerfLab.Core.Gate;
using PerfLab.Core.Results;
using PerfLab.Results;
using PerfLab.Results.Schema;

namespace PerfLab.Lab.Tests.Runner;

/// <summary>
/// Integration: the gate on real runs of real agents: two runs of the same build are never called a regression; a run
/// whose synthetic service time is 10 % longer is — unless the host was busy during a cell, which the gate then says
/// instead of judging (tests run on busy hosts too).
/// </summary>
public class GateEndToEndTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static string Suite(double prefillUs, double decodeUs) => $$"""
        name: gate-e2e
        seed: 3
        workloads:
          - name: w
            kind: synthetic
            concurrency: 1
            prompt_tokens: 64
            output_tokens: 16
            prefill_us_per_token: {{prefillUs}}
            decode_us_per_token: {{decodeUs}}
            working_set_mib: 0
        scenarios:
          - {type: single-stream, min_queries: 500, min_duration_s: 1}
          - {type: server, qps: 100, min_queries: 500, min_duration_s: 1}
          - {type: offline, qps: 250, min_queries: 500, min_duration_s: 3}   # 20 throughput windows of ~150 ms: 1 s windows of 50 ms saw A/A -8 %
        matrix: {platform: native, vcpus: 1, pinning: auto}
        gate: {threshold_pct: 5, metrics: [latency, tpot, throughput]}
        """;

    [Fact]
    public void Same_build_is_not_a_regression_and_ten_percent_slower_is()
    {
        using var scratch = new Scratch();
        var a1 = scratch.Run(Suite(4, 200));
        var a2 = scratch.Run(Suite(4, 200));
        var slow = scratch.Run(Suite(4 * 1.1, 200 * 1.1));
        Assert.All(a1.Cells.Concat(a2.Cells).Concat(slow.Cells), c => Assert.Equal(CellStatus.Ok, c.Status));

        var spec = GateSides.Load(a1.FolderPath).Spec!;
        var same = GateEvaluator.Evaluate(GateSides.Load(a1.FolderPath).Input, GateSides.Load(a2.FolderPath).Input, spec);
        output.WriteLine(same.ToMarkdown());
        // latency and tpot for single-stream and server; tpot and throughput for offline (its latency is queue position)
        Assert.Equal(6, same.Rows.Count);
        // Service-bound metrics (single-stream latency, TPOT): the same build is never regressed or improved.
        bool QueueBound(GateRow r) => (r.CellId.StartsWith("w.server") && r.Metric == "latency") || r.Metric == "throughput";
        Assert.DoesNotContain(same.Rows.Where(r => !QueueBound(r)), r => r.Comparison.Verdict is Verdict.Regressed or Verdict.Improved);
        // Queue-bound metrics (server latency, offline throughput) are autocorrelated through the queue, so their
        // query-level interval is narrower than run-to-run drift: A/A pairs here gave server latency +5.6 % [+4.4, +6.8]
        // on a quiet host. Until launches are the unit of replication (issue 11), the same build stays within ±10 %.
        Assert.All(same.Rows.Where(QueueBound), r => Assert.InRange(r.Comparison.EffectPct, -10, 10));

        var worse = GateEvaluator.Evaluate(GateSides.Load(a1.FolderPath).Input, GateSides.Load(slow.FolderPath).Input, spec);
        output.WriteLine(worse.ToMarkdown());
        // A cell measured while other processes kept the host busy is inconclusive with the reason, never judged.
        var busy = a1.Cells.Concat(slow.Cells).Where(c => c.Disturbed != null).Select(c => c.Cell.Id).ToHashSet();
        Assert.All(worse.Rows.Where(r => busy.Contains(r.CellId)), r =>
        {
            Assert.Equal(Verdict.Inconclusive, r.Comparison.Verdict);
            Assert.Contains("host busy", r.Comparison.Reason);
        });
        output.WriteLine($"disturbed cells: {busy.Count}");
        worse = worse with { Rows = worse.Rows.Where(r => !busy.Contains(r.CellId)).ToList() };
        if (worse.Rows.Count == 0) return;
        Assert.True(worse.AnyRegression);
        // Every cell's service-bound metrics: single-stream latency, TPOT everywhere, offline throughput.
        Assert.All(worse.Rows.Where(r => r.CellId.StartsWith("w.single-stream") && r.Metric == "latency"), r => Assert.Equal(Verdict.Regressed, r.Comparison.Verdict));
        Assert.All(worse.Rows.Where(r => r.Metric == "tpot"), r => Assert.Equal(Verdict.Regressed, r.Comparison.Verdict));
        // Offline throughput has only 20 windows of a 2-second run: on a busy host its interval can straddle the
        // threshold (inconclusive), but it must never call a slower build faster.
        foreach (var throughput in worse.Rows.Where(r => r.CellId.StartsWith("w.offline") && r.Metric == "throughput").Select(r => r.Comparison))
        {
            Assert.NotEqual(Verdict.Improved, throughput.Verdict);
            Assert.True(throughput.EffectPct < 0, $"throughput should fall: {throughput.EffectPct:0.0} %");
        }
        // Service-bound metrics grow by about the 10 % of the service time; server latency at a fixed arrival rate also
        // queues longer, which grows faster than the service time (M/D/1), so it is only bounded below.
        Assert.All(worse.Rows.Where(r => r.Comparison.Verdict == Verdict.Regressed), r =>
        {
            if (r.CellId.StartsWith("w.server") && r.Metric == "latency") Assert.True(r.Comparison.EffectPct >= 5, $"{r.Comparison.EffectPct:0.0} %");
            else Assert.InRange(Math.Abs(r.Comparison.EffectPct), 5, 15);
        });
    }
}
