using System.Security.Cryptography;
using PerfLab.Core.Time;

namespace PerfLab.Core.Attestation;

/// <summary>A broker's refusal: the HTTP status it answers with (401 no or stale attestation, 403 refused, 404 unknown, 400 malformed) and why.</summary>
public sealed class BrokerException(int status, string reason) : Exception(reason)
{
    public int Status { get; } = status;
}

/// <summary>How long a nonce may wait for its evidence, and how long a passed attestation is honoured (cached evidence).</summary>
public sealed record BrokerPolicy(TimeSpan NonceLifetime, TimeSpan EvidenceMaxAge)
{
    public IReadOnlyList<MinimumVersion> MinimumVersions { get; init; } = [];
    public static readonly BrokerPolicy Default = new(TimeSpan.FromSeconds(60), TimeSpan.FromMinutes(5));
}

/// <summary>What an attestation that passed gives back: the session, what was checked, and the appraisal's own time.</summary>
public sealed record AttestResult(string Session, IReadOnlyList<string> Checked, double VerifyMs, string TokenSha256);

/// <summary>
/// The key broker's logic, modelled on Confidential Containers' Trustee KBS (its RCAR handshake): <see cref="Auth"/>
/// opens a session with a fresh nonce; <see cref="Attest"/> takes the Realm's evidence and its key-release public key,
/// and appraises the token (trust anchor, binding, reference RIMs, the challenge = <see cref="RealmChallenge"/> of the
/// nonce and that key, lifecycle, minimum versions); <see cref="Resource"/> releases a secret wrapped to that key, only to
/// a session whose attestation passed and is no older than the policy's evidence age. A nonce serves one attempt: a
/// refused Realm must start again with a new one, and no check is ever skipped on a retry. Pure: the clock is given.
/// </summary>
public sealed class KeyBroker(ECDsa trustAnchor, IClock clock, BrokerPolicy policy)
{
    private sealed class Session(string nonce, long openedNs)
    {
        public string Nonce { get; } = nonce;
        public long OpenedNs { get; } = openedNs;
        public bool NonceUsed { get; set; }
        public long? AttestedNs { get; set; }
        public EcJwk? Key { get; set; }
    }

    private readonly object _lock = new();
    private readonly Dictionary<string, Session> _sessions = new();
    private readonly Dictionary<string, byte[]> _resources = new();
    // Counted: two launches of the same image and payload have the same RIM, and one ending must not refuse the other.
    private readonly Dictionary<string, int> _referenceRims = new();

    public BrokerPolicy Policy => policy;

    /// <summary>A secret the broker may release, under its resource path (repository/type/tag, as KBS names them).</summary>
    public void AddResource(string path, byte[] secret)
    {
        lock (_lock) _resources[path] = secret;
    }

    /// <summary>A RIM the broker accepts (the reference value of a launch the lab measured as the RMM would).</summary>
    public void AddReferenceRim(byte[] rim)
    {
        lock (_lock) _referenceRims[Convert.ToHexString(rim)] = _referenceRims.GetValueOrDefault(Convert.ToHexString(rim)) + 1;
    }

    public void RemoveReferenceRim(byte[] rim)
    {
        var hex = Convert.ToHexString(rim);
        lock (_lock)
        {
            if (!_referenceRims.TryGetValue(hex, out var n)) return;
            if (n <= 1) _referenceRims.Remove(hex);
            else _referenceRims[hex] = n - 1;
        }
    }

    /// <summary>Opens a session: its id and the nonce the Realm must bind into its evidence.</summary>
    public (string Session, string Nonce) Auth(string tee)
    {
        if (tee != "cca") throw new BrokerException(400, $"tee '{tee}': this broker appraises Arm CCA evidence only (tee 'cca')");
        var session = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var nonce = B64Url.Encode(RandomNumberGenerator.GetBytes(32));
        lock (_lock)
        {
            Expire();
            _sessions[session] = new Session(nonce, clock.NowNs());
        }
        return (session, nonce);
    }

    public AttestResult Attest(string session, EcJwk teeKey, byte[] token)
    {
        Session s;
        byte[][] rims;
        lock (_lock)
        {
            s = Find(session);
            if (s.NonceUsed) throw new BrokerException(401, "this session's nonce was already used: open a new session (auth) for a new attempt");
            var waited = Seconds(clock.NowNs() - s.OpenedNs);
            s.NonceUsed = true;
            if (waited > policy.NonceLifetime.TotalSeconds)
                throw new BrokerException(401, $"the nonce is {waited:0.#} s old; evidence must come within {policy.NonceLifetime.TotalSeconds:0} s of auth");
            rims = [.. _referenceRims.Keys.Select(Convert.FromHexString)];
        }
        if (rims.Length == 0) throw new BrokerException(403, "the broker has no reference RIM: no Realm launch was registered with it");
        var start = clock.NowNs();
        Appraisal appraisal;
        try
        {
            appraisal = CcaVerifier.Verify(token, trustAnchor, new AppraisalPolicy
            {
                ExpectedChallenge = RealmChallenge.For(s.Nonce, teeKey), ReferenceRims = rims, MinimumVersions = policy.MinimumVersions,
            });
        }
        catch (AttestationException e) { throw new BrokerException(403, $"attestation refused ({e.Reason}): {e.Message}"); }
        catch (FormatException e) { throw new BrokerException(400, "tee-pubkey: " + e.Message); }
        var verifyMs = Seconds(clock.NowNs() - start) * 1e3;
        lock (_lock)
        {
            s.AttestedNs = clock.NowNs();
            s.Key = teeKey;
        }
        return new AttestResult(session, appraisal.Checked, verifyMs, Convert.ToHexStringLower(SHA256.HashData(token)));
    }

    /// <summary>Releases a secret wrapped to the session's attested key. Evidence older than the policy's age is not honoured.</summary>
    public WrappedSecret Resource(string session, string path)
    {
        EcJwk key;
        byte[] secret;
        lock (_lock)
        {
            var s = Find(session);
            if (s.AttestedNs is not { } at || s.Key is null) throw new BrokerException(401, "this session has not passed attestation: attest first");
            var age = Seconds(clock.NowNs() - at);
            if (age > policy.EvidenceMaxAge.TotalSeconds)
                throw new BrokerException(401, $"the session's evidence is {age:0.#} s old; the policy honours {policy.EvidenceMaxAge.TotalSeconds:0} s: attest again");
            if (!_resources.TryGetValue(path, out var r)) throw new BrokerException(404, $"no resource '{path}'");
            (key, secret) = (s.Key, r);
        }
        return SecretWrap.Wrap(key, secret);
    }

    private Session Find(string session) =>
        _sessions.TryGetValue(session, out var s) ? s : throw new BrokerException(401, "unknown or expired session: auth first");

    // Sessions no one can use any more (nonce unused past its life, or evidence past its age) are dropped at each auth.
    private void Expire()
    {
        var now = clock.NowNs();
        foreach (var (id, s) in _sessions.ToList())
        {
            var dead = s.AttestedNs is { } at ? Seconds(now - at) > policy.EvidenceMaxAge.TotalSeconds
                : Seconds(now - s.OpenedNs) > policy.NonceLifetime.TotalSeconds;
            if (dead) _sessions.Remove(id);
        }
    }

    private static double Seconds(long ns) => ns / 1e9;
}
