using System.Diagnostics;
using System.Text;
using System.Text.Json;
using PerfLab.Core.Channel;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Suites;
using PerfLab.Core.Time;
using PerfLab.Lab.Os;
using PerfLab.Lab.Workloads;

namespace PerfLab.Lab.Agent;

/// <summary>
/// The in-Realm side of the channel: says hello, loads the workload it is told to (its SUT from the workload registry,
/// its payload through the receiver), serves queries, answers stats, leaves on bye or when the host goes away.
/// Realm costs are paid through the injector at every crossing; everything it says goes through one locked writer.
/// </summary>
public sealed class AgentHost(TextReader input, Stream output, AgentOptions options) : IResponseSink
{
    private readonly object _writeLock = new();
    private readonly byte[] _buffer = new byte[256];
    private readonly RealmCostInjector _costs = RealmCostInjector.FromEnvironment(MonotonicClock.Instance);
    private ISystemUnderTest? _sut;
    // Lines that arrived while the agent waited for a reply to its own call (a chunk the host sent meanwhile): read next.
    private readonly Queue<string> _stashed = new();
    private long _calls;
    private string _policy = "", _pinning = "";

    public static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public int Run()
    {
        _policy = PagePolicy.ApplyToSelf(options.PageSize);
        _pinning = Affinity.PinSelf(options.Cpus);
        Send(ChannelProtocol.Hello(Environment.ProcessId));
        Span<QuerySample> one = stackalloc QuerySample[1];
        while (ReadLine() is { } line)
        {
            if (!ChannelProtocol.TryParse(line, out var msg, out var problem)) return Refuse(problem!);
            switch (msg.Kind)
            {
                case MessageKind.Load:
                    if (!Load(msg.Text)) return 2;
                    break;
                case MessageKind.Query when _sut is null:
                    return Refuse("query before load: send load first");
                case MessageKind.Query:
                    _costs.QueryArrived();
                    _costs.BytesIn(line.Length + 1);
                    one[0] = new QuerySample(msg.Id, msg.SampleIndex);
                    _sut.IssueQuery(one, this);
                    break;
                case MessageKind.Stats:
                    Send(ChannelProtocol.Stats(JsonSerializer.Serialize(Stats(), Json)));
                    break;
                case MessageKind.Bye:
                    Send(ChannelProtocol.Bye());
                    (_sut as IDisposable)?.Dispose();
                    return 0;
                default:
                    return Refuse($"the agent does not accept '{msg.Kind}' messages");
            }
        }
        return 0;
    }

    private static void RemovePayload() => PayloadReceiver.RemoveRealmDir(Environment.ProcessId);

    private string? ReadLine() => _stashed.TryDequeue(out var l) ? l : input.ReadLine();

    /// <summary>Asks the host for a service (a platform token, a broker request) and waits for its reply; other lines
    /// that come meanwhile are kept for later, in order.</summary>
    private string Call(string json)
    {
        // Not counted as RSI calls or query bytes: the Realm cost model counts attestation and key release as terms of
        // their own (attestation_calls, key_release_calls), and the query-bytes term is the queries' alone.
        var id = ++_calls;
        Send(ChannelProtocol.Call(id, json));
        while (input.ReadLine() is { } line)
        {
            if (ChannelProtocol.TryParse(line, out var m, out _) && m.Kind == MessageKind.Reply && m.Id == id) return m.Text;
            _stashed.Enqueue(line);
        }
        throw new IOException("the host went away during a call");
    }

    private int Refuse(string why)
    {
        Send(ChannelProtocol.Error(why));
        return 2;
    }

    private bool Load(string json)
    {
        var start = MonotonicClock.NowNs();
        LoadRequest? req;
        try { req = JsonSerializer.Deserialize<LoadRequest>(json, Json); }
        catch (JsonException e) { Refuse("load: not valid JSON: " + e.Message); return false; }
        if (req is null) { Refuse("load: empty request"); return false; }
        var info = new Dictionary<string, string>();
        if (_costs.Active) info["realm_costs"] = _costs.Describe();
        foreach (var (k, v) in RealmEvidenceProbe.Probe()) info[k] = v;
        string? received = null;
        var stage = "load failed: ";
        try
        {
            var workload = WorkloadRegistry.Named(req.Kind);
            var attestation = new RealmAttestation(Call);
            ModelKeyResource? key = null;
            // Encrypted weights need their key first (attest, then release); plain ones are measured into the RIM as they
            // are populated, so the Realm attests after them.
            if (req.Attestation is { } plan0 && req.Stream?.Shards is not null)
            {
                stage = "attestation and key release failed: ";
                key = attestation.Run(plan0, req.Stream.Shards, info);
            }
            if (req.Stream is { } plan)
            {
                stage = "receiving the payload failed: ";
                // Sealed weights: the Realm asks for them once it can open them.
                if (key is not null && System.Text.Json.Nodes.JsonNode.Parse(Call("""{"call":"payload"}"""))?["error"] is { } refused)
                    throw new InvalidOperationException("the host would not send the encrypted payload: " + refused);
                try { new PayloadReceiver(ReadLine, line => Send(line), options, _costs).Receive(plan, info, key?.Key); }
                finally { if (key is not null) System.Security.Cryptography.CryptographicOperations.ZeroMemory(key.Key); }
                received = PayloadReceiver.RealmDir;
            }
            if (req.Attestation is { } plan1 && key is null)
            {
                stage = "attestation failed: ";
                attestation.Run(plan1, null, info);
            }
            stage = "load failed: ";
            var spec = new WorkloadSpec(req.Workload, workload.Kind, req.Parameters);
            _sut = TestFaultSut.Wrap(workload.CreateSut(spec, new SutContext(options, received, info) { Crossings = _costs.Active ? _costs : null }));
        }
        catch (PerfLab.Core.Attestation.TamperedShardException e)
        {
            // Destroy on tampering: the Realm does not serve with weights it could not authenticate.
            RemovePayload();
            Refuse($"the Realm ends: encrypted shard {e.Index} failed its check ({e.Message})");
            return false;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or KeyNotFoundException or FormatException or NotSupportedException
                                      or KeyReleaseException or System.Security.Cryptography.CryptographicException
                                      or IOException or UnauthorizedAccessException or InvalidDataException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            // A load that fails after the payload came (a workload that cannot start on it) leaves nothing of it behind.
            RemovePayload();
            Refuse(stage + e.Message);
            return false;
        }
        _costs.ResetPeak();
        (info["sut"], info["page_policy"], info["pinning"]) = (_sut.Name, _policy, _pinning);
        Send(ChannelProtocol.Ready(MonotonicClock.NowNs() - start, JsonSerializer.Serialize(info, Json)));
        return true;
    }

    private Dictionary<string, long> Stats()
    {
        var smaps = PagePolicy.SmapsRollup(Environment.ProcessId);
        var stats = new Dictionary<string, long>
        {
            ["queries_served"] = 0,
            ["cpu_time_us"] = (long)Process.GetCurrentProcess().TotalProcessorTime.TotalMicroseconds,
            ["rss_kb"] = smaps.GetValueOrDefault("Rss"),
            // The peak (VmHWM): the harness warms up until it stops growing, the emulated Realm's faults follow its growth.
            ["peak_rss_kb"] = RealmCostInjector.PeakResidentKb(),
            ["anon_huge_pages_kb"] = smaps.GetValueOrDefault("AnonHugePages"),
            ["hugetlb_kb"] = smaps.GetValueOrDefault("Private_Hugetlb") + smaps.GetValueOrDefault("Shared_Hugetlb"),
            // The agent's own garbage collections: a full one stops the SUT's managed threads, and shows in its latency.
            ["gc_gen0"] = GC.CollectionCount(0),
            ["gc_gen2"] = GC.CollectionCount(2),
            ["gc_pause_us"] = (long)GC.GetTotalPauseDuration().TotalMicroseconds,
        };
        foreach (var (k, v) in (_sut as ISutStatistics)?.Counters ?? new Dictionary<string, long>()) stats[k] = v;
        // A Realm's counted events (an emulated one's, priced by its profile): recorded per launch, priced later by anyone.
        if (_costs.Active) foreach (var (k, v) in _costs.Counts.ToStats()) stats[k] = v;
        return stats;
    }

    public void FirstToken(long queryId)
    {
        _costs.FirstTokenOut();
        _costs.BytesOut(Send(ChannelProtocol.FirstToken(queryId)));
    }

    public void Complete(long queryId, int tokens, long insideNs)
    {
        _costs.QueryCompleted(tokens);
        _costs.BytesOut(Send(ChannelProtocol.Complete(queryId, tokens, insideNs)));
    }

    public void QueryFailed(long queryId, string reason, int tokensSoFar = 0)
    {
        _costs.QueryCompleted(tokensSoFar);
        _costs.BytesOut(Send(ChannelProtocol.Failed(queryId, tokensSoFar, reason)));
    }

    public void Fail(string reason) => Send(ChannelProtocol.Error(reason));

    /// <summary>Writes one line to the host; returns the bytes written.</summary>
    private int Send(string line)
    {
        lock (_writeLock)
        {
            var n = Encoding.UTF8.GetByteCount(line) + 1;
            var buf = n <= _buffer.Length ? _buffer : new byte[n];
            Encoding.UTF8.GetBytes(line, buf);
            buf[n - 1] = (byte)'\n';
            output.Write(buf, 0, n);
            output.Flush();
            return n;
        }
    }
}
