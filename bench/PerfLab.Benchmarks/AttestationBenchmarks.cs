using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using PerfLab.Core.Attestation;
using PerfLab.Core.Measurement;

namespace PerfLab.Benchmarks;

/// <summary>
/// What attestation costs the host and the emulated platform per launch: a CCA token signed (two ES384 signatures),
/// verified (two ES384 verifications, the binding hash, the claims), and the RIM's per-granule work (a 4 KiB content
/// hash and a descriptor hash, SHA-512), to set beside the launch's measured attest and measure phases.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 2, iterationCount: 8)]
public class AttestationBenchmarks
{
    private readonly ECDsa _platform = ECDsa.Create(ECCurve.NamedCurves.nistP384), _rak = ECDsa.Create(ECCurve.NamedCurves.nistP384);
    private PlatformClaims _p = null!;
    private RealmClaims _r = null!;
    private byte[] _token = [];
    private readonly byte[] _granules = RandomNumberGenerator.GetBytes(256 * 4096);
    private readonly byte[] _challenge = RandomNumberGenerator.GetBytes(64);

    [GlobalSetup]
    public void Setup()
    {
        _r = new RealmClaims(null, _challenge, new byte[64], new byte[64], [new byte[64], new byte[64], new byte[64], new byte[64]], "sha-512",
            CcaTokenWriter.RawPublicKey(_rak), "sha-256");
        _p = new PlatformClaims("tag:arm.com,2023:cca_platform#1.0.0", null, new byte[32], [1, .. new byte[32]], [0], 0x3000,
            [new SoftwareComponent("RMM", new byte[32], "1.0.0", new byte[32], "sha-256")], null, "sha-256");
        _token = CcaTokenWriter.Write(_p, _r, _platform, _rak);
    }

    [Benchmark]
    public int SignToken() => CcaTokenWriter.Write(_p, _r, _platform, _rak).Length;

    [Benchmark]
    public int VerifyToken() => CcaVerifier.Verify(_token, _platform, new AppraisalPolicy { ExpectedChallenge = _challenge, ReferenceRims = [new byte[64]] }).Checked.Count;

    /// <summary>1 MiB (256 granules) measured into a RIM: per granule, its content hash and its descriptor's.</summary>
    [Benchmark(OperationsPerInvoke = 256)]
    public long RimPerGranule()
    {
        var b = new RimBuilder(new RealmParameters(RealmHashAlgorithm.Sha512, 33, 6, 4));
        b.AddData(0x8000_0000, _granules);
        return b.MeasuredGranules;
    }
}
