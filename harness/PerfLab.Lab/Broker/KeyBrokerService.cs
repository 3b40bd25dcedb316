using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using HttpResults = Microsoft.AspNetCore.Http.Results;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using PerfLab.Core.Attestation;
using PerfLab.Core.Time;

namespace PerfLab.Lab.Broker;

/// <summary>The request bodies of the broker's HTTP interface, named as Trustee's KBS names them.</summary>
public sealed record AuthRequest([property: JsonPropertyName("version")] string Version, [property: JsonPropertyName("tee")] string Tee);
public sealed record AuthReply([property: JsonPropertyName("nonce")] string Nonce);
public sealed record AttestRequest([property: JsonPropertyName("tee-pubkey")] EcJwk TeePubkey, [property: JsonPropertyName("tee-evidence")] string TeeEvidence);
public sealed record AttestReply([property: JsonPropertyName("checked")] IReadOnlyList<string> Checked, [property: JsonPropertyName("verify_ms")] double VerifyMs,
    [property: JsonPropertyName("token_sha256")] string TokenSha256);
public sealed record BrokerError([property: JsonPropertyName("error")] string Error);

/// <summary>
/// The key broker as a real local HTTP service (Kestrel on loopback, an ephemeral port), with the KBS resource interface:
/// <c>POST /kbs/v0/auth</c> (a session cookie and a nonce), <c>POST /kbs/v0/attest</c> (evidence and the Realm's
/// key-release key), <c>GET /kbs/v0/resource/{repository}/{type}/{tag}</c> (the secret as a JWE wrapped to that key).
/// Refusals are the broker's status and reason as JSON. The platform's trust anchor is given; the secrets live only in
/// this process's memory.
/// </summary>
public sealed class KeyBrokerService : IAsyncDisposable
{
    public const string SessionCookie = "kbs-session-id";
    private readonly WebApplication _app;
    public KeyBroker Broker { get; }
    public Uri BaseUrl { get; }

    private KeyBrokerService(WebApplication app, KeyBroker broker, Uri url) => (_app, Broker, BaseUrl) = (app, broker, url);

    public static KeyBrokerService Start(ECDsa trustAnchor, BrokerPolicy policy, int port = 0)
    {
        var broker = new KeyBroker(trustAnchor, MonotonicClock.Instance, policy);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, port, l => l.Protocols = HttpProtocols.Http1);
            k.AddServerHeader = false;
        });
        var app = builder.Build();
        app.MapPost("/kbs/v0/auth", (HttpContext http, AuthRequest req) => Guard(() =>
        {
            var (session, nonce) = broker.Auth(req.Tee);
            http.Response.Cookies.Append(SessionCookie, session, new CookieOptions { HttpOnly = true });
            return HttpResults.Json(new AuthReply(nonce));
        }));
        app.MapPost("/kbs/v0/attest", (HttpContext http, AttestRequest req) => Guard(() =>
        {
            byte[] token;
            try { token = Convert.FromBase64String(req.TeeEvidence); }
            catch (FormatException) { throw new BrokerException(400, "tee-evidence: not base64"); }
            var r = broker.Attest(Session(http), req.TeePubkey, token);
            return HttpResults.Json(new AttestReply(r.Checked, r.VerifyMs, r.TokenSha256));
        }));
        app.MapGet("/kbs/v0/resource/{repository}/{type}/{tag}", (HttpContext http, string repository, string type, string tag) =>
            Guard(() => HttpResults.Json(broker.Resource(Session(http), $"{repository}/{type}/{tag}"))));
        app.StartAsync().GetAwaiter().GetResult();
        // The port Kestrel bound (the request was any free one).
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new KeyBrokerService(app, broker, new Uri(address));
    }

    private static string Session(HttpContext http) =>
        http.Request.Cookies.TryGetValue(SessionCookie, out var s) ? s : throw new BrokerException(401, "no session cookie: auth first");

    private static IResult Guard(Func<IResult> f)
    {
        try { return f(); }
        catch (BrokerException e) { return HttpResults.Json(new BrokerError(e.Message), statusCode: e.Status); }
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
