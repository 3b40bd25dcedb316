using System.Diagnostics;
using System.Security.Cryptography;
using PerfLab.Core.Results;

namespace PerfLab.Lab.Backends.Mechanics;

/// <summary>
/// Attestation, emulated: a token binding the RIM to a fresh challenge under a per-launch key. It has the shape of the
/// flow (challenge in, evidence out, timed), not a CCA token's cryptography, and its effective setting says so.
/// </summary>
public sealed class EmulatedAttestationMechanic : IRealmMechanic
{
    public IMechanicLaunch Begin(LaunchState state) => new Launch(state);

    private sealed class Launch(LaunchState s) : IMechanicLaunch
    {
        public void AfterLoadSent(AgentProcess agent)
        {
            var sw = Stopwatch.StartNew();
            var challenge = RandomNumberGenerator.GetBytes(64);
            var token = HMACSHA256.HashData(RandomNumberGenerator.GetBytes(32), (byte[])[.. s.Rim ?? [], .. challenge]);
            s.Phases[Phase.Attest] = sw.Elapsed.TotalMilliseconds;
            s.Effective.Set("attestation_calls", "1");
            s.Effective.Set("attestation", "emulated: HMAC-SHA256 over the RIM and a 64-byte challenge, " + Convert.ToHexStringLower(token)[..16] + "…");
        }
    }
}
