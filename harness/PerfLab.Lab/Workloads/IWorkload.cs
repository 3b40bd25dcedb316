using PerfLab.Core.Channel;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Suites;

namespace PerfLab.Lab.Workloads;

/// <summary>What a workload's SUT is given inside the Realm: the agent's settings, where a streamed payload landed, and
/// a place to say what it loaded (recorded as the cell's effective agent.* settings).</summary>
public sealed record SutContext(AgentOptions Options, string? ReceivedPayloadDir, IDictionary<string, string> Info)
{
    /// <summary>An emulated Realm's crossings, for a SUT that takes requests other than over the channel (an HTTP server): null natively.</summary>
    public Serving.IRealmCrossings? Crossings { get; init; }
}

/// <summary>
/// One workload kind's behaviour: the registry's entry for it. The agent asks it for a SUT; the host asks it what must
/// exist before a Realm boots and what payload an emulated Realm streams in. Nothing outside the registry tests a kind.
/// </summary>
public interface IWorkload
{
    WorkloadKind Kind { get; }

    /// <summary>Agent side: the system under test, loaded inside the Realm.</summary>
    ISystemUnderTest CreateSut(WorkloadSpec spec, SutContext context);

    /// <summary>Host side, before the Realm starts: build what it will read (a VM sees the host's root read-only).</summary>
    void PrepareOnHost(WorkloadSpec spec) { }

    /// <summary>Host side: the file an emulated Realm streams in over the shared buffer (RSI batching), or null.</summary>
    string? PayloadFile(WorkloadSpec spec) => null;

    /// <summary>Why this workload cannot run on the platform (a SKIP before anything starts), or null.</summary>
    string? CannotRunOn(WorkloadSpec spec, Platform platform) => null;

    /// <summary>
    /// Host side, once the Realm is ready: a SUT the load generator drives directly rather than over the channel (an HTTP
    /// endpoint the Realm serves or the user runs), given what the agent said it loaded; null for channel workloads.
    /// </summary>
    ISystemUnderTest? HostClient(WorkloadSpec spec, Core.Results.EffectiveRealm ready) => null;

    /// <summary>Memory the workload maps on the cell's page size, so a page policy that cannot provide it is a SKIP up front.</summary>
    long PageBackedBytes(WorkloadSpec spec) => 0;
}

/// <summary>A workload the host measures itself (a native microbenchmark): it has no agent and no load generator.</summary>
public interface IHostMeasuredWorkload : IWorkload
{
    HostMeasurement Measure(WorkloadSpec spec, IReadOnlyList<int> cpus, CancellationToken cancel);
}

/// <summary>What a host measurement gave: its samples under one metric, its raw output and its settings; or why it could not.</summary>
public sealed record HostMeasurement(string? SkipReason, string? FailReason, string Metric, IReadOnlyList<double> Values, string RawJson,
    IReadOnlyDictionary<string, string> Effective, double DurationS);
