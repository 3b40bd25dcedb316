using System.Text.Json.Nodes;
using PerfLab.Core.Attestation;
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
    private readonly TaskCompletionSource<byte[]> _rim = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The Realm Initial Measurement, once the launch has been measured.</summary>
    public byte[]? Rim
    {
        get => _rim.Task.IsCompletedSuccessfully ? _rim.Task.Result : null;
        set { if (value is not null) _rim.TrySetResult(value); }
    }

    /// <summary>The RIM, waited for: a Realm may ask to attest while the host is still measuring what it populates.</summary>
    public byte[] AwaitRim(TimeSpan timeout) =>
        _rim.Task.Wait(timeout) ? _rim.Task.Result : throw new TimeoutException($"the launch was not measured within {timeout.TotalSeconds:0} s");

    /// <summary>Encrypted weights for this launch (set before the load is decorated): the shard file and its manifest.</summary>
    public (string Path, ShardManifest Manifest)? EncryptedPayload { get; set; }

    private readonly ManualResetEventSlim _payloadWanted = new();

    /// <summary>The Realm asks for its sealed payload (encrypted weights) once it holds their key.</summary>
    public void PayloadWanted() => _payloadWanted.Set();

    /// <summary>Waits until the Realm asks for its payload; its agent failing or the agent timeout passing ends the wait.</summary>
    public void AwaitPayloadWanted(AgentProcess agent)
    {
        var deadline = DateTime.UtcNow + agent.Timeout;
        while (!_payloadWanted.Wait(100))
        {
            if (agent.Failure is { } f) throw new RealmFailedException(f, agent.StderrTail);
            if (DateTime.UtcNow > deadline)
                throw new RealmFailedException($"the Realm did not ask for its encrypted payload within {agent.Timeout.TotalSeconds:0} s (agent_timeout_s)", agent.StderrTail);
        }
    }

    /// <summary>Another key broker than the lab's own (a test's unreachable one, or a user's): null for the lab's.</summary>
    public Uri? BrokerUrl { get; set; }

    /// <summary>What the host serves the Realm's calls with while it loads, by call name (a mechanic registers its own).</summary>
    public Dictionary<string, Func<JsonObject, JsonObject>> Services { get; } = new();

    /// <summary>Answers one call from the agent; a call no mechanic serves, or one that throws, gets an error reply.</summary>
    public string Serve(string json)
    {
        try
        {
            var request = JsonNode.Parse(json)?.AsObject() ?? throw new FormatException("empty call");
            var name = (string?)request["call"] ?? throw new FormatException("a call without a name");
            return Services.TryGetValue(name, out var serve)
                ? serve(request).ToJsonString()
                : new JsonObject { ["error"] = $"no service '{name}' on this platform (served: {string.Join(", ", Services.Keys)})" }.ToJsonString();
        }
        catch (Exception e) when (e is FormatException or System.Text.Json.JsonException or InvalidOperationException or TimeoutException)
        {
            return new JsonObject { ["error"] = e.Message }.ToJsonString();
        }
    }
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
