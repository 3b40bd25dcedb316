using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using PerfLab.Core.Attestation;
using PerfLab.Core.Channel;

namespace PerfLab.Lab.Agent;

/// <summary>The Realm could not prove itself or get its key: the reason, and whether the broker was merely unreachable.</summary>
public sealed class KeyReleaseException(string message) : Exception(message);

/// <summary>What the broker releases for a model: its key and the hash of the shard manifest it opens (the manifest itself
/// comes from the untrusted host, so the Realm trusts it only when it hashes to this).</summary>
public sealed record ModelKeyResource(byte[] Key, string ManifestSha256)
{
    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(new { key = Convert.ToBase64String(Key), manifest_sha256 = ManifestSha256 });

    public static ModelKeyResource From(byte[] bytes)
    {
        var o = JsonNode.Parse(bytes)?.AsObject() ?? throw new KeyReleaseException("the released resource is empty");
        return new ModelKeyResource(Convert.FromBase64String((string)o["key"]!), (string)o["manifest_sha256"]!);
    }

    public static string HashOf(ShardManifest m) => Convert.ToHexStringLower(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(m)));
}

/// <summary>
/// Inside the Realm: attests to the key broker and, when its weights are encrypted, receives their key. The Realm makes
/// an ephemeral P-384 key pair (the private half never leaves this object), binds its public key into the attestation
/// challenge with the broker's nonce, gets its token (from the emulated platform over the channel, or configfs-tsm in
/// a real Realm), has the broker appraise it, and receives the model key wrapped to its key. Every step is timed; the
/// broker is asked again on the same session to time a key release from cached evidence (a warm start). A broker that
/// cannot be reached is retried a bounded number of times; a refusal is never retried.
/// </summary>
public sealed class RealmAttestation(Func<string, string> call)
{
    public const int Attempts = 4;
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(100);

    public ModelKeyResource? Run(AttestationPlan plan, ShardManifest? shards, IDictionary<string, string> info)
    {
        using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        var jwk = EcJwk.From(key);
        var sw = Stopwatch.StartNew();
        var (session, auth) = Broker("POST", "/kbs/v0/auth", null, new JsonObject { ["version"] = "0.1.0", ["tee"] = "cca" });
        var nonce = (string?)auth["nonce"] ?? throw new KeyReleaseException("the broker's auth reply has no nonce");
        info["broker_auth_ms"] = Ms(sw);

        // The attest phase is the evidence for the broker's nonce: the auth round trip and the token.
        var challenge = RealmChallenge.For(nonce, jwk);
        var token = plan.TokenSource switch
        {
            AttestationPlan.Channel => PlatformToken(challenge),
            AttestationPlan.ConfigfsTsm => ConfigfsTsm.Report(ConfigfsTsm.Root, challenge),
            var other => throw new KeyReleaseException($"token source '{other}': valid are {AttestationPlan.Channel}, {AttestationPlan.ConfigfsTsm}"),
        };
        info["phase.attest_ms"] = Ms(sw);
        info["attestation_token_bytes"] = token.Length.ToString(CultureInfo.InvariantCulture);

        sw.Restart();
        var (_, verdict) = Broker("POST", "/kbs/v0/attest", session,
            new JsonObject { ["tee-pubkey"] = JsonSerializer.SerializeToNode(jwk), ["tee-evidence"] = Convert.ToBase64String(token) });
        info["phase.verify_ms"] = Ms(sw);
        info["broker_verify_ms"] = ((double?)verdict["verify_ms"] ?? double.NaN).ToString("0.###", CultureInfo.InvariantCulture);
        info["attestation_verified"] = string.Join("; ", verdict["checked"]?.AsArray().Select(x => (string?)x) ?? []);
        info["attestation_token_sha256"] = (string?)verdict["token_sha256"] ?? "";
        if (plan.KeyResource is not { } resource) return null;

        sw.Restart();
        var released = Release(key, session, resource);
        info["phase.key_release_ms"] = Ms(sw);
        // A warm start: the same session, its evidence cached by the broker within the policy's age.
        sw.Restart();
        var again = Release(key, session, resource);
        info["key_release_cached_ms"] = Ms(sw);
        CryptographicOperations.ZeroMemory(again.Key);
        info["key_release"] = $"{resource}: JWE (ECDH-ES, A256GCM) to the Realm's P-384 key";
        if (shards is not null && ModelKeyResource.HashOf(shards) != released.ManifestSha256)
            throw new KeyReleaseException("the shard manifest the host sent is not the one the key was released for: the Realm will not load it");
        return released;
    }

    private ModelKeyResource Release(ECDiffieHellman key, string session, string resource)
    {
        var (_, body) = Broker("GET", "/kbs/v0/resource/" + resource, session, null);
        var wrapped = body.Deserialize<WrappedSecret>() ?? throw new KeyReleaseException("the broker's resource reply is empty");
        byte[] secret;
        try { secret = SecretWrap.Unwrap(key, wrapped); }
        catch (Exception e) when (e is CryptographicException or FormatException) { throw new KeyReleaseException("the released key does not open: " + e.Message); }
        try { return ModelKeyResource.From(secret); }
        finally { CryptographicOperations.ZeroMemory(secret); }
    }

    private byte[] PlatformToken(byte[] challenge)
    {
        var reply = Call(new JsonObject { ["call"] = "attest-token", ["challenge"] = Convert.ToHexStringLower(challenge) });
        if ((string?)reply["error"] is { } e) throw new KeyReleaseException("the platform gave no attestation token: " + e);
        return Convert.FromBase64String((string?)reply["token"] ?? throw new KeyReleaseException("the platform's reply has no token"));
    }

    /// <summary>One broker request through the host. Unreachable (status 0 or 503): retried with backoff, at most
    /// <see cref="Attempts"/> times. Any other refusal ends the attempt at once with the broker's reason.</summary>
    private (string Session, JsonObject Body) Broker(string method, string path, string? session, JsonObject? body)
    {
        var backoff = FirstBackoff;
        var waited = TimeSpan.Zero;
        for (var attempt = 1; ; attempt++)
        {
            var reply = Call(new JsonObject { ["call"] = "broker", ["method"] = method, ["path"] = path, ["session"] = session, ["body"] = body?.DeepClone() });
            var status = (int?)reply["status"] ?? 0;
            if (status == 200)
                return ((string?)reply["session"] ?? session ?? "", reply["body"]?.AsObject() ?? new JsonObject());
            var reason = (string?)reply["error"] ?? $"status {status}";
            if (status is not (0 or 503))
                throw new KeyReleaseException($"the key broker refused {method} {path} ({status}): {reason}");
            if (attempt == Attempts)
                throw new KeyReleaseException($"the key broker is unavailable: {Attempts} attempts over {waited.TotalSeconds:0.0#} s, the last: {reason}");
            Thread.Sleep(backoff);
            waited += backoff;
            backoff *= 2;
        }
    }

    private JsonObject Call(JsonObject request) =>
        JsonNode.Parse(call(request.ToJsonString()))?.AsObject() ?? throw new KeyReleaseException("the host's reply is empty");

    private static string Ms(Stopwatch sw) => sw.Elapsed.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture);
}

/// <summary>
/// The guest kernel's attestation interface (configfs-tsm, Linux 6.7+; the arm-cca-guest provider): a report entry is
/// made, the 64-byte challenge written to inblob, the token read from outblob, and the entry removed.
/// </summary>
public static class ConfigfsTsm
{
    public const string Root = "/sys/kernel/config/tsm/report";

    /// <param name="entryName">the report entry's name (default: one of this process's own)</param>
    public static byte[] Report(string root, byte[] challenge, string? entryName = null)
    {
        if (!Directory.Exists(root)) throw new KeyReleaseException($"{root}: absent: this kernel has no configfs-tsm report interface (a Realm guest with the arm-cca-guest driver has)");
        var entry = Path.Combine(root, entryName ?? $"perflab-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]);
        try
        {
            Directory.CreateDirectory(entry);
            var provider = Path.Combine(entry, "provider");
            if (File.Exists(provider) && File.ReadAllText(provider).Trim() is { } p && p != "arm_cca_guest")
                throw new KeyReleaseException($"{provider}: '{p}': this is not a CCA Realm's attestation provider (arm_cca_guest)");
            File.WriteAllBytes(Path.Combine(entry, "inblob"), challenge);
            var token = File.ReadAllBytes(Path.Combine(entry, "outblob"));
            if (token.Length == 0) throw new KeyReleaseException($"{entry}/outblob: empty: the provider gave no token");
            return token;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KeyReleaseException($"{entry}: the report failed: {e.Message}");
        }
        finally
        {
            try { Directory.Delete(entry, recursive: false); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }
}
