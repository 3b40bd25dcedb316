using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using PerfLab.Core.Attestation;
using PerfLab.Core.Results;
using PerfLab.Core.Suites;
using PerfLab.Lab.Agent;
using PerfLab.Lab.Backends.Mechanics;
using PerfLab.Lab.Broker;

namespace PerfLab.Lab.Tests.Runner;

/// <summary>
/// Integration (real agents, the real key broker over HTTP on loopback): an emulated Realm attests, gets its model key
/// and serves from encrypted weights; a tampered shard, an unreachable broker and evidence from another platform each
/// fail their own cell with the reason.
/// </summary>
public class ConfidentialDeliveryTests
{
    private const string Model = "preset: tiny, samples: 8, input_tokens_mean: 16, input_tokens_max: 32, output_tokens_mean: 8, output_tokens_max: 16";

    [Fact]
    public void An_encrypted_model_serves_the_same_answers_and_its_key_is_in_no_file_or_log()
    {
        using var scratch = new Scratch();
        var outcome = scratch.Run($$"""
            name: confidential-test
            seed: 3
            agent_timeout_s: 120
            workloads:
              - {name: plain, kind: llm, {{Model}}}
              - {name: sealed, kind: llm, weights: encrypted, {{Model}}}
            scenarios:
              - {type: offline, min_queries: 16, min_duration_s: 0}
            matrix: {platform: [native, cca-emulated], rsi_batch: [64k], vcpus: 1, pinning: auto}
            """);
        var skipped = Assert.Single(outcome.Cells, c => c.Status == CellStatus.Skipped);
        Assert.Equal(Platform.Native, skipped.Cell.Realm.Platform);
        Assert.Contains("weights: encrypted needs a Realm that attests", skipped.Reason);
        Assert.All(outcome.Cells.Where(c => c != skipped), c => Assert.Equal(CellStatus.Ok, c.Status));
        var plain = outcome.Cells.Single(c => c.Cell.Workload.Name == "plain" && c.Cell.Realm.Platform == Platform.CcaEmulated);
        var sealedCell = outcome.Cells.Single(c => c.Cell.Workload.Name == "sealed" && c.Status == CellStatus.Ok);
        var e = sealedCell.EffectiveRealm;
        // The same tokens for the same queries as from the plain weights: the Realm opened exactly the model.
        Assert.Equal(plain.EffectiveRealm["agent.tokens_digest"], e["agent.tokens_digest"]);
        Assert.Contains("AES-256-GCM shards", e["agent.weights_encrypted"]);
        Assert.Contains("binding", e["agent.attestation_verified"]);
        Assert.StartsWith("perflab/model-key/", e["agent.key_release"]);
        // The cost model counts one key release and one token per launch; none of the Realm's calls is an RSI call
        // beyond the payload's chunks.
        Assert.Equal("1", e["key_release_calls"]);
        Assert.Equal("1", e["attestation_calls"]);
        Assert.Equal(e["rsi_chunks"], e["agent.realm_rsi_calls"]);
        Assert.False(plain.EffectiveRealm.ContainsKey("key_release_calls"));
        foreach (var p in new[] { Phase.Attest, Phase.Verify, Phase.KeyRelease, Phase.Decrypt, Phase.Populate })
            Assert.True(sealedCell.PhasesMs.Get(p) > 0, $"phase {p.Name()} timed");
        Assert.False(plain.PhasesMs.Has(Phase.KeyRelease));
        Assert.True(plain.PhasesMs.Get(Phase.Verify) > 0, "a plain Realm attests too");
        // Sealed weights are not part of the RIM (they stream after attestation); plain ones are.
        Assert.True(long.Parse(plain.EffectiveRealm["rim_granules_measured"]) > long.Parse(e["rim_granules_measured"]) + 7000);
        // The Realm asked for the key twice on one session: the second time from cached evidence.
        Assert.True(double.Parse(e["agent.key_release_cached_ms"], System.Globalization.CultureInfo.InvariantCulture) > 0);

        // The report's start table has both Realm cells: the sealed one with its key release and decryption, and a warm
        // start (derived) shorter than its cold start; tco sizes a warm pool from it.
        var run = PerfLab.Results.RunFolderReader.Read(outcome.FolderPath, PerfLab.Results.ReadMode.Strict);
        var starts = PerfLab.Results.RealmStartTable.For(run).ToDictionary(x => x.CellId);
        var sealedStart = starts[sealedCell.Cell.Id];
        Assert.Equal("encrypted", sealedStart.Weights);
        Assert.True(sealedStart.Medians.ContainsKey(Phase.KeyRelease) && sealedStart.Medians.ContainsKey(Phase.Decrypt));
        Assert.True(sealedStart.WarmStartMs > 0 && sealedStart.WarmStartMs < sealedStart.ColdStartMs, $"warm {sealedStart.WarmStartMs} cold {sealedStart.ColdStartMs}");
        Assert.Equal(sealedStart.ColdStartMs, sealedCell.PhasesMs[Phase.Ready] + sealedCell.PhasesMs[Phase.FirstToken], 6);
        var (tcoOut, tcoErr) = (new StringWriter(), new StringWriter());
        var code = PerfLab.Cli.Commands.TcoCommand.Create(tcoOut, tcoErr).Parse(
            ["--model", "perflab-1b", "--dtype", "int4", "--context", "2048", "--tokens-per-s", "10", "--arrivals-per-s", "1", "--target-start-s", "5",
             "--cold-boot-from", outcome.FolderPath, "--cold-boot-cell", sealedCell.Cell.Id]).Invoke();
        Assert.True(code == 0, tcoErr.ToString());
        Assert.Contains($"Cold boot from {run.RunId} {sealedCell.Cell.Id} (encrypted weights)", tcoOut.ToString());
        Assert.Contains("A pooled Realm's start:", tcoOut.ToString());
        var ambiguous = new StringWriter();
        Assert.Equal(2, PerfLab.Cli.Commands.TcoCommand.Create(TextWriter.Null, ambiguous).Parse(
            ["--model", "perflab-1b", "--dtype", "int4", "--context", "2048", "--tokens-per-s", "10", "--arrivals-per-s", "1", "--cold-boot-from", outcome.FolderPath]).Invoke());
        Assert.Contains("name one with --cold-boot-cell", ambiguous.ToString());

        // The model key, got as an attested Realm gets it, is in no file of the run, the model cache or /dev/shm, raw or
        // written out in hex or base64; nor in any agent's last words.
        var key = KeyAsAnAttestedRealm(e["agent.key_release"].Split(':')[0], Convert.FromHexString(e["rim"]));
        var forms = new[] { key, Encoding.ASCII.GetBytes(Convert.ToHexStringLower(key)), Encoding.ASCII.GetBytes(Convert.ToHexString(key)),
                            Encoding.ASCII.GetBytes(Convert.ToBase64String(key)), Encoding.ASCII.GetBytes(B64Url.Encode(key)) };
        var modelDir = Path.GetDirectoryName(PerfLab.Lab.Workloads.WorkloadRegistry.For(sealedCell.Cell.Workload.Kind).PayloadFile(sealedCell.Cell.Workload))!;
        var files = Directory.GetFiles(outcome.FolderPath, "*", SearchOption.AllDirectories)
            .Concat(Directory.GetFiles(modelDir, "*", SearchOption.AllDirectories))
            .Concat(Directory.GetFiles("/dev/shm").Where(f => Path.GetFileName(f).StartsWith("perflab", StringComparison.Ordinal)))
            .ToList();
        Assert.Contains(files, f => f.EndsWith(EncryptedModels.ShardFile, StringComparison.Ordinal));
        foreach (var f in files)
        {
            var bytes = File.ReadAllBytes(f);
            foreach (var form in forms) Assert.True(bytes.AsSpan().IndexOf(form) < 0, $"the model key is in {f}");
        }
        Assert.All(outcome.Cells, c => Assert.DoesNotContain(Convert.ToBase64String(key), c.StderrTail ?? ""));
        // The audit log names the key release without the key.
        var audit = File.ReadAllText(Path.Combine(outcome.FolderPath, "audit.jsonl"));
        Assert.Contains("\"key.released\"", audit);
    }

    [Fact]
    public void A_flipped_bit_an_unreachable_broker_and_another_platform_s_evidence_each_fail_their_own_cell()
    {
        using var scratch = new Scratch();
        var started = DateTime.UtcNow.AddSeconds(-1);
        var sw = Stopwatch.StartNew();
        var outcome = scratch.Run($$"""
            name: confidential-faults
            seed: 3
            agent_timeout_s: 120
            workloads:
              - {name: tampered, kind: llm, weights: encrypted, {{Model}}}
              - {name: nobroker, kind: llm, weights: encrypted, {{Model}}}
              - {name: foreign, kind: llm, {{Model}}}
              - {name: fine, kind: llm, weights: encrypted, {{Model}}}
            scenarios:
              - {type: offline, min_queries: 16, min_duration_s: 0}
            matrix: {platform: [cca-emulated], rsi_batch: [2m], vcpus: 1, pinning: auto}
            """, default, new SealedFaults());
        var byName = outcome.Cells.ToDictionary(c => c.Cell.Workload.Name);
        Assert.Equal(CellStatus.Ok, byName["fine"].Status);

        var tampered = byName["tampered"];
        Assert.Equal(CellStatus.Failed, tampered.Status);
        Assert.Matches(@"the Realm ends: encrypted shard \d+ failed its check", tampered.Reason);

        var nobroker = byName["nobroker"];
        Assert.Equal(CellStatus.Failed, nobroker.Status);
        Assert.Contains($"the key broker is unavailable: {RealmAttestation.Attempts} attempts", nobroker.Reason);

        var foreign = byName["foreign"];
        Assert.Equal(CellStatus.Failed, foreign.Status);
        Assert.Contains("refused", foreign.Reason);
        Assert.Contains("PlatformSignature", foreign.Reason);
        // Bounded: four launches with retries took nowhere near the agent timeout.
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(110), $"took {sw.Elapsed}");
        var audit = File.ReadAllText(Path.Combine(outcome.FolderPath, "audit.jsonl"));
        Assert.Equal(3, audit.Split("realm.launch_failed").Length - 1);
        // Nothing of any of these Realms is left in shared memory: no private payload folder outlives its agent.
        Assert.DoesNotContain(Directory.GetDirectories("/dev/shm", "perflab-realm-*"), d => Directory.GetLastWriteTimeUtc(d) >= started);
    }

    /// <summary>
    /// A test's faults (named as such): for workload "tampered" one bit of a copy of the sealed weights flipped; for
    /// "nobroker" a broker address where nothing listens; for "foreign" a platform token signed by another platform's key.
    /// </summary>
    private sealed class SealedFaults : IRealmMechanic
    {
        private static readonly ECDsa ForeignPlatform = ECDsa.Create(ECCurve.NamedCurves.nistP384);

        public IMechanicLaunch Begin(LaunchState state) => new Launch(state);

        private sealed class Launch(LaunchState s) : IMechanicLaunch
        {
            private string? _copy;

            public void BeforeStart()
            {
                switch (s.Cell.Workload.Name)
                {
                    case "tampered":
                        var (path, manifest) = s.EncryptedPayload!.Value;
                        _copy = path + ".tampered-" + Guid.NewGuid().ToString("N")[..8];
                        File.Copy(path, _copy);
                        using (var f = new FileStream(_copy, FileMode.Open))
                        {
                            f.Position = manifest.ShardBytes + 1000; // inside shard 1
                            var b = f.ReadByte();
                            f.Position--;
                            f.WriteByte((byte)(b ^ 0x10));
                        }
                        s.EncryptedPayload = (_copy, manifest);
                        break;
                    case "nobroker":
                        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
                        l.Start();
                        var port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
                        l.Stop(); // nothing listens there now
                        s.BrokerUrl = new Uri($"http://127.0.0.1:{port}/");
                        break;
                    case "foreign":
                        s.Services["attest-token"] = request =>
                        {
                            var challenge = Convert.FromHexString((string)request["challenge"]!);
                            var token = CcaTokenWriter.ForEmulatedPlatform(challenge, s.AwaitRim(TimeSpan.FromMinutes(1)), ForeignPlatform);
                            return new System.Text.Json.Nodes.JsonObject { ["token"] = Convert.ToBase64String(token) };
                        };
                        break;
                }
            }

            public void Dispose()
            {
                if (_copy is not null) File.Delete(_copy);
            }
        }
    }

    /// <summary>The model key as any Realm that passes attestation would get it (this process is the emulated platform).</summary>
    private static byte[] KeyAsAnAttestedRealm(string resource, byte[] rim)
    {
        var broker = LabBroker.Shared.Broker;
        broker.AddReferenceRim(rim);
        try
        {
            using var realmKey = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
            var jwk = EcJwk.From(realmKey);
            var (session, nonce) = broker.Auth("cca");
            broker.Attest(session, jwk, CcaTokenWriter.ForEmulatedPlatform(RealmChallenge.For(nonce, jwk), rim, EmulatedAttestationMechanic.PlatformTestKey));
            return ModelKeyResource.From(SecretWrap.Unwrap(realmKey, broker.Resource(session, resource))).Key;
        }
        finally { broker.RemoveReferenceRim(rim); }
    }
}
