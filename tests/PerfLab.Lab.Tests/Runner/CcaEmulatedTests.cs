using PerfLab.Core.Results;
using PerfLab.Core.Suites;

namespace PerfLab.Lab.Tests.Runner;

/// <summary>The emulated Realm's mechanics, through the harness with real agents.</summary>
public class CcaEmulatedTests
{
    private const string Yaml = """
        name: ccae-test
        seed: 3
        agent_timeout_s: 120
        workloads:
          - {name: tiny, kind: llm, preset: tiny, samples: 8, input_tokens_mean: 16, input_tokens_max: 32, output_tokens_mean: 8, output_tokens_max: 16}
        scenarios:
          - {type: offline, min_queries: 16, min_duration_s: 0}
        matrix: {platform: [native, cca-emulated], rsi_batch: [64k, 2m], vcpus: 1, pinning: auto}
        baseline: {platform: native}
        """;

    [Fact]
    public void Chunks_and_round_trips_follow_the_batch_size_and_the_received_weights_are_the_model()
    {
        using var scratch = new Scratch();
        var outcome = scratch.Run(Yaml);
        Assert.All(outcome.Cells, c => Assert.Equal(CellStatus.Ok, c.Status));
        var emulated = outcome.Cells.Where(c => c.Cell.Realm.Platform == Platform.CcaEmulated).ToDictionary(c => c.Cell.Realm.RsiBatch.Value);
        var small = emulated[64 * 1024].EffectiveRealm;
        var large = emulated[2 * 1024 * 1024].EffectiveRealm;
        var bytes = long.Parse(small["payload_bytes"]);
        Assert.Equal((bytes + 65535) / 65536, long.Parse(small["rsi_chunks"]));
        Assert.Equal((bytes + 2097151) / 2097152, long.Parse(large["rsi_chunks"]));
        Assert.Equal(small["rsi_chunks"], small["host_round_trips"]);
        Assert.Equal(small["rsi_chunks"], small["agent.payload_chunks"]);
        Assert.Equal(bytes.ToString(), small["agent.payload_bytes_received"]);
        // The agent verified every tensor of what it received against the manifest before loading it.
        Assert.Contains("verified against the manifest", small["agent.weights_source"]);
        // The measurement covers content, not chunking; the answers are the native cells' answers.
        Assert.Equal(small["rim"], large["rim"]);
        Assert.Equal(128, small["rim"].Length); // SHA-512, as the RMM reports it
        // The bounce-copy and attestation terms' counts: every query's bytes in and its tokens' and answer's bytes out, in the window.
        var queries = long.Parse(small["agent.realm_queries"]);
        Assert.True(long.Parse(small["agent.realm_io_bytes_in"]) >= queries * 4, "a query message is at least 'q i s\n'");
        Assert.True(long.Parse(small["agent.realm_io_bytes_out"]) > long.Parse(small["agent.realm_io_bytes_in"]), "first token and answer out for each query in");
        Assert.Equal("1", small["attestation_calls"]);
        // The token is in the CCA format, signed by the emulated platform's test key, and the key broker verified it.
        // The token kept with the launch verifies again, offline, against its RIM, under the platform test key kept beside it.
        using (var platformKey = System.Security.Cryptography.ECDsa.Create())
        {
            platformKey.ImportFromPem(small["attestation_platform_test_key"]);
            var again = PerfLab.Core.Attestation.CcaVerifier.Verify(Convert.FromBase64String(small["attestation_token"]), platformKey,
                new PerfLab.Core.Attestation.AppraisalPolicy { ReferenceRims = [Convert.FromHexString(small["rim"])] });
            Assert.Equal("sha-512", again.Token.Realm.HashAlgorithm);
        }
        Assert.Matches(@"^emulated platform, test keys: CCA token \(\d+ bytes, ES384\) over the Realm's challenge, signed in [\d.]+ ms; appraised by the key broker", small["attestation"]);
        // The broker appraised it: every check, the binding among them.
        Assert.Equal("encoding; platform signature (trust anchor); Realm signature (its attestation key); binding (platform challenge = hash of the Realm key); claims; policy",
            small["agent.attestation_verified"]);
        Assert.True(long.Parse(small["rim_granules_measured"]) > bytes / 4096, "every payload granule is a measured DATA granule");
        var native = outcome.Cells.First(c => c.Cell.Realm.Platform == Platform.Native).EffectiveRealm["agent.tokens_digest"];
        Assert.Equal(native, small["agent.tokens_digest"]);
        Assert.Equal(native, large["agent.tokens_digest"]);
        Assert.All(emulated.Values, c => Assert.Equal(Evidence.Emulated, c.Evidence));
        Assert.All(emulated.Values, c => Assert.Equal("kvm-pvm-measured", c.EffectiveRealm["calibration_profile"]));
        // Every emulated figure names the profile its costs came from, in the summary and in the MLPerf summary file.
        Assert.All(emulated.Values, c => Assert.Equal("calibration profile kvm-pvm-measured", c.EvidenceSource));
        Assert.All(emulated.Values, c => Assert.Contains("evidence: emulated (calibration profile kvm-pvm-measured)",
            File.ReadAllText(Path.Combine(outcome.FolderPath, "cells", c.Cell.Id, "mlperf_log_summary.txt"))));
        Assert.Null(outcome.Cells.First(c => c.Cell.Realm.Platform == Platform.Native).EvidenceSource);
        Assert.All(emulated.Values, c => Assert.True(c.PhasesMs[Phase.Populate] > 0 && c.PhasesMs[Phase.Measure] > 0 && c.PhasesMs.Has(Phase.Attest)));

        // The run's audit log: each emulated launch measured, attested, loaded, ready and ended, in that order, chained.
        var audit = File.ReadAllLines(Path.Combine(outcome.FolderPath, "audit.jsonl"));
        var events = audit.Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("event").GetString()).ToList();
        Assert.Equal(2, events.Count(e => e == "attestation.verified"));
        Assert.Equal(events.Count(e => e == "realm.ready"), events.Count(e => e == "realm.ended"));
        var stdout = new StringWriter();
        Assert.Equal(PerfLab.Cli.ExitCode.Ok, PerfLab.Cli.Commands.AuditCommand.Verify(outcome.FolderPath, null, stdout, TextWriter.Null));
        Assert.Contains($"intact: {audit.Length} entries", stdout.ToString());
        // An edited, a deleted and a swapped line are each caught, and the broken log exits 1.
        var log = Path.Combine(outcome.FolderPath, "audit.jsonl");
        foreach (var broken in new[]
                 {
                     audit.Select((l, i) => i == 1 ? l.Replace("\"cell\":\"", "\"cell\":\"x") : l).ToArray(),
                     audit.Where((_, i) => i != 1).ToArray(),
                     audit.Select((l, i) => i == 1 ? audit[2] : i == 2 ? audit[1] : l).ToArray(),
                 })
        {
            File.WriteAllLines(log, broken);
            var o = new StringWriter();
            Assert.Equal(PerfLab.Cli.ExitCode.Failed, PerfLab.Cli.Commands.AuditCommand.Verify(outcome.FolderPath, null, o, TextWriter.Null));
            Assert.Contains("BROKEN at line 2", o.ToString());
        }
    }

    [Fact]
    public void An_unknown_calibration_profile_skips_the_emulated_cells_with_the_reason()
    {
        using var scratch = new Scratch();
        var outcome = scratch.Run(Yaml.Replace("seed: 3", "seed: 3\ncalibration_profile: nosuch").Replace("rsi_batch: [64k, 2m]", "rsi_batch: 64k"));
        var emulated = outcome.Cells.Single(c => c.Cell.Realm.Platform == Platform.CcaEmulated);
        Assert.Equal(CellStatus.Skipped, emulated.Status);
        Assert.Contains("no calibration profile 'nosuch'", emulated.Reason);
        Assert.Contains("kvm-pvm-measured", emulated.Reason);
        Assert.Equal(CellStatus.Ok, outcome.Cells.Single(c => c.Cell.Realm.Platform == Platform.Native).Status);
    }
}

/// <summary>MPAM without resctrl: the noisy neighbour's share is set from the cell and it never outlives its cell.</summary>
public class InterferenceTests
{
    private const string Yaml = """
        name: mpam-test
        workloads:
          - {name: w, kind: synthetic, output_tokens: 4, decode_us_per_token: 50, working_set_mib: 16}
        scenarios:
          - {type: single-stream, min_queries: 20, min_duration_s: 0}
        matrix:
          platform: native
          vcpus: 1
          pinning: auto
          co_tenant: [none, stream]
          mpam: [off, {bandwidth_pct: 50}, {cache_pct: 25}]
        """;

    [Fact]
    public void The_neighbour_runs_at_the_share_the_cell_leaves_it_and_is_gone_after_the_cell()
    {
        using var scratch = new Scratch();
        var outcome = scratch.Run(Yaml);
        PerfLab.Core.Results.CellResult Cell(string co, string mpam) =>
            outcome.Cells.Single(c => c.Cell.Realm.CoTenant.Name() == co && c.Cell.Realm.Mpam.ToShort() == mpam);
        Assert.Equal(CellStatus.Ok, Cell("none", "off").Status);
        Assert.False(Cell("none", "off").EffectiveRealm.ContainsKey("co_tenant"));
        Assert.Contains("busy 100 %", Cell("stream", "off").EffectiveRealm["co_tenant"]);
        Assert.Contains("busy 50 %", Cell("stream", "mb50").EffectiveRealm["co_tenant"]);
        Assert.Contains("emulated bandwidth reservation of 50 %", Cell("stream", "mb50").EffectiveRealm["mpam_mode"]);
        Assert.Equal(CellStatus.Skipped, Cell("none", "mb50").Status);
        Assert.Contains("co_tenant: stream", Cell("none", "mb50").Reason);
        Assert.Equal(CellStatus.Skipped, Cell("stream", "l325").Status);
        Assert.Contains("cache portions need resctrl", Cell("stream", "l325").Reason);
        // No neighbour is left running after the suite.
        var left = System.Diagnostics.Process.GetProcessesByName("wsbench");
        Assert.Empty(left);
    }
}
