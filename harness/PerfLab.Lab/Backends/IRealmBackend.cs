using PerfLab.Core.LoadGen;
using PerfLab.Core.Results;
using PerfLab.Core.Suites;
using PerfLab.Lab.Workloads;

namespace PerfLab.Lab.Backends;

/// <summary>Launches Realms of one platform. Says up front, without measuring, whether this host can run a cell.</summary>
public interface IRealmBackend
{
    Platform Platform { get; }
    Evidence EvidenceFor(RealmConfig config);
    /// <summary>The reason this host or backend cannot run the cell (printed as SKIP), or null if it can.</summary>
    string? CannotRun(Cell cell);
    /// <summary>Creates the Realm and readies the cell's workload in it. Throws RealmFailedException.</summary>
    IRealm Launch(Cell cell, TimeSpan agentTimeout);
}

/// <summary>A launched Realm: its timed phases and effective settings, whatever its workload.</summary>
public interface IRealm : IDisposable
{
    /// <summary>Lifecycle phases so far (launch, populate, load, ready, teardown…).</summary>
    RealmPhases Phases { get; }
    /// <summary>Effective Realm settings as verified on the running Realm (page sizes obtained, CPUs, profile…).</summary>
    EffectiveRealm Effective { get; }
    string StderrTail { get; }
    /// <summary>Asks the Realm for its counters and records what they prove into Effective.</summary>
    void CollectStats();
    /// <summary>Ends the Realm politely, or by force if it does not answer; times the teardown phase.</summary>
    void Teardown();
}

/// <summary>A Realm whose agent serves queries: the load generator drives its SUT.</summary>
public interface IServingRealm : IRealm
{
    ISystemUnderTest Sut { get; }
    IQuerySampleLibrary Library { get; }
    /// <summary>
    /// Called between the warm-up and the measured window: the counters CollectStats records from here on count the
    /// measured window only (the warm-up's queries, exits, ticks and first-touch faults are left out).
    /// </summary>
    void BeginMeasuredWindow();
    /// <summary>The agent's peak resident memory (VmHWM) now, or null where the Realm cannot say: the warm-up runs until it stops growing.</summary>
    long? PeakResidentKb();
}

/// <summary>A Realm that measures itself once (a native microbenchmark on the host): no load generator.</summary>
public interface IMeasuringRealm : IRealm
{
    HostMeasurement Measure(CancellationToken cancel);
}

/// <summary>A Realm that failed to launch, load, or went away mid-run: its cell fails, the suite goes on.</summary>
public sealed class RealmFailedException(string message, string stderrTail) : Exception(message)
{
    public string StderrTail { get; } = stderrTail;
}
