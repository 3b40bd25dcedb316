using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace PerfLab.Core.Attestation;

/// <summary>An EC public key as a JSON Web Key (RFC 7517): how the Realm names its ephemeral key to the broker.</summary>
public sealed record EcJwk(
    [property: JsonPropertyName("kty")] string Kty,
    [property: JsonPropertyName("crv")] string Crv,
    [property: JsonPropertyName("x")] string X,
    [property: JsonPropertyName("y")] string Y)
{
    public static EcJwk From(ECDiffieHellman key)
    {
        var p = key.ExportParameters(false);
        if (p.Curve.Oid.FriendlyName is not ("nistP384" or "ECDSA_P384" or "secp384r1"))
            throw new ArgumentException($"the Realm's key-release key is on {p.Curve.Oid.FriendlyName}; P-384 is required", nameof(key));
        return new EcJwk("EC", "P-384", B64Url.Encode(p.Q.X!), B64Url.Encode(p.Q.Y!));
    }

    public ECDiffieHellman ToPublicKey()
    {
        if (Kty != "EC" || Crv != "P-384") throw new FormatException($"a key of kty '{Kty}' crv '{Crv}': only EC P-384 keys are accepted");
        byte[] x = B64Url.Decode(X, "x"), y = B64Url.Decode(Y, "y");
        if (x.Length != 48 || y.Length != 48) throw new FormatException($"a P-384 point has 48-byte coordinates, not {x.Length} and {y.Length}");
        try { return ECDiffieHellman.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP384, Q = new ECPoint { X = x, Y = y } }); }
        catch (CryptographicException e) { throw new FormatException("the key is not a point on P-384: " + e.Message, e); }
    }
}

/// <summary>
/// The attestation challenge that binds the Realm's key-release key to its evidence, as Trustee's KBS binds its
/// tee-pubkey: SHA-512 over the broker's nonce and the key's coordinates. A token whose challenge is this proves the key
/// was made by the Realm the token describes, for this nonce only.
/// </summary>
public static class RealmChallenge
{
    public static byte[] For(string nonce, EcJwk key)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
        h.AppendData(Encoding.UTF8.GetBytes("perflab-kbs/1|" + nonce + "|"));
        h.AppendData(B64Url.Decode(key.X, "x"));
        h.AppendData(B64Url.Decode(key.Y, "y"));
        return h.GetHashAndReset();
    }
}

/// <summary>A secret wrapped to one key: a JWE (RFC 7516) in its flattened JSON form, ECDH-ES direct with A256GCM.</summary>
public sealed record WrappedSecret(
    [property: JsonPropertyName("protected")] string Protected,
    [property: JsonPropertyName("iv")] string Iv,
    [property: JsonPropertyName("ciphertext")] string Ciphertext,
    [property: JsonPropertyName("tag")] string Tag);

/// <summary>
/// Wraps a secret to the Realm's ephemeral P-384 key and opens it inside: ECDH-ES with the Concat KDF of RFC 7518
/// §4.6.2 (SHA-256, AlgorithmID "A256GCM", 256 bits) and AES-256-GCM over the secret, the protected header as associated
/// data. Each wrap uses a fresh ephemeral broker key: nothing wrapped for one Realm opens in another.
/// </summary>
public static class SecretWrap
{
    private sealed record Header(
        [property: JsonPropertyName("alg")] string Alg,
        [property: JsonPropertyName("enc")] string Enc,
        [property: JsonPropertyName("epk")] EcJwk Epk);

    public static WrappedSecret Wrap(EcJwk recipient, ReadOnlySpan<byte> secret)
    {
        using var to = recipient.ToPublicKey();
        using var ephemeral = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        var header = B64Url.Encode(JsonSerializer.SerializeToUtf8Bytes(new Header("ECDH-ES", "A256GCM", EcJwk.From(ephemeral))));
        var cek = ConcatKdf(ephemeral, to.PublicKey);
        var iv = RandomNumberGenerator.GetBytes(12);
        var ct = new byte[secret.Length];
        var tag = new byte[16];
        using (var gcm = new AesGcm(cek, 16)) gcm.Encrypt(iv, secret, ct, tag, Encoding.ASCII.GetBytes(header));
        CryptographicOperations.ZeroMemory(cek);
        return new WrappedSecret(header, B64Url.Encode(iv), B64Url.Encode(ct), B64Url.Encode(tag));
    }

    /// <summary>Opens a wrapped secret with the Realm's private key; a wrap for another key or an altered one throws.</summary>
    public static byte[] Unwrap(ECDiffieHellman own, WrappedSecret w)
    {
        Header h;
        try { h = JsonSerializer.Deserialize<Header>(B64Url.Decode(w.Protected, "protected")) ?? throw new FormatException("empty protected header"); }
        catch (JsonException e) { throw new FormatException("the protected header is not JSON: " + e.Message, e); }
        if (h.Alg != "ECDH-ES" || h.Enc != "A256GCM") throw new FormatException($"alg '{h.Alg}' enc '{h.Enc}': only ECDH-ES with A256GCM is accepted");
        using var epk = h.Epk.ToPublicKey();
        var cek = ConcatKdf(own, epk.PublicKey);
        var ct = B64Url.Decode(w.Ciphertext, "ciphertext");
        var secret = new byte[ct.Length];
        try
        {
            using var gcm = new AesGcm(cek, 16);
            gcm.Decrypt(B64Url.Decode(w.Iv, "iv"), ct, B64Url.Decode(w.Tag, "tag"), secret, Encoding.ASCII.GetBytes(w.Protected));
        }
        catch (AuthenticationTagMismatchException e)
        {
            throw new CryptographicException("the wrapped secret does not open with this Realm's key: wrapped for another key, or altered", e);
        }
        finally { CryptographicOperations.ZeroMemory(cek); }
        return secret;
    }

    // RFC 7518 §4.6.2 with one round of SHA-256: H(counter=1 ‖ Z ‖ OtherInfo), OtherInfo = AlgorithmID ‖ PartyUInfo ‖
    // PartyVInfo ‖ SuppPubInfo, each info length-prefixed (32-bit big-endian); the parties' infos are empty.
    private static byte[] ConcatKdf(ECDiffieHellman own, ECDiffieHellmanPublicKey other)
    {
        var alg = "A256GCM"u8;
        var info = new byte[4 + alg.Length + 4 + 4 + 4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(info, alg.Length);
        alg.CopyTo(info.AsSpan(4));
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(info.AsSpan(info.Length - 4), 256);
        return own.DeriveKeyFromHash(other, HashAlgorithmName.SHA256, [0, 0, 0, 1], info);
    }
}

/// <summary>base64url without padding (RFC 4648 §5), as JOSE writes it.</summary>
public static class B64Url
{
    public static string Encode(ReadOnlySpan<byte> b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static byte[] Decode(string s, string field)
    {
        var t = s.Replace('-', '+').Replace('_', '/');
        t += (t.Length % 4) switch { 2 => "==", 3 => "=", _ => "" };
        try { return Convert.FromBase64String(t); }
        catch (FormatException) { throw new FormatException($"{field}: not base64url"); }
    }
}
