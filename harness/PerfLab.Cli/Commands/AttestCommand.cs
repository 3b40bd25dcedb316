using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using PerfLab.Core.Attestation;

namespace PerfLab.Cli.Commands;

/// <summary>`perflab attest verify`: a CCA token appraised against a trust anchor and, where given, reference values and a policy.</summary>
public static class AttestCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var token = new Option<string>("--token") { Description = "the CCA token (CBOR, tag 399 or 907)", Required = true };
        var anchor = new Option<string>("--trust-anchor") { Description = "the platform attestation key's public half (PEM)", Required = true };
        var rim = new Option<string[]>("--reference-rim") { Description = "an accepted RIM (hex; repeat for several), e.g. from perflab rim", AllowMultipleArgumentsPerToken = true };
        var rpv = new Option<string?>("--reference-rpv") { Description = "the accepted personalization value (hex, 64 bytes)" };
        var nonce = new Option<string?>("--nonce") { Description = "the challenge the verifier issued (hex, 64 bytes)" };
        var minSvn = new Option<string[]>("--min-version") { Description = "TYPE=VERSION: a platform software component's lowest accepted version, e.g. RMM=1.0.2", AllowMultipleArgumentsPerToken = true };
        var anyLifecycle = new Option<bool>("--any-lifecycle") { Description = "accept a platform whose lifecycle is not 'secured' (test platforms)" };
        var verify = new Command("verify", "Verify a CCA attestation token: the platform signature under the trust anchor, the Realm signature under\n" +
                                           "the Realm attestation key it carries, the binding between the two, the mandatory claims, then the\n" +
                                           "policy given (reference RIMs and personalization value, nonce, minimum versions, secured lifecycle).\n" +
                                           "The first failure ends it with its reason (exit 1); nothing is retried with a weaker check.\n" +
                                           "Example: perflab attest verify --token cca_token.cbor --trust-anchor cca_platform.pub --any-lifecycle")
        {
            token, anchor, rim, rpv, nonce, minSvn, anyLifecycle,
        };
        verify.SetAction(p => (int)Verify(p.GetValue(token)!, p.GetValue(anchor)!, p.GetValue(rim) ?? [], p.GetValue(rpv), p.GetValue(nonce),
            p.GetValue(minSvn) ?? [], p.GetValue(anyLifecycle), stdout, stderr));
        return new Command("attest", "CCA attestation: verify tokens.") { verify };
    }

    public static ExitCode Verify(string tokenPath, string anchorPath, IReadOnlyList<string> rims, string? rpv, string? nonce, IReadOnlyList<string> minVersions,
        bool anyLifecycle, TextWriter stdout, TextWriter stderr)
    {
        byte[] Hex(string option, string value)
        {
            try { return Convert.FromHexString(value.Trim()); }
            catch (FormatException) { throw new ArgumentException($"{option} {value}: not hexadecimal"); }
        }
        AppraisalPolicy policy;
        byte[] bytes;
        using var key = ECDsa.Create();
        try
        {
            if (!File.Exists(tokenPath)) throw new ArgumentException($"--token {tokenPath}: not found");
            if (!File.Exists(anchorPath)) throw new ArgumentException($"--trust-anchor {anchorPath}: not found");
            bytes = File.ReadAllBytes(tokenPath);
            try { key.ImportFromPem(File.ReadAllText(anchorPath)); }
            catch (Exception e) when (e is ArgumentException or CryptographicException) { throw new ArgumentException($"--trust-anchor {anchorPath}: not a PEM EC public key ({e.Message})"); }
            var mins = minVersions.Select(m =>
            {
                var parts = m.Split('=', 2);
                return parts.Length == 2 && Version.TryParse(parts[1], out var v) ? new MinimumVersion(parts[0], v)
                    : throw new ArgumentException($"--min-version {m}: TYPE=VERSION, e.g. RMM=1.0.2");
            }).ToList();
            policy = new AppraisalPolicy
            {
                ReferenceRims = rims.Count > 0 ? rims.Select(r => Hex("--reference-rim", r)).ToList() : null,
                ReferencePersonalizationValue = rpv is null ? null : Hex("--reference-rpv", rpv),
                ExpectedChallenge = nonce is null ? null : Hex("--nonce", nonce),
                MinimumVersions = mins, RequireSecuredLifecycle = !anyLifecycle,
            };
        }
        catch (ArgumentException e)
        {
            stderr.WriteLine("error: " + e.Message);
            return ExitCode.BadInput;
        }
        try
        {
            var a = CcaVerifier.Verify(bytes, key, policy);
            var p = a.Token.Platform;
            var r = a.Token.Realm;
            stdout.WriteLine($"verified: {string.Join("; ", a.Checked)}");
            stdout.WriteLine($"platform: profile {p.Profile}, lifecycle 0x{p.Lifecycle:x4}, instance {Convert.ToHexStringLower(p.InstanceId!)}");
            foreach (var c in p.SoftwareComponents)
                stdout.WriteLine($"  component {c.Type ?? "?"} version {c.Version ?? "?"}: {Convert.ToHexStringLower(c.Measurement)}");
            stdout.WriteLine($"realm: {r.HashAlgorithm} RIM {Convert.ToHexStringLower(r.InitialMeasurement!)}");
            for (var i = 0; i < r.ExtensibleMeasurements.Count; i++) stdout.WriteLine($"  REM{i} {Convert.ToHexStringLower(r.ExtensibleMeasurements[i])}");
            stdout.WriteLine($"  personalization value {Convert.ToHexStringLower(r.PersonalizationValue!)}");
            stdout.WriteLine($"  challenge {Convert.ToHexStringLower(r.Challenge!)}");
            if (policy.ReferenceRims is null) stdout.WriteLine("no reference RIM given: the Realm's identity was not appraised, only the token's integrity");
            return ExitCode.Ok;
        }
        catch (AttestationException e)
        {
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"REFUSED ({e.Reason}): {e.Message}"));
            return ExitCode.Failed;
        }
    }
}
