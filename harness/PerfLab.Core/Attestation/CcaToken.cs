using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Security.Cryptography.Cose;

namespace PerfLab.Core.Attestation;

/// <summary>Why a token is refused: each check has its own reason, so a failure says which check, never just "invalid".</summary>
public enum AttestationFailure
{
    /// <summary>Not a CCA token collection (CBOR tag 399 or 907 of a map with 44234 and 44241), or not well-formed CBOR.</summary>
    Encoding,
    /// <summary>A token is not a COSE_Sign1 message, or names an algorithm other than ES256/ES384/ES512.</summary>
    CoseEncoding,
    PlatformSignature,
    /// <summary>The Realm attestation key in the Realm token is not an EC public key this verifier can read.</summary>
    RealmKey,
    RealmSignature,
    /// <summary>The platform token's challenge is not the hash of the Realm attestation key: the two tokens are not one.</summary>
    Binding,
    MissingClaim,
    /// <summary>A claim is present but malformed (wrong type or length).</summary>
    ClaimSyntax,
    Profile,
    /// <summary>The platform's security lifecycle is not "secured" (PSA 0x3000–0x30ff).</summary>
    Lifecycle,
    /// <summary>The Realm's challenge is not the one the verifier issued.</summary>
    Nonce,
    Rim,
    PersonalizationValue,
    /// <summary>A software component's security version is below the policy's minimum, or it is absent.</summary>
    SecurityVersion,
    /// <summary>Cached evidence older than the policy allows.</summary>
    Age,
}

/// <summary>A platform software component (PSA/CCA claim 2399): its type, measurement, version and signer.</summary>
public sealed record SoftwareComponent(string? Type, byte[] Measurement, string? Version, byte[]? SignerId, string? HashAlgorithm);

/// <summary>The claims of a CCA platform token (claim keys per the CCA platform profile and draft-ffm-rats-cca-token).</summary>
public sealed record PlatformClaims(string? Profile, byte[]? Challenge, byte[]? ImplementationId, byte[]? InstanceId, byte[]? Config,
    int? Lifecycle, IReadOnlyList<SoftwareComponent> SoftwareComponents, string? VerificationService, string? HashAlgorithm);

/// <summary>The claims of a CCA Realm token (RMM specification A7.2.3).</summary>
public sealed record RealmClaims(string? Profile, byte[]? Challenge, byte[]? PersonalizationValue, byte[]? InitialMeasurement,
    IReadOnlyList<byte[]> ExtensibleMeasurements, string? HashAlgorithm, byte[]? PublicKey, string? PublicKeyHashAlgorithm);

/// <summary>
/// A CCA attestation token: the collection (CBOR tag 399, or 907 in the CMW form) of a platform token (44234) and a
/// Realm token (44241), each a COSE_Sign1 whose payload is a map of claims. Decoding reads; it does not verify.
/// </summary>
public sealed class CcaToken
{
    public const int PlatformKey = 44234, RealmKey = 44241;

    public byte[] PlatformSign1 { get; }
    public byte[] RealmSign1 { get; }
    public PlatformClaims Platform { get; }
    public RealmClaims Realm { get; }

    private CcaToken(byte[] platform, byte[] realm, PlatformClaims p, RealmClaims r) =>
        (PlatformSign1, RealmSign1, Platform, Realm) = (platform, realm, p, r);

    /// <summary>Decodes a token, or says why it cannot (<see cref="AttestationFailure.Encoding"/> or CoseEncoding).</summary>
    public static CcaToken Decode(ReadOnlyMemory<byte> token)
    {
        byte[]? platform = null, realm = null;
        try
        {
            var r = new CborReader(token, CborConformanceMode.Lax);
            var tag = (ulong)r.ReadTag();
            if (tag is not (399 or 907)) throw new AttestationException(AttestationFailure.Encoding, $"CBOR tag {tag}: a CCA token is tag 399 (or 907)");
            var n = r.ReadStartMap();
            for (var i = 0; n is null ? r.PeekState() != CborReaderState.EndMap : i < n; i++)
            {
                var key = r.ReadInt64();
                byte[] value;
                if (tag == 907)
                {
                    // CMW collection entry: [content type, token]
                    r.ReadStartArray();
                    r.ReadInt64();
                    value = r.ReadByteString();
                    r.ReadEndArray();
                }
                else value = r.ReadByteString();
                if (key == PlatformKey) platform = value;
                else if (key == RealmKey) realm = value;
            }
            r.ReadEndMap();
            if (r.BytesRemaining != 0) throw new AttestationException(AttestationFailure.Encoding, $"{r.BytesRemaining} bytes after the token collection");
        }
        catch (Exception e) when (e is CborContentException or InvalidOperationException or FormatException)
        {
            throw new AttestationException(AttestationFailure.Encoding, "not a well-formed CCA token collection: " + e.Message);
        }
        if (platform is null) throw new AttestationException(AttestationFailure.Encoding, "no platform token (key 44234)");
        if (realm is null) throw new AttestationException(AttestationFailure.Encoding, "no Realm token (key 44241)");
        return new CcaToken(platform, realm, ReadPlatform(Payload(platform, "platform")), ReadRealm(Payload(realm, "Realm")));
    }

    internal static CoseSign1Message Sign1(byte[] bytes, string which)
    {
        try { return CoseMessage.DecodeSign1(bytes); }
        catch (CryptographicException e) { throw new AttestationException(AttestationFailure.CoseEncoding, $"the {which} token is not a COSE_Sign1 message: {e.Message}"); }
    }

    private static byte[] Payload(byte[] sign1, string which) =>
        Sign1(sign1, which).Content?.ToArray() ?? throw new AttestationException(AttestationFailure.CoseEncoding, $"the {which} token has a detached payload");

    private static Dictionary<long, object?> Map(byte[] payload, string which)
    {
        try
        {
            var r = new CborReader(payload, CborConformanceMode.Lax);
            var m = (Dictionary<long, object?>)Value(r)!;
            return r.BytesRemaining == 0 ? m : throw new AttestationException(AttestationFailure.Encoding, $"bytes after the {which} claims");
        }
        catch (Exception e) when (e is CborContentException or InvalidOperationException or InvalidCastException)
        {
            throw new AttestationException(AttestationFailure.Encoding, $"the {which} claims are not a CBOR map with integer keys: {e.Message}");
        }
    }

    /// <summary>A CBOR item as plain values: maps with integer keys, arrays, byte and text strings, integers, booleans.</summary>
    private static object? Value(CborReader r)
    {
        switch (r.PeekState())
        {
            case CborReaderState.StartMap:
                r.ReadStartMap();
                var m = new Dictionary<long, object?>();
                while (r.PeekState() != CborReaderState.EndMap) { var k = r.ReadInt64(); m[k] = Value(r); }
                r.ReadEndMap();
                return m;
            case CborReaderState.StartArray:
                r.ReadStartArray();
                var a = new List<object?>();
                while (r.PeekState() != CborReaderState.EndArray) a.Add(Value(r));
                r.ReadEndArray();
                return a;
            case CborReaderState.ByteString: return r.ReadByteString();
            case CborReaderState.TextString: return r.ReadTextString();
            case CborReaderState.UnsignedInteger or CborReaderState.NegativeInteger: return r.ReadInt64();
            case CborReaderState.Boolean: return r.ReadBoolean();
            case CborReaderState.Tag: r.ReadTag(); return Value(r);
            default: r.SkipValue(); return null;
        }
    }

    private static byte[]? Bytes(Dictionary<long, object?> m, long k) => m.GetValueOrDefault(k) switch
    {
        byte[] b => b,
        null => null,
        // A nonce claim may be an array of one nonce (EAT).
        List<object?> { Count: 1 } l when l[0] is byte[] b => b,
        var v => throw new AttestationException(AttestationFailure.ClaimSyntax, $"claim {k} is {Kind(v)}, not a byte string"),
    };

    private static string? Text(Dictionary<long, object?> m, long k) => m.GetValueOrDefault(k) switch
    {
        string s => s,
        null => null,
        var v => throw new AttestationException(AttestationFailure.ClaimSyntax, $"claim {k} is {Kind(v)}, not a text string"),
    };

    private static string Kind(object? v) => v switch { byte[] => "a byte string", string => "a text string", long => "an integer", List<object?> => "an array", Dictionary<long, object?> => "a map", _ => "another type" };

    private static PlatformClaims ReadPlatform(byte[] payload)
    {
        var m = Map(payload, "platform");
        var components = new List<SoftwareComponent>();
        if (m.GetValueOrDefault(CcaClaimKeys.SoftwareComponents) is List<object?> list)
            foreach (var item in list)
            {
                if (item is not Dictionary<long, object?> c) throw new AttestationException(AttestationFailure.ClaimSyntax, "a software component (2399) is not a map");
                components.Add(new SoftwareComponent(Text(c, CcaClaimKeys.ComponentType), Bytes(c, CcaClaimKeys.ComponentMeasurement) ?? throw new AttestationException(AttestationFailure.MissingClaim, "a software component has no measurement-value (2)"),
                    Text(c, CcaClaimKeys.ComponentVersion), Bytes(c, CcaClaimKeys.ComponentSignerId), Text(c, CcaClaimKeys.ComponentHashAlgorithm)));
            }
        else if (m.ContainsKey(CcaClaimKeys.SoftwareComponents)) throw new AttestationException(AttestationFailure.ClaimSyntax, "claim 2399 (software components) is not an array");
        int? lifecycle = m.GetValueOrDefault(CcaClaimKeys.Lifecycle) switch { long l => (int)l, null => null, var v => throw new AttestationException(AttestationFailure.ClaimSyntax, $"claim 2395 (lifecycle) is {Kind(v)}") };
        return new PlatformClaims(Text(m, CcaClaimKeys.Profile), Bytes(m, CcaClaimKeys.Challenge), Bytes(m, CcaClaimKeys.ImplementationId), Bytes(m, CcaClaimKeys.InstanceId), Bytes(m, CcaClaimKeys.Config),
            lifecycle, components, Text(m, CcaClaimKeys.VerificationService), Text(m, CcaClaimKeys.PlatformHashAlgorithm));
    }

    private static RealmClaims ReadRealm(byte[] payload)
    {
        var m = Map(payload, "Realm");
        var rems = m.GetValueOrDefault(CcaClaimKeys.ExtensibleMeasurements) switch
        {
            List<object?> l when l.All(x => x is byte[]) => l.Cast<byte[]>().ToList(),
            null => [],
            var v => throw new AttestationException(AttestationFailure.ClaimSyntax, $"claim 44239 (REMs) is {Kind(v)}, not an array of byte strings"),
        };
        return new RealmClaims(Text(m, CcaClaimKeys.Profile), Bytes(m, CcaClaimKeys.Challenge), Bytes(m, CcaClaimKeys.PersonalizationValue), Bytes(m, CcaClaimKeys.InitialMeasurement), rems,
            Text(m, CcaClaimKeys.RealmHashAlgorithm), Bytes(m, CcaClaimKeys.RealmPublicKey), Text(m, CcaClaimKeys.RealmPublicKeyHashAlgorithm));
    }
}

/// <summary>The claim keys of CCA tokens (the CCA platform profile; the RMM specification A7.2.3; PSA software components), named once.</summary>
public static class CcaClaimKeys
{
    public const int Profile = 265, Challenge = 10;
    public const int ImplementationId = 2396, InstanceId = 256, Config = 2401, Lifecycle = 2395, SoftwareComponents = 2399,
        VerificationService = 2400, PlatformHashAlgorithm = 2402;
    public const int PersonalizationValue = 44235, InitialMeasurement = 44238, ExtensibleMeasurements = 44239, RealmHashAlgorithm = 44236,
        RealmPublicKey = 44237, RealmPublicKeyHashAlgorithm = 44240;
    /// <summary>Inside a software component.</summary>
    public const int ComponentType = 1, ComponentMeasurement = 2, ComponentVersion = 4, ComponentSignerId = 5, ComponentHashAlgorithm = 6;
}

/// <summary>A token refused, with the check that refused it.</summary>
public sealed class AttestationException(AttestationFailure reason, string message) : Exception(message)
{
    public AttestationFailure Reason { get; } = reason;
}
