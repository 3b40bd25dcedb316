using System.Diagnostics;
using System.Text.Json;
using PerfLab.Core.Analysis;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Suites;
using PerfLab.Lab.Micro;

namespace PerfLab.Lab.Workloads;

/// <summary>
/// A native microbenchmark case: wsbench (built if needed) runs on the host, once per cell; its samples are analysed
/// like any other cell's so the same statistics and gate apply. A case the host cannot run is a SKIP with wsbench's
/// reason; a case that fails is a failed cell. It has no SUT: only a backend that measures on the host can run it.
/// </summary>
public sealed class MicroWorkload : IHostMeasuredWorkload
{
    public WorkloadKind Kind => WorkloadKinds.Micro;

    public ISystemUnderTest CreateSut(WorkloadSpec spec, SutContext context) =>
        throw new NotSupportedException("a microbenchmark runs on the host, not as an agent's SUT");

    public HostMeasurement Measure(WorkloadSpec spec, IReadOnlyList<int> cpus, CancellationToken cancel)
    {
        var name = spec.GetString("case");
        var sw = Stopwatch.StartNew();
        WsbenchCase r;
        try { r = Wsbench.RunCase(NativeBuild.EnsureWsbench(), name, cpus, TimeSpan.FromMinutes(10), timeGoalMs: 200); }
        catch (NativeUnavailableException e) { return Gap(e.Message, null); }
        if (r.Status == "skip") return Gap(r.Reason ?? "wsbench skipped the case", null);
        if (r.Status != "ok" || r.Samples.Length == 0) return Gap(null, r.Reason ?? "wsbench gave no samples");
        var metric = r.Unit == "ticks" ? Metrics.OpCost : Metrics.Bandwidth;
        var effective = r.Extra.ToDictionary(kv => kv.Key, kv => kv.Value.ValueKind == JsonValueKind.String ? kv.Value.GetString()! : kv.Value.GetRawText());
        effective["unit"] = r.Unit;
        effective["tick_hz"] = r.TickHz.ToString("0");
        effective["empty_ticks"] = r.EmptyTicks.ToString("0.##");
        return new HostMeasurement(null, null, metric.Name, r.Values, r.RawJson, effective, sw.Elapsed.TotalSeconds);
    }

    private static HostMeasurement Gap(string? skip, string? fail) =>
        new(skip, fail, "", [], "", new Dictionary<string, string>(), 0);
}
