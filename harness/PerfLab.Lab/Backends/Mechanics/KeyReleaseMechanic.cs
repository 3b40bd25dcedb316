using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PerfLab.Core.Channel;
using PerfLab.Core.Suites;
using PerfLab.Lab.Broker;
using PerfLab.Lab.Workloads;

namespace PerfLab.Lab.Backends.Mechanics;

/// <summary>
/// Attestation to the key broker and confidential model delivery. Every launch attests (the Realm binds a key of its own
/// into its evidence and the broker appraises it against the RIM the host measured); a cell whose weights are encrypted
/// also gets its model key released to that Realm key, and its weights stream in as AES-256-GCM shards. The host only
/// forwards the Realm's broker requests over real HTTP to the broker (the lab's channel stands for the network a Realm
/// would reach it over); it never sees the key. A broker that does not answer is the Realm's problem to retry, within
/// bounds.
/// </summary>
public sealed class KeyReleaseMechanic(string tokenSource) : IRealmMechanic
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler { UseCookies = false, ConnectTimeout = TimeSpan.FromSeconds(2) })
    {
        Timeout = TimeSpan.FromSeconds(30),
    };

    public IMechanicLaunch Begin(LaunchState state) => new Launch(state, tokenSource);

    /// <summary>Whether a cell asks for encrypted weights (an llm cell with weights: encrypted).</summary>
    public static bool Encrypted(Cell cell) => cell.Workload.Parameters.TryGetValue("weights", out var w) && w == "encrypted";

    private sealed class Launch(LaunchState s, string tokenSource) : IMechanicLaunch
    {
        private byte[]? _rim;
        private string? _resource;
        private int _calls;
        private readonly HashSet<string> _released = [];

        public void BeforeStart()
        {
            s.Services["broker"] = Forward;
            if (!Encrypted(s.Cell)) return;
            var plain = WorkloadRegistry.For(s.Cell.Workload.Kind).PayloadFile(s.Cell.Workload)
                        ?? throw new InvalidOperationException($"weights: encrypted, but a {s.Cell.Workload.Kind.Name} workload has no weights");
            var (path, manifest, resource) = EncryptedModels.For(plain, LabBroker.Shared.Broker);
            s.EncryptedPayload = (path, manifest);
            _resource = resource;
            s.Effective.Set("weights_encrypted", string.Create(CultureInfo.InvariantCulture,
                $"{manifest.Shards.Count} AES-256-GCM shards of {manifest.ShardBytes} bytes, key {manifest.KeyId} (held by the broker only)"));
        }

        public LoadRequest Decorate(LoadRequest request)
        {
            s.Effective.Set("key_broker", $"{Url()} (Trustee KBS resource interface, Kestrel, this process)");
            return request with { Attestation = new AttestationPlan(tokenSource, _resource) };
        }

        private Uri Url() => s.BrokerUrl ?? LabBroker.Shared.BaseUrl;

        /// <summary>One broker request of the Realm's, made over HTTP; the broker's reference RIM is the launch's.</summary>
        private JsonObject Forward(JsonObject call)
        {
            var method = (string?)call["method"] ?? "GET";
            var path = (string?)call["path"] ?? throw new FormatException("broker call without a path");
            // The reference value is provisioned before the evidence is appraised: the RIM the host measured.
            if (path == "/kbs/v0/attest" && _rim is null && s.BrokerUrl is null)
            {
                _rim = s.AwaitRim(TimeSpan.FromMinutes(5));
                LabBroker.Shared.Broker.AddReferenceRim(_rim);
            }
            if (!path.StartsWith("/kbs/v0/", StringComparison.Ordinal)) throw new FormatException($"broker path '{path}': only /kbs/v0/ is forwarded");
            using var msg = new HttpRequestMessage(new HttpMethod(method), new Uri(Url(), path));
            if ((string?)call["session"] is { Length: > 0 } session) msg.Headers.Add("Cookie", $"{KeyBrokerService.SessionCookie}={session}");
            if (call["body"] is JsonObject body) msg.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
            Interlocked.Increment(ref _calls);
            try
            {
                using var response = Http.Send(msg);
                var text = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
                var parsed = string.IsNullOrEmpty(text) ? new JsonObject() : JsonNode.Parse(text)?.AsObject() ?? new JsonObject();
                var reply = new JsonObject { ["status"] = (int)response.StatusCode };
                if (response.StatusCode == HttpStatusCode.OK) reply["body"] = parsed;
                else reply["error"] = (string?)parsed["error"] ?? response.ReasonPhrase;
                var cookie = response.Headers.TryGetValues("Set-Cookie", out var set)
                    ? set.Select(c => c.Split(';')[0]).FirstOrDefault(c => c.StartsWith(KeyBrokerService.SessionCookie + "=", StringComparison.Ordinal)) : null;
                reply["session"] = cookie?[(KeyBrokerService.SessionCookie.Length + 1)..] ?? (string?)call["session"];
                s.Effective.Set("broker_calls", Volatile.Read(ref _calls).ToString(CultureInfo.InvariantCulture));
                // The cost model's key-release term: one per attested session that got its key. The Realm's second
                // request on the same session (timing the warm path from cached evidence) is not a second release.
                if (response.StatusCode == HttpStatusCode.OK && path.StartsWith("/kbs/v0/resource/", StringComparison.Ordinal) && (string?)call["session"] is { } sid)
                    lock (_released)
                        if (_released.Add(sid)) s.Effective.Set("key_release_calls", _released.Count.ToString(CultureInfo.InvariantCulture));
                return reply;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
            {
                // Unreachable, or not a broker: status 0, which the Realm may retry (a refusal it may not).
                return new JsonObject { ["status"] = 0, ["error"] = $"{Url()}: {e.Message}" };
            }
        }

        public void Dispose()
        {
            if (_rim is not null) LabBroker.Shared.Broker.RemoveReferenceRim(_rim);
        }
    }
}
