using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Security.Cryptography.Cose;

namespace PerfLab.Core.Attestation;

/// <summary>
/// Writes CCA tokens in the format a Realm on CCA hardware returns (tag 399 collection, two COSE_Sign1 tokens, ES384):
/// what an emulated platform signs with its own test keys, and what the verifier's tests build their faults from.
/// The platform challenge is set to the hash of the Realm attestation key (the binding) unless a claim overrides it.
/// </summary>
public static class CcaTokenWriter
{
    /// <summary>The Realm attestation key as the first CCA tokens carry it: an uncompressed EC point.</summary>
    public static byte[] RawPublicKey(ECDsa key)
    {
        var q = key.ExportParameters(false).Q;
        return [0x04, .. q.X!, .. q.Y!];
    }

    /// <summary>
    /// The token an emulated platform gives a Realm: its challenge (zero-extended to 64 bytes, as the RMM does) and RIM,
    /// zero REMs and personalization value, a Realm attestation key made for this token, and a platform in the secured
    /// lifecycle state with one software component — the emulated RMM — signed by <paramref name="platformKey"/>.
    /// </summary>
    public static byte[] ForEmulatedPlatform(byte[] challenge, byte[] rim, ECDsa platformKey)
    {
        if (challenge.Length > 64) throw new ArgumentException($"a challenge of {challenge.Length} bytes: the RMM takes at most 64", nameof(challenge));
        using var rak = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var realm = new RealmClaims(null, [.. challenge, .. new byte[64 - challenge.Length]], new byte[64], rim,
            [new byte[64], new byte[64], new byte[64], new byte[64]], rim.Length == 32 ? "sha-256" : "sha-512", RawPublicKey(rak), "sha-256");
        var platform = new PlatformClaims("tag:arm.com,2023:cca_platform#1.0.0", null, new byte[32], [0x01, .. new byte[32]], [0], 0x3000,
            [new SoftwareComponent("RMM", SHA256.HashData("perflab emulated RMM"u8), "0.0.0", new byte[32], "sha-256")], null, "sha-256");
        return Write(platform, realm, platformKey, rak);
    }

    public static byte[] Write(PlatformClaims platform, RealmClaims realm, ECDsa platformKey, ECDsa realmKey)
    {
        var p = platform.Challenge is null && realm.PublicKey is { } rak && realm.PublicKeyHashAlgorithm is { } h
            ? platform with { Challenge = CcaVerifier.Hash(h, rak) }
            : platform;
        var w = new CborWriter();
        w.WriteTag((CborTag)399);
        w.WriteStartMap(2);
        w.WriteInt32(CcaToken.PlatformKey);
        w.WriteByteString(Sign(Encode(p), platformKey));
        w.WriteInt32(CcaToken.RealmKey);
        w.WriteByteString(Sign(Encode(realm), realmKey));
        w.WriteEndMap();
        return w.Encode();
    }

    public static byte[] Sign(byte[] payload, ECDsa key) =>
        CoseSign1Message.SignEmbedded(payload, new CoseSigner(key, key.KeySize switch { 256 => HashAlgorithmName.SHA256, 521 => HashAlgorithmName.SHA512, _ => HashAlgorithmName.SHA384 }));

    public static byte[] Encode(PlatformClaims c)
    {
        var w = new CborWriter();
        w.WriteStartMap(null);
        Text(w, CcaClaimKeys.Profile, c.Profile);
        Bytes(w, CcaClaimKeys.Challenge, c.Challenge);
        Bytes(w, CcaClaimKeys.ImplementationId, c.ImplementationId);
        Bytes(w, CcaClaimKeys.InstanceId, c.InstanceId);
        Bytes(w, CcaClaimKeys.Config, c.Config);
        if (c.Lifecycle is { } l) { w.WriteInt32(CcaClaimKeys.Lifecycle); w.WriteInt32(l); }
        if (c.SoftwareComponents.Count > 0)
        {
            w.WriteInt32(CcaClaimKeys.SoftwareComponents);
            w.WriteStartArray(c.SoftwareComponents.Count);
            foreach (var s in c.SoftwareComponents)
            {
                w.WriteStartMap(null);
                Text(w, CcaClaimKeys.ComponentType, s.Type);
                Bytes(w, CcaClaimKeys.ComponentMeasurement, s.Measurement);
                Text(w, CcaClaimKeys.ComponentVersion, s.Version);
                Bytes(w, CcaClaimKeys.ComponentSignerId, s.SignerId);
                Text(w, CcaClaimKeys.ComponentHashAlgorithm, s.HashAlgorithm);
                w.WriteEndMap();
            }
            w.WriteEndArray();
        }
        Text(w, CcaClaimKeys.VerificationService, c.VerificationService);
        Text(w, CcaClaimKeys.PlatformHashAlgorithm, c.HashAlgorithm);
        w.WriteEndMap();
        return w.Encode();
    }

    public static byte[] Encode(RealmClaims c)
    {
        var w = new CborWriter();
        w.WriteStartMap(null);
        Text(w, CcaClaimKeys.Profile, c.Profile);
        Bytes(w, CcaClaimKeys.Challenge, c.Challenge);
        Bytes(w, CcaClaimKeys.PersonalizationValue, c.PersonalizationValue);
        Bytes(w, CcaClaimKeys.InitialMeasurement, c.InitialMeasurement);
        if (c.ExtensibleMeasurements.Count > 0)
        {
            w.WriteInt32(CcaClaimKeys.ExtensibleMeasurements);
            w.WriteStartArray(c.ExtensibleMeasurements.Count);
            foreach (var r in c.ExtensibleMeasurements) w.WriteByteString(r);
            w.WriteEndArray();
        }
        Text(w, CcaClaimKeys.RealmHashAlgorithm, c.HashAlgorithm);
        Bytes(w, CcaClaimKeys.RealmPublicKey, c.PublicKey);
        Text(w, CcaClaimKeys.RealmPublicKeyHashAlgorithm, c.PublicKeyHashAlgorithm);
        w.WriteEndMap();
        return w.Encode();
    }

    private static void Text(CborWriter w, int key, string? v)
    {
        if (v is null) return;
        w.WriteInt32(key);
        w.WriteTextString(v);
    }

    private static void Bytes(CborWriter w, int key, byte[]? v)
    {
        if (v is null) return;
        w.WriteInt32(key);
        w.WriteByteString(v);
    }
}
