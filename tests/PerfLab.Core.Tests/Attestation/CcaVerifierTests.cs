using System.Security.Cryptography;
using PerfLab.Core.Attestation;

namespace PerfLab.Core.Tests.Attestation;

public class CcaVerifierTests
{
    private static string Vector(string name) => Path.Combine(AppContext.BaseDirectory, "Attestation", "vectors", name);
    private static byte[] Published => File.ReadAllBytes(Vector("cca_token.cbor"));
    private static ECDsa PublishedKey()
    {
        var k = ECDsa.Create();
        k.ImportFromPem(File.ReadAllText(Vector("cca_platform.pub")));
        return k;
    }

    private static readonly AppraisalPolicy Signatures = new() { RequireSecuredLifecycle = false };

    [Fact]
    public void The_published_TF_RMM_token_verifies_under_its_platform_key()
    {
        using var key = PublishedKey();
        var a = CcaVerifier.Verify(Published, key, Signatures);
        var p = a.Token.Platform;
        var r = a.Token.Realm;
        Assert.Equal("http://arm.com/CCA-SSD/1.0.0", p.Profile);
        Assert.NotEmpty(p.SoftwareComponents);
        Assert.Equal(64, r.Challenge!.Length);
        Assert.Equal(64, r.PersonalizationValue!.Length);
        Assert.Equal(4, r.ExtensibleMeasurements.Count);
        Assert.Equal(CcaVerifier.HashSize(r.HashAlgorithm!), r.InitialMeasurement!.Length);
        Assert.Equal(97, r.PublicKey!.Length); // a raw P-384 point
        Assert.Contains("binding (platform challenge = hash of the Realm key)", a.Checked);
        // Its RIM as a reference value passes; another fails with its own reason.
        var withRim = Signatures with { ReferenceRims = [r.InitialMeasurement] };
        CcaVerifier.Verify(Published, key, withRim);
        Reason(AttestationFailure.Rim, () => CcaVerifier.Verify(Published, key, Signatures with { ReferenceRims = [Flip(r.InitialMeasurement, 0)] }));
    }

    [Fact]
    public void The_published_token_is_refused_under_another_key_and_with_any_byte_of_either_signature_flipped()
    {
        using var key = PublishedKey();
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        Reason(AttestationFailure.PlatformSignature, () => CcaVerifier.Verify(Published, other, Signatures));
        var token = CcaToken.Decode(Published);
        // The last byte of each COSE_Sign1 is the end of its signature.
        var flippedPlatform = Rebuild(Flip(token.PlatformSign1, token.PlatformSign1.Length - 1), token.RealmSign1);
        Reason(AttestationFailure.PlatformSignature, () => CcaVerifier.Verify(flippedPlatform, key, Signatures));
        var flippedRealm = Rebuild(token.PlatformSign1, Flip(token.RealmSign1, token.RealmSign1.Length - 1));
        Reason(AttestationFailure.RealmSignature, () => CcaVerifier.Verify(flippedRealm, key, Signatures));
        // A byte of the claims (the payload starts a few bytes in): the signature no longer covers what is there.
        var payloadFlip = Rebuild(Flip(token.PlatformSign1, 40), token.RealmSign1);
        Reason(AttestationFailure.PlatformSignature, () => CcaVerifier.Verify(payloadFlip, key, Signatures));
    }

    // Tokens of our own, signed with test keys (named as such), to reach each check past the signatures.
    private static readonly ECDsa TestPlatformKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
    private static readonly ECDsa TestRealmKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
    private static readonly byte[] Nonce = Enumerable.Range(0, 64).Select(i => (byte)i).ToArray();
    private static readonly byte[] Rim = SHA256.HashData("rim"u8);

    private static PlatformClaims Platform() => new("tag:arm.com,2023:cca_platform#1.0.0", null, new byte[32], [1, .. new byte[32]], [0],
        0x3000, [new SoftwareComponent("RMM", new byte[32], "1.0.2", new byte[32], "sha-256"), new SoftwareComponent("BL", new byte[32], "2.11.0", new byte[32], "sha-256")],
        "https://verifier.example", "sha-256");

    private static RealmClaims Realm() => new(null, Nonce, new byte[64], Rim, [new byte[32], new byte[32], new byte[32], new byte[32]], "sha-256",
        CcaTokenWriter.RawPublicKey(TestRealmKey), "sha-256");

    private static byte[] Token(PlatformClaims? p = null, RealmClaims? r = null, ECDsa? realmKey = null) =>
        CcaTokenWriter.Write(p ?? Platform(), r ?? Realm(), TestPlatformKey, realmKey ?? TestRealmKey);

    private static readonly AppraisalPolicy Strict = new()
    {
        ExpectedChallenge = Nonce, ReferenceRims = [Rim], ReferencePersonalizationValue = new byte[64],
        MinimumVersions = [new MinimumVersion("RMM", new Version(1, 0, 2)), new MinimumVersion("BL", new Version(2, 10))],
    };

    [Fact]
    public void A_token_written_here_round_trips_and_passes_a_strict_policy()
    {
        var bytes = Token();
        var a = CcaVerifier.Verify(bytes, TestPlatformKey, Strict);
        Assert.Equal(Rim, a.Token.Realm.InitialMeasurement);
        Assert.Equal(CcaVerifier.Hash("sha-256", CcaTokenWriter.RawPublicKey(TestRealmKey)), a.Token.Platform.Challenge);
        Assert.Equal(["RMM", "BL"], a.Token.Platform.SoftwareComponents.Select(c => c.Type));
        Assert.Equal("policy", a.Checked[^1]);
    }

    public static TheoryData<string, AttestationFailure> Faults() => new()
    {
        { "not tagged 399", AttestationFailure.Encoding },
        { "truncated", AttestationFailure.Encoding },
        { "no Realm token", AttestationFailure.Encoding },
        { "Realm token not COSE", AttestationFailure.CoseEncoding },
        { "signed by another platform key", AttestationFailure.PlatformSignature },
        { "Realm token signed by another key", AttestationFailure.RealmSignature },
        { "Realm key not a point", AttestationFailure.RealmKey },
        { "Realm key missing", AttestationFailure.MissingClaim },
        { "platform challenge not the key's hash", AttestationFailure.Binding },
        { "Realm key hash algorithm changed", AttestationFailure.Binding },
        { "Realm token from another Realm", AttestationFailure.Binding },
        { "no platform profile", AttestationFailure.MissingClaim },
        { "no instance id", AttestationFailure.MissingClaim },
        { "no implementation id", AttestationFailure.MissingClaim },
        { "no lifecycle", AttestationFailure.MissingClaim },
        { "no software components", AttestationFailure.MissingClaim },
        { "no Realm challenge", AttestationFailure.MissingClaim },
        { "no RIM", AttestationFailure.MissingClaim },
        { "no personalization value", AttestationFailure.MissingClaim },
        { "challenge of 32 bytes", AttestationFailure.ClaimSyntax },
        { "three REMs", AttestationFailure.ClaimSyntax },
        { "RIM of the wrong length", AttestationFailure.ClaimSyntax },
        { "unknown hash algorithm", AttestationFailure.ClaimSyntax },
        { "not a CCA platform profile", AttestationFailure.Profile },
        { "lifecycle not secured", AttestationFailure.Lifecycle },
        { "lifecycle decommissioned", AttestationFailure.Lifecycle },
        { "another challenge", AttestationFailure.Nonce },
        { "another RIM", AttestationFailure.Rim },
        { "another personalization value", AttestationFailure.PersonalizationValue },
        { "RMM below its minimum version", AttestationFailure.SecurityVersion },
        { "no BL component", AttestationFailure.SecurityVersion },
        { "evidence too old", AttestationFailure.Age },
    };

    [Theory]
    [MemberData(nameof(Faults))]
    public void Every_fault_is_refused_with_its_own_reason(string fault, AttestationFailure reason)
    {
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var good = Token();
        var t = CcaToken.Decode(good);
        DateTime? received = null;
        byte[] bytes = fault switch
        {
            "not tagged 399" => [0xd9, 0x01, 0x90, .. good[3..]],
            "truncated" => good[..^10],
            "no Realm token" => Collection((CcaToken.PlatformKey, t.PlatformSign1)),
            "Realm token not COSE" => Rebuild(t.PlatformSign1, [0xa0]),
            "signed by another platform key" => CcaTokenWriter.Write(Platform(), Realm(), otherKey, TestRealmKey),
            "Realm token signed by another key" => Token(realmKey: otherKey),
            "Realm key not a point" => Token(Platform() with { Challenge = new byte[32] }, Realm() with { PublicKey = [0x04, 1, 2, 3] }),
            "Realm key missing" => Token(Platform() with { Challenge = new byte[32] }, Realm() with { PublicKey = null }),
            "platform challenge not the key's hash" => Token(Platform() with { Challenge = new byte[32] }),
            "Realm key hash algorithm changed" => Token(Platform() with { Challenge = CcaVerifier.Hash("sha-256", CcaTokenWriter.RawPublicKey(TestRealmKey)) }, Realm() with { PublicKeyHashAlgorithm = "sha-512" }),
            "Realm token from another Realm" => Rebuild(t.PlatformSign1, CcaToken.Decode(Token(realmKey: otherKey, r: Realm() with { PublicKey = CcaTokenWriter.RawPublicKey(otherKey) })).RealmSign1),
            "no platform profile" => Token(Platform() with { Profile = null }),
            "no instance id" => Token(Platform() with { InstanceId = null }),
            "no implementation id" => Token(Platform() with { ImplementationId = null }),
            "no lifecycle" => Token(Platform() with { Lifecycle = null }),
            "no software components" => Token(Platform() with { SoftwareComponents = [] }),
            "no Realm challenge" => Token(r: Realm() with { Challenge = null }),
            "no RIM" => Token(r: Realm() with { InitialMeasurement = null }),
            "no personalization value" => Token(r: Realm() with { PersonalizationValue = null }),
            "challenge of 32 bytes" => Token(r: Realm() with { Challenge = new byte[32] }),
            "three REMs" => Token(r: Realm() with { ExtensibleMeasurements = [new byte[32], new byte[32], new byte[32]] }),
            "RIM of the wrong length" => Token(r: Realm() with { InitialMeasurement = new byte[48] }),
            "unknown hash algorithm" => Token(r: Realm() with { HashAlgorithm = "md5" }),
            "not a CCA platform profile" => Token(Platform() with { Profile = "http://arm.com/psa/2.0.0" }),
            "lifecycle not secured" => Token(Platform() with { Lifecycle = 0x2000 }),
            "lifecycle decommissioned" => Token(Platform() with { Lifecycle = 0x6000 }),
            "another challenge" => Token(r: Realm() with { Challenge = Enumerable.Repeat((byte)7, 64).ToArray() }),
            "another RIM" => Token(r: Realm() with { InitialMeasurement = SHA256.HashData("other"u8) }),
            "another personalization value" => Token(r: Realm() with { PersonalizationValue = Enumerable.Repeat((byte)1, 64).ToArray() }),
            "RMM below its minimum version" => Token(Platform() with { SoftwareComponents = [Platform().SoftwareComponents[0] with { Version = "1.0.1" }, Platform().SoftwareComponents[1]] }),
            "no BL component" => Token(Platform() with { SoftwareComponents = [Platform().SoftwareComponents[0]] }),
            "evidence too old" => good,
            _ => throw new ArgumentException(fault),
        };
        if (fault == "evidence too old") received = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var policy = Strict with { MaxEvidenceAge = TimeSpan.FromMinutes(5) };
        var e = Assert.Throws<AttestationException>(() =>
            CcaVerifier.Verify(bytes, TestPlatformKey, policy, received, new DateTime(2026, 1, 1, 0, 10, 0, DateTimeKind.Utc)));
        Assert.Equal(reason, e.Reason);
        Assert.False(string.IsNullOrWhiteSpace(e.Message));
        // Without that fault the same policy passes: the refusal is the fault's, not the policy's.
        CcaVerifier.Verify(good, TestPlatformKey, policy, new DateTime(2026, 1, 1, 0, 9, 0, DateTimeKind.Utc), new DateTime(2026, 1, 1, 0, 10, 0, DateTimeKind.Utc));
    }

    private static void Reason(AttestationFailure reason, Action verify) => Assert.Equal(reason, Assert.Throws<AttestationException>(verify).Reason);

    private static byte[] Flip(byte[] b, int at)
    {
        var c = (byte[])b.Clone();
        c[at] ^= 0x01;
        return c;
    }

    private static byte[] Rebuild(byte[] platform, byte[] realm) => Collection((CcaToken.PlatformKey, platform), (CcaToken.RealmKey, realm));

    private static byte[] Collection(params (int Key, byte[] Token)[] items)
    {
        var w = new System.Formats.Cbor.CborWriter();
        w.WriteTag((System.Formats.Cbor.CborTag)399);
        w.WriteStartMap(items.Length);
        foreach (var (k, v) in items) { w.WriteInt32(k); w.WriteByteString(v); }
        w.WriteEndMap();
        return w.Encode();
    }
}
