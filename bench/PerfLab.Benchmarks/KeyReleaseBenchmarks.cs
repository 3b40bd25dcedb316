using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using PerfLab.Core.Attestation;

namespace PerfLab.Benchmarks;

/// <summary>
/// The key-release cryptography on both sides, and the choice behind it: the Realm's ephemeral key made (P-384 ECDH, as
/// PerfLab uses; RSA-3072, the smallest RSA-OAEP size the issue accepts; RSA-2048, the article's), the broker's wrap, the
/// Realm's unwrap. A Realm makes its key on every cold start, so key generation is on the path to the first token.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 2, iterationCount: 8)]
public class KeyReleaseBenchmarks
{
    private readonly ECDiffieHellman _realm = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
    private readonly byte[] _secret = RandomNumberGenerator.GetBytes(96);
    private readonly RSA _rsa3072 = RSA.Create(3072);
    private EcJwk _jwk = null!;
    private WrappedSecret _wrapped = null!;
    private byte[] _oaep = [];

    [GlobalSetup]
    public void Setup()
    {
        _jwk = EcJwk.From(_realm);
        _wrapped = SecretWrap.Wrap(_jwk, _secret);
        _oaep = _rsa3072.Encrypt(_secret, RSAEncryptionPadding.OaepSHA256);
    }

    [Benchmark]
    public int RealmKeyP384()
    {
        using var k = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        return k.KeySize;
    }

    [Benchmark]
    public int RealmKeyRsa3072()
    {
        using var k = RSA.Create(3072);
        return k.ExportParameters(false).Modulus!.Length; // RSA keys are generated lazily: export forces it
    }

    [Benchmark]
    public int RealmKeyRsa2048()
    {
        using var k = RSA.Create(2048);
        return k.ExportParameters(false).Modulus!.Length;
    }

    /// <summary>The broker's side: a fresh ephemeral P-384 key, ECDH, Concat KDF, AES-256-GCM.</summary>
    [Benchmark]
    public int WrapP384() => SecretWrap.Wrap(_jwk, _secret).Ciphertext.Length;

    /// <summary>The Realm's side: ECDH with the broker's ephemeral key, Concat KDF, AES-256-GCM open.</summary>
    [Benchmark]
    public int UnwrapP384() => SecretWrap.Unwrap(_realm, _wrapped).Length;

    [Benchmark]
    public int UnwrapRsa3072Oaep() => _rsa3072.Decrypt(_oaep, RSAEncryptionPadding.OaepSHA256).Length;
}
