using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using PerfLab.Core.Channel;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Results;
using PerfLab.Core.Suites;
using PerfLab.Lab.Agent;
using PerfLab.Lab.Backends.Mechanics;
using PerfLab.Lab.Os;
using PerfLab.Lab.Workloads;

namespace PerfLab.Lab.Backends;

/// <summary>A launched Realm whose agent serves queries over the channel; its mechanics' per-launch parts end with it.</summary>
public sealed class AgentRealm(Cell cell, LaunchState state, IReadOnlyList<IMechanicLaunch> mechanics) : IServingRealm, ISystemUnderTest
{
    private AgentProcess? _agent;
    private ISystemUnderTest? _client;
    private Dictionary<string, long> _atWindowStart = [];

    /// <summary>
    /// The agent's stats that count events of serving since it started, which the measured window starts afresh (the rest
    /// are levels — memory sizes, peaks — or load-time counts: the RSI calls that carried the payload in stay the launch's).
    /// The tokens' digest is one: cells compare the tokens of their measured windows, which a time-based warm-up of a
    /// different length in each would otherwise spoil.
    /// </summary>
    private static bool IsCounter(string key) => key is "queries_served" or "cpu_time_us" or "tokens_digest"   // the digest is a wrapping sum
        or "gc_gen0" or "gc_gen2" or "gc_pause_us" or "http_requests" or "http_served" or "http_failed" or "http_rejected"
        || (key.StartsWith("realm_", StringComparison.Ordinal) && key != "realm_rsi_calls");

    public void Attach(AgentProcess a) => _agent = a;

    /// <summary>The load generator drives this SUT: the channel to the agent, or a client of what the Realm serves (HTTP).</summary>
    public ISystemUnderTest Sut => _client ?? this;

    /// <summary>A host-side client (IWorkload.HostClient) that replaces the channel as the load generator's SUT; null keeps the channel.</summary>
    public void UseClient(ISystemUnderTest? client) => _client = client;
    public IQuerySampleLibrary Library { get; } = new CountingSampleLibrary(cell.Workload.Name, cell.Workload.GetInt("samples"));
    public RealmPhases Phases => state.Phases;
    public EffectiveRealm Effective => state.Effective;
    public string StderrTail => _agent?.StderrTail ?? "";
    public string Name => $"agent:{cell.Workload.Kind.Name}";

    public void IssueQuery(ReadOnlySpan<QuerySample> samples, IResponseSink sink) => _agent!.Issue(samples, sink);
    public void FlushQueries() { }

    private Dictionary<string, long> Stats() =>
        JsonSerializer.Deserialize<Dictionary<string, long>>(_agent!.Request(ChannelProtocol.StatsRequest(), "stats").Text, AgentHost.Json) ?? [];

    public long? PeakResidentKb() => Stats().TryGetValue("peak_rss_kb", out var kb) && kb > 0 ? kb : null;

    public void BeginMeasuredWindow() => _atWindowStart = Stats().Where(kv => IsCounter(kv.Key)).ToDictionary();

    public void CollectStats()
    {
        foreach (var (k, v) in Stats())
            Effective.Set(SettingSource.Agent, k, (v - _atWindowStart.GetValueOrDefault(k)).ToString(CultureInfo.InvariantCulture));
        // The client's own account of the measured window (it restarts its counts with each window).
        foreach (var (k, v) in (_client as ISutStatistics)?.Counters ?? new Dictionary<string, long>())
            Effective.Set(SettingSource.Client, k, v.ToString(CultureInfo.InvariantCulture));
        // The host checks the page sizes itself as well, from the kernel's view of the agent process.
        var smaps = PagePolicy.SmapsRollup(_agent!.Pid);
        var hugetlb = smaps.GetValueOrDefault("Private_Hugetlb") + smaps.GetValueOrDefault("Shared_Hugetlb");
        Effective.Set(SettingSource.Smaps, "AnonHugePages_kb", smaps.GetValueOrDefault("AnonHugePages").ToString(CultureInfo.InvariantCulture));
        Effective.Set(SettingSource.Smaps, "Hugetlb_kb", hugetlb.ToString(CultureInfo.InvariantCulture));
        Effective.Set(SettingSource.Smaps, "Rss_kb", smaps.GetValueOrDefault("Rss").ToString(CultureInfo.InvariantCulture));
        Effective.Set(SettingSource.Smaps, "Anonymous_kb", smaps.GetValueOrDefault("Anonymous").ToString(CultureInfo.InvariantCulture));
        Effective.Set("page_size_obtained", hugetlb > 0 ? "hugetlb" : smaps.GetValueOrDefault("AnonHugePages") > 0 ? "thp-2m" : "4k");
    }

    public void Teardown()
    {
        if (_agent is null) return;
        var sw = Stopwatch.StartNew();
        try
        {
            if (_agent.Failure is null) _agent.Request(ChannelProtocol.Bye(), "bye");
            _agent.WaitForExit(TimeSpan.FromSeconds(5));
        }
        catch (RealmFailedException) { _agent.Kill(); }
        Phases[Phase.Teardown] = sw.Elapsed.TotalMilliseconds;
    }

    public void Dispose()
    {
        (_client as IDisposable)?.Dispose();
        _agent?.Dispose();
        foreach (var m in mechanics) m.Dispose();
    }
}

/// <summary>A "Realm" that is the host itself, measuring a native microbenchmark once: no agent, no channel.</summary>
public sealed class HostMeasuredRealm(Cell cell, IHostMeasuredWorkload workload, IReadOnlyList<int> cpus) : IMeasuringRealm
{
    public RealmPhases Phases { get; } = new();
    public EffectiveRealm Effective { get; } = new();
    public string StderrTail => "";

    public HostMeasurement Measure(CancellationToken cancel)
    {
        var m = workload.Measure(cell.Workload, cpus, cancel);
        foreach (var (k, v) in m.Effective) Effective.Set(SettingSource.Wsbench, k, v);
        Phases[Phase.Run] = m.DurationS * 1000;
        return m;
    }

    public void CollectStats() { }
    public void Teardown() { }
    public void Dispose() { }
}
