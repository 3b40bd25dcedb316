using System.Diagnostics;
using PerfLab.Core.Analysis;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Results;
using PerfLab.Core.Suites;
using PerfLab.Lab.Backends;
using PerfLab.Lab.Progress;
using PerfLab.Results;

namespace PerfLab.Lab.Runner;

/// <summary>
/// One cell, from launch to analysis: a serving Realm is driven by the load generator (or a capacity search), a measuring
/// one measures itself; either way its raw data is written before it is analysed, and a failure fails this cell only.
/// </summary>
internal sealed class CellRun(Suite suite, Cell cell, IRealmBackend backend, RunFolderWriter folder, IRunProgress progress, RunContext context,
    CancellationToken cancel, int launch = 1)
{
    private readonly Evidence _evidence = backend.EvidenceFor(cell.Realm);

    public (CellResult Result, Dictionary<string, double[]>? Values) Run()
    {
        folder.BeginLaunch(cell, launch);
        IRealm realm;
        try { realm = backend.Launch(cell, TimeSpan.FromSeconds(suite.AgentTimeout.Seconds)); }
        catch (RealmFailedException e)
        {
            Audit("realm.launch_failed", new() { ["reason"] = e.Message });
            return (CellResult.Empty(cell, CellStatus.Failed, "launch failed: " + e.Message, _evidence) with { StderrTail = e.StderrTail }, null);
        }
        AuditLaunched(realm);
        (CellResult Result, Dictionary<string, double[]>? Values) outcome;
        using (realm)
        {
            outcome = realm switch
            {
                IMeasuringRealm m => Measure(m),
                IServingRealm s => Serve(s),
                _ => throw new InvalidOperationException($"the {backend.Platform.Name()} backend launched a Realm that neither serves nor measures"),
            };
        }
        Audit("realm.ended", new() { ["status"] = outcome.Result.Status.ToString().ToLowerInvariant(), ["reason"] = outcome.Result.Reason ?? "" });
        return outcome;
    }

    private void Audit(string evt, Dictionary<string, string> fields)
    {
        fields["cell"] = cell.Id;
        fields["launch"] = launch.ToString(System.Globalization.CultureInfo.InvariantCulture);
        folder.Audit(evt, fields);
    }

    /// <summary>What the launch did before it could serve, in the order it happened: measured, attested, model loaded, ready.</summary>
    private void AuditLaunched(IRealm realm)
    {
        var e = realm.Effective;
        if (e.Find("rim") is { } rim)
            Audit("realm.measured", new() { ["rim"] = rim, ["algorithm"] = e.Find("rim_algorithm") ?? "?", ["granules"] = e.Find("rim_granules_measured") ?? "?" });
        if (e.Find("attestation") is { } attestation)
            Audit("attestation.verified", new()
            {
                ["detail"] = attestation, ["token_sha256"] = e.Find("attestation_token_sha256") ?? "?",
                ["checked"] = e.Find("agent.attestation_verified") ?? "?", ["broker"] = e.Find("key_broker") ?? "?",
            });
        if (e.Find("agent.key_release") is { } release)
            Audit("key.released", new() { ["resource"] = release, ["weights"] = e.Find("weights_encrypted") ?? "?" });
        Audit("model.loaded", new()
        {
            ["workload"] = cell.Workload.Name, ["source"] = e.Find("agent.weights_source") ?? e.Find("agent.sut") ?? "?",
            ["payload_bytes"] = e.Find("payload_bytes") ?? "0",
            ["load_ms"] = realm.Phases.Has(Phase.Load) ? realm.Phases[Phase.Load].ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) : "?",
        });
        Audit("realm.ready", new() { ["platform"] = cell.Realm.Platform.Name(), ["evidence"] = _evidence.Name() });
    }

    /// <summary>Runs the measured window with the host's other activity sampled around it.</summary>
    private (T Result, Interference? Seen) Watched<T>(Func<T> window)
    {
        var start = context.Interference?.Snapshot();
        var result = window();
        return (result, start is null ? null : context.Interference!.Between(start, context.Interference.Snapshot()));
    }

    private CellResult WithInterference(CellResult r, Interference? seen) =>
        seen is null ? r : r with { Interference = seen, Disturbed = seen.Disturbance(context.InterferenceBound) };

    private (CellResult, Dictionary<string, double[]>?) Measure(IMeasuringRealm realm)
    {
        var (m, seen) = Watched(() => realm.Measure(cancel));
        if (m.SkipReason is { } skip) return (CellResult.Empty(cell, CellStatus.Skipped, skip, _evidence), null);
        if (m.FailReason is { } fail) return (CellResult.Empty(cell, CellStatus.Failed, fail, _evidence), null);
        folder.AppendMicroSamples(cell, launch, m.Metric, m.Values, m.RawJson);
        var metric = Metrics.ByName(m.Metric);
        return (WithInterference(new CellResult(cell, CellStatus.Ok, null, _evidence, null, realm.Effective, realm.Phases,
            ScenarioAnalysis.OfSamples(metric, m.Values, m.DurationS, suite.Gate), null, null, []), seen), new() { [m.Metric] = m.Values.ToArray() });
    }

    private (CellResult, Dictionary<string, double[]>?) Serve(IServingRealm realm)
    {
        // Before the measured window nothing was measured: the cell ends here with the reason, and the Realm goes.
        (CellResult, Dictionary<string, double[]>?) Abandon(CellStatus status, string reason)
        {
            realm.Teardown();
            return (CellResult.Empty(cell, status, reason, _evidence) with { StderrTail = status == CellStatus.Failed ? realm.StderrTail : null }, null);
        }
        // Window 2(launch−1) for the warm-up, the next for the measured part: a client that sends distinct prompts per
        // window never repeats one launch's prompts in another, or the warm-up's in the measured part.
        var windowed = realm.Sut as IWindowedSut;
        windowed?.BeginWindow(2 * (launch - 1));
        var warmup = Warmup(realm);
        if (warmup.Failure is { } warmupFailure) return Abandon(CellStatus.Failed, "warm-up failed: " + warmupFailure);
        if (cancel.IsCancellationRequested) return Abandon(CellStatus.Interrupted, "interrupted in the warm-up");
        windowed?.BeginWindow(2 * (launch - 1) + 1);
        try { realm.BeginMeasuredWindow(); }
        catch (RealmFailedException e) { return Abandon(CellStatus.Failed, "stats failed: " + e.Message); }
        var self = Process.GetCurrentProcess();
        var cpuBefore = self.TotalProcessorTime;
        CapacityResult? capacity = null;
        var spec = cell.Scenario;
        ScenarioRun run;
        Interference? seen;
        IReadOnlySet<long>? written = null;
        if (cell.Scenario.Search is { } search)
            ((run, spec, capacity), seen) = Watched(() => new CapacityProbes(suite, cell, realm, folder, progress, context, cancel, launch).Search(search));
        else
        {
            using var checkpoint = new SampleCheckpoint(folder, cell, launch);
            (run, seen) = Watched(() => Generator().Run(spec, realm.Sut, realm.Library, suite.Seed, cancel, progress.CellProgress, checkpoint.Watch));
            written = checkpoint.Stop();
        }
        self.Refresh();
        var cpuUs = (self.TotalProcessorTime - cpuBefore).TotalMicroseconds;
        var reason = run.Failure;
        if (reason is null)
        {
            try { realm.CollectStats(); }
            catch (RealmFailedException e) { reason = "stats failed: " + e.Message; }
        }
        realm.Teardown();
        // The lifecycle's last step: the first token the client saw, the warm-up's when there was one (that is the cold one).
        if ((warmup.Run?.Records ?? run.Records).FirstOrDefault(r => r.FirstTokenNs >= 0) is { FirstTokenNs: >= 0 } first) realm.Phases[Phase.FirstToken] = first.FirstTokenNs / 1e6;
        folder.AppendSamples(cell, launch, run.Records, written);
        var analysis = ScenarioAnalysis.Of(spec, run, suite.Profile, suite.Gate);
        var status = reason != null ? CellStatus.Failed : run.Interrupted ? CellStatus.Interrupted : CellStatus.Ok;
        return (WithInterference(new CellResult(cell, status, reason, _evidence, run.Effective, realm.Effective, realm.Phases, analysis,
            run.Records.Length == 0 ? null : cpuUs / run.Records.Length, status == CellStatus.Failed ? realm.StderrTail : null, []) { Capacity = capacity }, seen),
            Metrics.FromRecords(run.Records, cell.Scenario.Kind));
    }

    /// <summary>
    /// The untimed warm-up: the cell's scenario until every sample was served once and Suite.Warmup has passed, then
    /// rounds of a second while the agent's peak memory grows (up to Suite.WarmupMax); its queries are not kept. What it
    /// served is recorded in the launch's effective settings (warmup_queries, warmup_s, warmup_steady).
    /// </summary>
    private (ScenarioRun? Run, string? Failure) Warmup(IServingRealm realm)
    {
        if (LoadGenerator.WarmupSpec(cell.Scenario, suite.Warmup) is not { } spec) return (null, null);
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        static string? Failed(ScenarioRun r) => r.Failure ?? (r.TimedOut ? $"{r.Records.Count(q => q.CompletedNs < 0)} queries had not completed after max_duration_s" : null);
        var first = Generator().Run(spec, realm.Sut, realm.Library, LoadGenerator.WarmupSeed(suite.Seed), cancel);
        long queries = first.Records.Count(r => r.CompletedNs >= 0), ns = first.DurationNs;
        var failure = Failed(first);
        // Then rounds of a second while the agent's peak memory still grows by a MiB or more (Suite.WarmupMax).
        var steady = "unknown";
        var round = spec with { MinDuration = Core.Units.Nanoseconds.FromSeconds(1), CoverEverySample = false };
        try
        {
            if (failure is null && realm.PeakResidentKb() is { } peak)
            {
                steady = ns + round.MinDuration.Value <= suite.WarmupMax.Value ? "false" : "unchecked";
                for (var i = 1; ns + round.MinDuration.Value <= suite.WarmupMax.Value && !cancel.IsCancellationRequested; i++)
                {
                    var r = Generator().Run(round, realm.Sut, realm.Library, LoadGenerator.WarmupSeed(suite.Seed) + i, cancel);
                    (queries, ns) = (queries + r.Records.Count(q => q.CompletedNs >= 0), ns + r.DurationNs);
                    if ((failure = Failed(r)) != null) break;
                    var now = realm.PeakResidentKb() ?? peak;
                    if (now - peak < SteadyGrowthKb) { steady = "true"; break; }
                    peak = now;
                }
            }
        }
        catch (RealmFailedException e) { failure ??= "stats failed: " + e.Message; }
        realm.Effective.Set("warmup_queries", queries.ToString(inv));
        realm.Effective.Set("warmup_s", (ns / 1e9).ToString("0.###", inv));
        realm.Effective.Set("warmup_steady", steady);
        return (first, failure);
    }

    /// <summary>Growth of the agent's peak memory over a round below which it counts as steady: one MiB.</summary>
    private const long SteadyGrowthKb = 1024;

    private LoadGenerator Generator() => new(context.Wait, context.Clock);
}
