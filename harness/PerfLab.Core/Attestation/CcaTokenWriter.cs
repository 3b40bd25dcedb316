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
        Text(w, 265, c.Profile);
        Bytes(w, 10, c.Challenge);
        Bytes(w, 2396, c.ImplementationId);
        Bytes(w, 256, c.InstanceId);
        Bytes(w, 2401, c.Config);
        if (c.Lifecycle is { } l) { w.WriteInt32(2395); w.WriteInt32(l); }
        if (c.SoftwareComponents.Count > 0)
        {
            w.WriteInt32(2399);
            w.WriteStartArray(c.SoftwareComponents.Count);
            foreach (var s in c.SoftwareComponents)
            {
                w.WriteStartMap(null);
                Text(w, 1, s.Type);
                Bytes(w, 2, s.Measurement);
                Text(w, 4, s.Version);
                Bytes(w, 5, s.SignerId);
                Text(w, 6, s.HashAlgorithm);
                w.WriteEndMap();
            }
            w.WriteEndArray();
        }
        Text(w, 2400, c.VerificationService);
        Text(w, 2402, c.HashAlgorithm);
        w.WriteEndMap();
        return w.Encode();
    }

    public static byte[] Encode(RealmClaims c)
    {
        var w = new CborWriter();
        w.WriteStartMap(null);
        Text(w, 265, c.Profile);
        Bytes(w, 10, c.Challenge);
        Bytes(w, 44235, c.PersonalizationValue);
        Bytes(w, 44238, c.InitialMeasurement);
        if (c.ExtensibleMeasurements.Count > 0)
        {
            w.WriteInt32(44239);
            w.WriteStartArray(c.ExtensibleMeasurements.Count);
            foreach (var r in c.ExtensibleMeasurements) w.WriteByteString(r);
            w.WriteEndArray();
        }
        Text(w, 44236, c.HashAlgorithm);
        Bytes(w, 44237, c.PublicKey);
        Text(w, 44240, c.PublicKeyHashAlgorithm);
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
