using System.Security.Cryptography;
using PerfLab.Core.Attestation;
using PerfLab.Core.Time;

namespace PerfLab.Core.Tests.Attestation;

/// <summary>The key broker's rules in virtual time, with tokens from a platform and Realm of test keys (named as such).</summary>
public class KeyBrokerTests
{
    private static readonly ECDsa TestPlatformKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
    private static readonly byte[] Rim = SHA512.HashData("the launch's image"u8);
    private const string Resource = "perflab/model-key/test";
    private static readonly byte[] Secret = RandomNumberGenerator.GetBytes(32);

    private static (KeyBroker Broker, VirtualClock Clock) NewBroker()
    {
        var clock = new VirtualClock();
        var broker = new KeyBroker(TestPlatformKey, clock, BrokerPolicy.Default);
        broker.AddReferenceRim(Rim);
        broker.AddResource(Resource, Secret);
        return (broker, clock);
    }

    /// <summary>The evidence a Realm of this RIM gives for a challenge (the emulated platform's token, test keys).</summary>
    private static byte[] Evidence(byte[] challenge, byte[]? rim = null, ECDsa? platformKey = null) =>
        CcaTokenWriter.ForEmulatedPlatform(challenge, rim ?? Rim, platformKey ?? TestPlatformKey);

    /// <summary>A session whose Realm (of the reference RIM, this key) has passed attestation.</summary>
    private static string Attested(KeyBroker broker, EcJwk jwk)
    {
        var (session, nonce) = broker.Auth("cca");
        broker.Attest(session, jwk, Evidence(RealmChallenge.For(nonce, jwk)));
        return session;
    }

    private static int Refused(Action a) => Assert.Throws<BrokerException>(a).Status;

    [Fact]
    public void A_Realm_that_binds_its_key_gets_the_secret_and_no_other_key_opens_it()
    {
        var (broker, _) = NewBroker();
        using var realmKey = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        var jwk = EcJwk.From(realmKey);
        var (session, nonce) = broker.Auth("cca");
        var result = broker.Attest(session, jwk, Evidence(RealmChallenge.For(nonce, jwk)));
        Assert.Contains(result.Checked, c => c.StartsWith("binding", StringComparison.Ordinal));
        var wrapped = broker.Resource(session, Resource);
        Assert.Equal(Secret, SecretWrap.Unwrap(realmKey, wrapped));
        using var other = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        Assert.Throws<CryptographicException>(() => SecretWrap.Unwrap(other, wrapped));
        // Each release is wrapped afresh (a new ephemeral broker key): two releases share no ciphertext.
        Assert.NotEqual(wrapped.Ciphertext, broker.Resource(session, Resource).Ciphertext);
    }

    [Fact]
    public void Evidence_for_another_key_another_nonce_another_RIM_or_another_platform_is_refused_and_the_nonce_is_spent()
    {
        using var realmKey = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        using var otherKey = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        var jwk = EcJwk.From(realmKey);
        using var otherPlatform = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        foreach (var (name, make) in new (string, Func<string, byte[]>)[]
                 {
                     ("key not the one bound", n => Evidence(RealmChallenge.For(n, EcJwk.From(otherKey)))),
                     ("another nonce", _ => Evidence(RealmChallenge.For("another nonce", jwk))),
                     ("another RIM", n => Evidence(RealmChallenge.For(n, jwk), rim: SHA512.HashData("another image"u8))),
                     ("another platform", n => Evidence(RealmChallenge.For(n, jwk), platformKey: otherPlatform)),
                 })
        {
            var (broker, _) = NewBroker();
            var (session, nonce) = broker.Auth("cca");
            var e = Assert.Throws<BrokerException>(() => broker.Attest(session, jwk, make(nonce)));
            Assert.True(e.Status == 403, $"{name}: status {e.Status} ({e.Message})");
            Assert.StartsWith("attestation refused", e.Message);
            // Nothing is released, and the same session may not try again with the same nonce: a new attempt starts over.
            Assert.Equal(401, Refused(() => broker.Resource(session, Resource)));
            Assert.Equal(401, Refused(() => broker.Attest(session, jwk, Evidence(RealmChallenge.For(nonce, jwk)))));
        }
    }

    [Fact]
    public void Cached_evidence_is_honoured_within_its_age_and_not_after()
    {
        var (broker, clock) = NewBroker();
        using var realmKey = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        var jwk = EcJwk.From(realmKey);
        var session = Attested(broker, jwk);
        clock.Advance((long)(BrokerPolicy.Default.EvidenceMaxAge.TotalSeconds * 1e9) - 1_000_000_000);
        Assert.Equal(Secret, SecretWrap.Unwrap(realmKey, broker.Resource(session, Resource)));
        clock.Advance(2_000_000_000);
        var stale = Assert.Throws<BrokerException>(() => broker.Resource(session, Resource));
        Assert.Equal(401, stale.Status);
        Assert.Contains("attest again", stale.Message);
        // Attesting afresh works.
        var s2 = Attested(broker, jwk);
        Assert.Equal(Secret, SecretWrap.Unwrap(realmKey, broker.Resource(s2, Resource)));
    }

    [Fact]
    public void A_nonce_answered_late_an_unknown_session_an_unknown_resource_and_another_tee_are_refused_with_their_status()
    {
        var (broker, clock) = NewBroker();
        using var realmKey = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        var jwk = EcJwk.From(realmKey);
        var (late, lateNonce) = broker.Auth("cca");
        clock.Advance((long)(BrokerPolicy.Default.NonceLifetime.TotalSeconds * 1e9) + 1);
        Assert.Equal(401, Refused(() => broker.Attest(late, jwk, Evidence(RealmChallenge.For(lateNonce, jwk)))));
        Assert.Equal(401, Refused(() => broker.Resource("no-such-session", Resource)));
        Assert.Equal(400, Refused(() => broker.Auth("tdx")));
        var (session, nonce) = broker.Auth("cca");
        Assert.Equal(401, Refused(() => broker.Resource(session, Resource))); // not attested yet
        broker.Attest(session, jwk, Evidence(RealmChallenge.For(nonce, jwk)));
        Assert.Equal(404, Refused(() => broker.Resource(session, "perflab/model-key/other")));
    }

    [Fact]
    public void A_reference_RIM_stays_while_any_launch_that_registered_it_runs()
    {
        var (broker, _) = NewBroker();
        broker.AddReferenceRim(Rim); // a second launch of the same image
        broker.RemoveReferenceRim(Rim);
        using var realmKey = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        var jwk = EcJwk.From(realmKey);
        Attested(broker, jwk);
        broker.RemoveReferenceRim(Rim);
        var (s2, n2) = broker.Auth("cca");
        var e = Assert.Throws<BrokerException>(() => broker.Attest(s2, jwk, Evidence(RealmChallenge.For(n2, jwk))));
        Assert.Equal(403, e.Status);
        Assert.Contains("no reference RIM", e.Message);
    }

    [Fact]
    public void A_wrapped_secret_with_an_altered_header_ciphertext_or_tag_does_not_open()
    {
        using var realmKey = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        var w = SecretWrap.Wrap(EcJwk.From(realmKey), Secret);
        Assert.Equal(Secret, SecretWrap.Unwrap(realmKey, w));
        static string Flip(string b64)
        {
            var b = B64Url.Decode(b64, "x");
            b[0] ^= 1;
            return B64Url.Encode(b);
        }
        Assert.Throws<CryptographicException>(() => SecretWrap.Unwrap(realmKey, w with { Ciphertext = Flip(w.Ciphertext) }));
        Assert.Throws<CryptographicException>(() => SecretWrap.Unwrap(realmKey, w with { Tag = Flip(w.Tag) }));
        Assert.ThrowsAny<Exception>(() => SecretWrap.Unwrap(realmKey, w with { Protected = Flip(w.Protected) }));
        // Keys of another curve are refused by name, not by a failed operation later.
        using var p256 = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        Assert.Contains("P-384", Assert.Throws<ArgumentException>(() => EcJwk.From(p256)).Message);
        Assert.Throws<FormatException>(() => new EcJwk("EC", "P-256", "AA", "AA").ToPublicKey());
    }

    [Fact]
    public void The_challenge_binds_the_nonce_and_every_coordinate_of_the_key()
    {
        using var k = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        var jwk = EcJwk.From(k);
        var c = RealmChallenge.For("n", jwk);
        Assert.Equal(64, c.Length);
        Assert.NotEqual(c, RealmChallenge.For("m", jwk));
        var y = B64Url.Decode(jwk.Y, "y");
        y[^1] ^= 1;
        Assert.NotEqual(c, RealmChallenge.For("n", jwk with { Y = B64Url.Encode(y) }));
    }
}
