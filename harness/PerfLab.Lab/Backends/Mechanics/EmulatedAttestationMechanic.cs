using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using PerfLab.Core.Attestation;

namespace PerfLab.Lab.Backends.Mechanics;

/// <summary>
/// The emulated platform's attestation (the RMM's RSI_ATTEST_TOKEN and the platform's signature), in the real format: a
/// CCA token (a platform token and a Realm token, COSE_Sign1, ES384) over the launch's RIM and the challenge the Realm
/// gives, with a Realm attestation key made for the launch and a platform key made for the process — **test keys**, not a
/// hardware root of trust, and the effective setting says so. The Realm asks for it over the channel ("attest-token");
/// the key broker appraises it, with this platform's public key as its trust anchor.
/// </summary>
public sealed class EmulatedAttestationMechanic : IRealmMechanic
{
    /// <summary>The emulated platform's attestation key (a test key: it lives and dies with this process).</summary>
    public static readonly ECDsa PlatformTestKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);

    public IMechanicLaunch Begin(LaunchState state) => new Launch(state);

    private sealed class Launch(LaunchState s) : IMechanicLaunch
    {
        private int _tokens;

        public void BeforeStart() => s.Services["attest-token"] = Token;

        private JsonObject Token(JsonObject request)
        {
            var challenge = Convert.FromHexString((string?)request["challenge"] ?? throw new FormatException("attest-token: no challenge"));
            if (challenge.Length is not (32 or 48 or 64)) throw new FormatException($"attest-token: a challenge of {challenge.Length} bytes; the RMM takes 32, 48 or 64");
            var rim = s.AwaitRim(TimeSpan.FromMinutes(5));
            var sw = Stopwatch.StartNew();
            var token = CcaTokenWriter.ForEmulatedPlatform(challenge, rim, PlatformTestKey);
            var signedMs = sw.Elapsed.TotalMilliseconds;
            var n = Interlocked.Increment(ref _tokens);
            s.Effective.Set("attestation_calls", n.ToString(CultureInfo.InvariantCulture));
            // The evidence itself, so anyone can appraise it again later (perflab attest verify): the token and the
            // emulated platform's public test key, and the hash the audit log records.
            s.Effective.Set("attestation_token", Convert.ToBase64String(token));
            s.Effective.Set("attestation_token_sha256", Convert.ToHexStringLower(SHA256.HashData(token)));
            s.Effective.Set("attestation_platform_test_key", PlatformTestKey.ExportSubjectPublicKeyInfoPem().ReplaceLineEndings("\n"));
            s.Effective.Set("attestation", string.Create(CultureInfo.InvariantCulture,
                $"emulated platform, test keys: CCA token ({token.Length} bytes, ES384) over the Realm's challenge, signed in {signedMs:0.###} ms; appraised by the key broker"));
            return new JsonObject { ["token"] = Convert.ToBase64String(token) };
        }

    }
}
