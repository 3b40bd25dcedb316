using PerfLab.Core.LoadGen;
using PerfLab.Core.Suites;

namespace PerfLab.Lab.Backends;

/// <summary>Launches Realms of one platform. Says up front, without measuring, whether this host can run a cell.</summary>
public interface IRealmBackend
{
    Platform Platform { get; }
    Evidence EvidenceFor(RealmConfig config);
    /// <summary>The reason this host cannot run the cell (printed as SKIP), or null if it can.</summary>
    string? CannotRun(Cell cell);
    /// <summary>Creates the Realm, starts the agent in it and loads the cell's workload. Throws RealmFailedException.</summary>
    IRealm Launch(Cell cell, TimeSpan agentTimeout);
}

/// <summary>A running Realm with its agent loaded and ready to serve.</summary>
public interface IRealm : IDisposable
{
    ISystemUnderTest Sut { get; }
    IQuerySampleLibrary Library { get; }
    /// <summary>Lifecycle phases so far, in milliseconds (launch, load, ready, teardown, ...).</summary>
    IReadOnlyDictionary<string, double> PhasesMs { get; }
    /// <summary>Effective Realm settings as verified on the running Realm (page sizes obtained, CPUs, ...).</summary>
    IReadOnlyDictionary<string, string> Effective { get; }
    string StderrTail { get; }
    /// <summary>Asks the agent for its counters and records what they prove into Effective.</summary>
    void CollectStats();
    /// <summary>Ends the Realm politely (bye), or by force if it does not answer; times the teardown phase.</summary>
    void Teardown();
}

/// <summary>A Realm that failed to launch, load, or went away mid-run: its cell fails, the suite goes on.</summary>
public sealed class RealmFailedException(string message, string stderrTail) : Exception(message)
{
    public string StderrTail { get; } = stderrTail;
}
