using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using PerfLab.Core.Attestation;
using PerfLab.Core.Results;

namespace PerfLab.Lab.Backends.Mechanics;

/// <summary>
/// Attestation, emulated in the real format: the emulated platform signs a CCA token (a platform token and a Realm token,
/// COSE_Sign1, ES384) over the launch's RIM and a fresh 64-byte challenge, with a Realm attestation key made for the
/// launch and a platform key made for the process — **test keys**, not a hardware root of trust, and the effective
/// setting says so. The host verifies it as a verifier would (signatures, binding, the RIM as the reference value, the
/// challenge) before the Realm may run; the phase times both.
/// </summary>
public sealed class EmulatedAttestationMechanic : IRealmMechanic
{
    /// <summary>The emulated platform's attestation key (a test key: it lives and dies with this process).</summary>
    private static readonly ECDsa PlatformTestKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);

    public IMechanicLaunch Begin(LaunchState state) => new Launch(state);

    private sealed class Launch(LaunchState s) : IMechanicLaunch
    {
        public void AfterLoadSent(AgentProcess agent)
        {
            var sw = Stopwatch.StartNew();
            var challenge = RandomNumberGenerator.GetBytes(64);
            var rim = s.Rim ?? throw new InvalidOperationException("attestation before the launch was measured");
            using var rak = ECDsa.Create(ECCurve.NamedCurves.nistP384);
            var realm = new RealmClaims(null, challenge, new byte[64], rim, [new byte[64], new byte[64], new byte[64], new byte[64]],
                rim.Length == 32 ? "sha-256" : "sha-512", CcaTokenWriter.RawPublicKey(rak), "sha-256");
            var platform = new PlatformClaims("tag:arm.com,2023:cca_platform#1.0.0", null, new byte[32], [0x01, .. new byte[32]], [0],
                0x3000, [new SoftwareComponent("RMM", SHA256.HashData("perflab emulated RMM"u8), "0.0.0", new byte[32], "sha-256")], null, "sha-256");
            var token = CcaTokenWriter.Write(platform, realm, PlatformTestKey, rak);
            var signed = sw.Elapsed.TotalMilliseconds;
            // The verifier's side: the RIM it expects and the challenge it issued. A refusal ends the launch.
            try { CcaVerifier.Verify(token, PlatformTestKey, new AppraisalPolicy { ExpectedChallenge = challenge, ReferenceRims = [rim] }); }
            catch (AttestationException e) { throw new RealmFailedException($"attestation refused ({e.Reason}): {e.Message}", ""); }
            s.Phases[Phase.Attest] = sw.Elapsed.TotalMilliseconds;
            s.Effective.Set("attestation_calls", "1");
            // The evidence itself, so anyone can appraise it again later (perflab attest verify): the token and the
            // emulated platform's public test key, and the hash the audit log records.
            s.Effective.Set("attestation_token", Convert.ToBase64String(token));
            s.Effective.Set("attestation_token_sha256", Convert.ToHexStringLower(SHA256.HashData(token)));
            s.Effective.Set("attestation_platform_test_key", PlatformTestKey.ExportSubjectPublicKeyInfoPem().ReplaceLineEndings("\n"));
            s.Effective.Set("attestation", string.Create(CultureInfo.InvariantCulture,
                $"emulated platform, test keys: CCA token ({token.Length} bytes, ES384) signed in {signed:0.###} ms, verified (signatures, binding, RIM, challenge) in {sw.Elapsed.TotalMilliseconds - signed:0.###} ms"));
        }
    }
}
