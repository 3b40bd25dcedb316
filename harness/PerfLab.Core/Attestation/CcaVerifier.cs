using System.Security.Cryptography;
using System.Security.Cryptography.Cose;

namespace PerfLab.Core.Attestation;

/// <summary>A software component's minimum security version: its type (e.g. "BL", "RMM") and the lowest version accepted.</summary>
public sealed record MinimumVersion(string ComponentType, Version Version);

/// <summary>
/// What a verifier accepts beyond the signatures and the binding: reference values for the Realm (its RIM and
/// personalization value, e.g. from `perflab rim`), the challenge it issued, minimum versions of the platform's
/// software, whether the lifecycle must be "secured", and how old cached evidence may be. Null: not checked.
/// </summary>
public sealed record AppraisalPolicy
{
    public IReadOnlyList<byte[]>? ReferenceRims { get; init; }
    public byte[]? ReferencePersonalizationValue { get; init; }
    public byte[]? ExpectedChallenge { get; init; }
    public IReadOnlyList<MinimumVersion> MinimumVersions { get; init; } = [];
    public bool RequireSecuredLifecycle { get; init; } = true;
    public TimeSpan? MaxEvidenceAge { get; init; }
}

/// <summary>A token that passed: its claims, for the key broker and the audit log.</summary>
public sealed record Appraisal(CcaToken Token, IReadOnlyList<string> Checked);

/// <summary>
/// Verifies a CCA token: the platform token's signature under the trust anchor (the platform's attestation key); the
/// Realm token's signature under the Realm attestation key it carries; the binding (the platform challenge is the hash of
/// that key, with the Realm's stated algorithm); the mandatory claims; then the policy. Checks run in that order and the
/// first failure ends the appraisal with its reason: nothing after a failure is retried with a weaker check.
/// </summary>
public static class CcaVerifier
{
    /// <param name="receivedUtc">when the evidence was obtained (for cached evidence); <paramref name="nowUtc"/> is the clock's now</param>
    public static Appraisal Verify(ReadOnlyMemory<byte> tokenBytes, ECDsa platformKey, AppraisalPolicy policy, DateTime? receivedUtc = null, DateTime? nowUtc = null)
    {
        var done = new List<string>();
        if (policy.MaxEvidenceAge is { } maxAge && receivedUtc is { } at && (nowUtc ?? DateTime.UtcNow) - at > maxAge)
            throw new AttestationException(AttestationFailure.Age, $"the evidence is {((nowUtc ?? DateTime.UtcNow) - at).TotalSeconds:0} s old; the policy accepts {maxAge.TotalSeconds:0} s");
        var token = CcaToken.Decode(tokenBytes);
        done.Add("encoding");

        Signature(token.PlatformSign1, "platform", platformKey, AttestationFailure.PlatformSignature);
        done.Add("platform signature (trust anchor)");

        var r = token.Realm;
        var rakBytes = r.PublicKey ?? throw Missing("Realm public key (44237)");
        using var rak = RealmAttestationKey(rakBytes);
        Signature(token.RealmSign1, "Realm", rak, AttestationFailure.RealmSignature);
        done.Add("Realm signature (its attestation key)");

        var p = token.Platform;
        var hashName = r.PublicKeyHashAlgorithm ?? throw Missing("Realm public key hash algorithm (44240)");
        var binder = Hash(hashName, rakBytes);
        var challenge = p.Challenge ?? throw Missing("platform challenge (10)");
        if (!CryptographicOperations.FixedTimeEquals(binder, challenge))
            throw new AttestationException(AttestationFailure.Binding, $"the platform challenge is not the {hashName} of the Realm attestation key: the tokens are not bound");
        done.Add("binding (platform challenge = hash of the Realm key)");

        // Mandatory claims of both tokens.
        _ = p.Profile ?? throw Missing("platform profile (265)");
        _ = p.ImplementationId ?? throw Missing("platform implementation id (2396)");
        _ = p.InstanceId ?? throw Missing("platform instance id (256)");
        _ = p.Lifecycle ?? throw Missing("platform lifecycle (2395)");
        if (p.SoftwareComponents.Count == 0) throw Missing("platform software components (2399)");
        var realmChallenge = r.Challenge ?? throw Missing("Realm challenge (10)");
        if (realmChallenge.Length != 64) throw new AttestationException(AttestationFailure.ClaimSyntax, $"the Realm challenge is {realmChallenge.Length} bytes; it is 64");
        var rim = r.InitialMeasurement ?? throw Missing("Realm initial measurement (44238)");
        var rpv = r.PersonalizationValue ?? throw Missing("Realm personalization value (44235)");
        if (rpv.Length != 64) throw new AttestationException(AttestationFailure.ClaimSyntax, $"the personalization value is {rpv.Length} bytes; it is 64");
        if (r.ExtensibleMeasurements.Count != 4) throw new AttestationException(AttestationFailure.ClaimSyntax, $"{r.ExtensibleMeasurements.Count} REMs; a Realm token has 4");
        var realmHash = r.HashAlgorithm ?? throw Missing("Realm hash algorithm (44236)");
        var size = HashSize(realmHash);
        if (rim.Length != size || r.ExtensibleMeasurements.Any(x => x.Length != size))
            throw new AttestationException(AttestationFailure.ClaimSyntax, $"measurements are not {size} bytes, as {realmHash} makes them");
        if (p.Profile is not ("http://arm.com/CCA-SSD/1.0.0" or "tag:arm.com,2023:cca_platform#1.0.0"))
            throw new AttestationException(AttestationFailure.Profile, $"platform profile '{p.Profile}' is not a CCA platform profile");
        done.Add("claims");

        if (policy.RequireSecuredLifecycle && p.Lifecycle is not (>= 0x3000 and <= 0x30ff))
            throw new AttestationException(AttestationFailure.Lifecycle, $"platform lifecycle 0x{p.Lifecycle:x4} is not secured (0x3000–0x30ff)");
        if (policy.ExpectedChallenge is { } nonce && !CryptographicOperations.FixedTimeEquals(nonce, realmChallenge))
            throw new AttestationException(AttestationFailure.Nonce, "the Realm challenge is not the one issued: a replayed or foreign token");
        if (policy.ReferenceRims is { } rims && !rims.Any(x => CryptographicOperations.FixedTimeEquals(x, rim)))
            throw new AttestationException(AttestationFailure.Rim, $"RIM {Convert.ToHexStringLower(rim)} is not a reference value");
        if (policy.ReferencePersonalizationValue is { } refRpv && !CryptographicOperations.FixedTimeEquals(refRpv, rpv))
            throw new AttestationException(AttestationFailure.PersonalizationValue, "the personalization value is not the reference one");
        foreach (var min in policy.MinimumVersions)
        {
            var c = p.SoftwareComponents.FirstOrDefault(x => x.Type == min.ComponentType)
                    ?? throw new AttestationException(AttestationFailure.SecurityVersion, $"no software component of type '{min.ComponentType}' to hold to version {min.Version}");
            if (!Version.TryParse(c.Version, out var v) || v < min.Version)
                throw new AttestationException(AttestationFailure.SecurityVersion, $"software component '{min.ComponentType}' is version '{c.Version}', below {min.Version}");
        }
        done.Add("policy");
        return new Appraisal(token, done);
    }

    private static AttestationException Missing(string claim) => new(AttestationFailure.MissingClaim, $"no {claim}");

    private static void Signature(byte[] sign1, string which, ECDsa key, AttestationFailure reason)
    {
        var msg = CcaToken.Sign1(sign1, which);
        bool ok;
        try { ok = msg.VerifyEmbedded(key); }
        catch (CryptographicException e) { throw new AttestationException(AttestationFailure.CoseEncoding, $"the {which} token's signature cannot be checked: {e.Message}"); }
        if (!ok) throw new AttestationException(reason, $"the {which} token's signature does not verify");
    }

    /// <summary>The Realm attestation key: a raw uncompressed EC point (the first CCA tokens) or a COSE_Key (the 2023
    /// profile), told apart by their shape.</summary>
    private static ECDsa RealmAttestationKey(byte[] raw)
    {
        var point = raw.Length is 65 or 97 or 133 && raw[0] == 0x04;
        try
        {
            if (!point) return ECDsa.Create(CoseKey.FromCose(raw));
            var n = (raw.Length - 1) / 2;
            return ECDsa.Create(new ECParameters
            {
                Curve = n switch { 32 => ECCurve.NamedCurves.nistP256, 48 => ECCurve.NamedCurves.nistP384, _ => ECCurve.NamedCurves.nistP521 },
                Q = new ECPoint { X = raw[1..(1 + n)], Y = raw[(1 + n)..] },
            });
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException or InvalidOperationException or System.Formats.Cbor.CborContentException)
        {
            throw new AttestationException(AttestationFailure.RealmKey, $"the Realm attestation key is not an EC public key (read as {(point ? "a raw point" : "a COSE_Key")}): {e.Message}");
        }
    }

    public static int HashSize(string name) => name switch
    {
        "sha-256" => 32, "sha-384" => 48, "sha-512" => 64,
        _ => throw new AttestationException(AttestationFailure.ClaimSyntax, $"hash algorithm '{name}': sha-256, sha-384 or sha-512"),
    };

    public static byte[] Hash(string name, byte[] data) => name switch
    {
        "sha-256" => SHA256.HashData(data), "sha-384" => SHA384.HashData(data), "sha-512" => SHA512.HashData(data),
        _ => throw new AttestationException(AttestationFailure.ClaimSyntax, $"hash algorithm '{name}': sha-256, sha-384 or sha-512"),
    };
}

/// <summary>An EC2 COSE_Key (RFC 9053): kty 2, crv 1/2/3 (P-256/384/521), x and y.</summary>
internal static class CoseKey
{
    public static ECParameters FromCose(byte[] raw)
    {
        var r = new System.Formats.Cbor.CborReader(raw);
        r.ReadStartMap();
        long crv = 0; byte[]? x = null, y = null; long kty = 0;
        while (r.PeekState() != System.Formats.Cbor.CborReaderState.EndMap)
        {
            switch (r.ReadInt64())
            {
                case 1: kty = r.ReadInt64(); break;
                case -1: crv = r.ReadInt64(); break;
                case -2: x = r.ReadByteString(); break;
                case -3: y = r.ReadByteString(); break;
                default: r.SkipValue(); break;
            }
        }
        if (kty != 2 || x is null || y is null) throw new ArgumentException("not an EC2 COSE_Key with x and y");
        return new ECParameters
        {
            Curve = crv switch { 1 => ECCurve.NamedCurves.nistP256, 2 => ECCurve.NamedCurves.nistP384, 3 => ECCurve.NamedCurves.nistP521, _ => throw new ArgumentException($"COSE curve {crv}") },
            Q = new ECPoint { X = x, Y = y },
        };
    }
}
