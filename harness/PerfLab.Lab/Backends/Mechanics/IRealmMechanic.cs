using PerfLab.Core.Channel;
using PerfLab.Core.Results;
using PerfLab.Core.Suites;

namespace PerfLab.Lab.Backends.Mechanics;

/// <summary>
/// One launch as the mechanics see it: its cell, the environment the agent will start with, and the phases and
/// effective settings they record. A measurement one mechanic takes and another uses (the RIM) is kept here.
/// </summary>
public sealed class LaunchState(Cell cell, IReadOnlyList<int> cpus)
{
    public Cell Cell { get; } = cell;
    public IReadOnlyList<int> Cpus { get; } = cpus;
    public Dictionary<string, string> Environment { get; } = new();
    public RealmPhases Phases { get; } = new();
    public EffectiveRealm Effective { get; } = new();
    /// <summary>The Realm Initial Measurement, once the launch has been measured.</summary>
    public byte[]? Rim { get; set; }
}

/// <summary>
/// One piece of what makes a Realm a Realm (page policy, MPAM, RSI streaming, cost injection, attestation), applied
/// around any launcher. A backend is a launcher plus the mechanics its platform has.
/// </summary>
public interface IRealmMechanic
{
    /// <summary>Why this mechanic cannot apply to the cell on this host (a SKIP), or null.</summary>
    string? CannotRun(Cell cell) => null;
    /// <summary>Starts this mechanic's part of one launch; what it keeps for that launch lives in the returned object.</summary>
    IMechanicLaunch Begin(LaunchState state);
}

/// <summary>One mechanic's part of one launch, in the order a launch happens.</summary>
public interface IMechanicLaunch : IDisposable
{
    /// <summary>Before the agent starts: environment, neighbours, effective settings.</summary>
    void BeforeStart() { }
    /// <summary>The agent said hello: its process exists (resctrl takes its pid here).</summary>
    void AfterHello(AgentProcess agent) { }
    /// <summary>The load request as sent: an emulated Realm names its shared buffer in it.</summary>
    LoadRequest Decorate(LoadRequest request) => request;
    /// <summary>After the load request is sent and before ready is awaited: an emulated Realm is populated here.</summary>
    void AfterLoadSent(AgentProcess agent) { }
    void IDisposable.Dispose() { }
}
