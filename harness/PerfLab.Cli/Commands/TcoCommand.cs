using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using PerfLab.Core.Suites;
using PerfLab.Core.Tco;
using PerfLab.Lab.Backends;
using PerfLab.Results;
using PerfLab.Results.Schema;

namespace PerfLab.Cli.Commands;

/// <summary>
/// `perflab tco`: memory per Realm, Realms per host, tokens/s and cost per million tokens; the decode rate either given
/// (from a run) or projected from the target host's bandwidth; and a warm-pool size for a target start latency.
/// </summary>
public static class TcoCommand
{
    // Measured here (bench/REPORT.md): perflab-1b int4 decode at 1 thread streamed 57 % of the triad bandwidth.
    private const double MeasuredEfficiency = 0.57;
    private const string MeasuredEfficiencySource = "measured: perflab-1b int4 decode, 1 thread, 57 % of the triad bandwidth (bench/REPORT.md)";

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var model = new Option<string>("--model") { Description = "llama-70b, llama-8b or perflab-1b", DefaultValueFactory = _ => "llama-70b" };
        var dtype = new Option<string>("--dtype") { Description = "bf16, fp16, fp32, int8 or int4", DefaultValueFactory = _ => "bf16" };
        var context = new Option<int>("--context") { Description = "context tokens per sequence", DefaultValueFactory = _ => 8192 };
        var concurrency = new Option<int>("--concurrency") { Description = "sequences each Realm serves at once", DefaultValueFactory = _ => 1 };
        var memory = new Option<double>("--host-memory-gb") { Description = "host memory, GB", DefaultValueFactory = _ => 1536 };
        var cores = new Option<int>("--cores") { Description = "host cores", DefaultValueFactory = _ => 128 };
        var sockets = new Option<int>("--sockets") { Description = "host sockets", DefaultValueFactory = _ => 2 };
        var price = new Option<double>("--price-per-hour") { Description = "what an hour of the host costs (costs per million tokens are in its currency)", DefaultValueFactory = _ => 10 };
        var coresPerRealm = new Option<int>("--cores-per-realm") { Description = "cores each Realm is given", DefaultValueFactory = _ => 16 };
        var tokens = new Option<double?>("--tokens-per-s") { Description = "decode tokens/s of one Realm, from a run; without it the rate is projected (--host-bandwidth-gbps)" };
        // A rate typed in is evidence `given`, whatever it was measured as elsewhere: this command did not measure it.
        var evidence = new Option<string>("--tokens-source") { Description = "where --tokens-per-s comes from (e.g. a run folder); printed beside it, its evidence stays 'given'" };
        var overhead = new Option<double?>("--overhead-pct") { Description = "confidential overhead on tokens/s, % (from an overhead run); default: the projection's" };
        var bandwidth = new Option<double?>("--host-bandwidth-gbps") { Description = "project decode from this memory bandwidth (GB/s per Realm's share) instead of --tokens-per-s" };
        var efficiency = new Option<double>("--efficiency") { Description = "fraction of the bandwidth roofline decode reaches", DefaultValueFactory = _ => MeasuredEfficiency };
        var profile = new Option<string>("--calibration-profile") { Description = "world-switch costs for the projection (bench/profiles)", DefaultValueFactory = _ => "kvm-pvm-measured" };
        var tax = new Option<double>("--encryption-tax-pct") { Description = "memory-encryption bandwidth tax for the projection, %", DefaultValueFactory = _ => 0 };
        var arrivals = new Option<double?>("--arrivals-per-s") { Description = "Realm requests per second: sizes a warm pool (with --cold-boot-s)" };
        var coldBoot = new Option<double?>("--cold-boot-s") { Description = "cold boot of one Realm, launch to ready, s (e.g. from a run's lifecycle)" };
        var bootFrom = new Option<string?>("--cold-boot-from") { Description = "a run folder: the cold boot (ready + first token, median over launches) and its spread come from its Realm start table" };
        var bootCell = new Option<string?>("--cold-boot-cell") { Description = "with --cold-boot-from: the cell (needed when the run has more than one Realm cell)" };
        var pattern = new Option<string>("--arrival-pattern") { Description = "poisson or bursty", DefaultValueFactory = _ => "poisson" };
        pattern.AcceptOnlyFromAmong("poisson", "bursty");
        var targetStart = new Option<double>("--target-start-s") { Description = "start latency the pool must keep, s", DefaultValueFactory = _ => 1 };
        var percentile = new Option<double>("--start-percentile") { Description = "at this fraction of requests", DefaultValueFactory = _ => 0.99 };
        var seed = new Option<int>("--seed") { Description = "seed of the warm-pool simulation", DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "print JSON (perflab report --tco takes it)" };
        var cmd = new Command("tco", "Memory per Realm (every term visible), Realms per host, tokens/s per host and cost per million tokens,\n" +
                                     "native against confidential; a projection when no rate is given; a warm-pool size for a start-latency target.\n" +
                                     "Example: perflab tco --model llama-70b --dtype bf16 --context 8192 --concurrency 8 --host-bandwidth-gbps 460 " +
                                     "--arrivals-per-s 0.5 --cold-boot-s 40")
        {
            model, dtype, context, concurrency, memory, cores, sockets, price, coresPerRealm, tokens, evidence, overhead, bandwidth, efficiency, profile, tax,
            arrivals, coldBoot, bootFrom, bootCell, pattern, targetStart, percentile, seed, json,
        };
        // Every number a person types must be finite: NaN compares false with every bound, so it would pass them all.
        // (The token is read, not the value: a word that does not parse is the parser's error, and its value would throw.)
        foreach (var o in cmd.Options.Where(o => o is Option<double> or Option<double?>))
            o.Validators.Add(r =>
            {
                if (r.Tokens.Count == 1 && double.TryParse(r.Tokens[0].Value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v)
                    && !double.IsFinite(v))
                    r.AddError($"{o.Name} {r.Tokens[0].Value}: give a finite number");
            });
        cmd.SetAction(p =>
        {
            var problems = new List<string>();
            if (!ModelDescription.Known.TryGetValue(p.GetValue(model)!, out var m))
            {
                stderr.WriteLine($"error: --model '{p.GetValue(model)}': give one of {string.Join(", ", ModelDescription.Known.Keys)}");
                return (int)ExitCode.BadInput;
            }
            ProjectionResult? projection = null;
            ProjectionInputs? projectionInputs = null;
            var rate = p.GetValue(tokens);
            var ev = Evidence.Given;
            if (rate is null)
            {
                if (p.GetValue(bandwidth) is not { } bw)
                {
                    stderr.WriteLine("error: give --tokens-per-s (a rate from a run) or --host-bandwidth-gbps (to project one)");
                    return (int)ExitCode.BadInput;
                }
                CalibrationProfile cal;
                try { cal = CalibrationProfile.Load(p.GetValue(profile)!); }
                catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException)
                {
                    stderr.WriteLine($"error: --calibration-profile: {e.Message}");
                    return (int)ExitCode.BadInput;
                }
                var eff = p.GetValue(efficiency);
                projectionInputs = new ProjectionInputs(m, p.GetValue(dtype)!, p.GetValue(context), bw, eff,
                    eff == MeasuredEfficiency ? MeasuredEfficiencySource : "input (--efficiency)", cal.Name, cal.ExitUs, TimerHz: cal.TickHz, EncryptionBandwidthTaxPct: p.GetValue(tax));
                problems.AddRange(Projection.Problems(projectionInputs));
                if (problems.Count == 0)
                {
                    projection = Projection.Compute(projectionInputs);
                    rate = projection.NativeTokensPerS;
                    ev = Evidence.Projected;
                }
            }
            // With a failed projection there is no rate: 1 stands in so the TCO inputs are still checked, and every
            // problem is printed together below. The projection and the TCO model check dtype and context alike: once each.
            var inputs = new TcoInputs(m, p.GetValue(dtype)!, p.GetValue(context), p.GetValue(concurrency),
                new HostDescription(p.GetValue(memory), p.GetValue(cores), p.GetValue(sockets), p.GetValue(price)),
                p.GetValue(coresPerRealm), rate ?? 1, ev, p.GetValue(overhead) ?? projection?.RealmOverheadPct ?? 0);
            var overheadBasis = p.GetValue(overhead) is not null ? "given (--overhead-pct)"
                : projection is not null ? $"projected (calibration profile {projectionInputs!.CalibrationProfile})"
                : "assumed 0: no --overhead-pct was given and nothing was projected; the confidential figures equal the native ones";
            var tokensBasis = ev == Evidence.Given ? "given (--tokens-per-s" + (p.GetValue(evidence) is { Length: > 0 } src ? $", from {src})" : ")") : "projected";
            problems.AddRange(TcoModel.Problems(inputs).Where(x => !problems.Contains(x)));
            WarmPoolInputs? poolInputs = null;
            string? bootBasis = null;
            double? bootCv = null, warmStart = null;
            var boot = p.GetValue(coldBoot);
            if (p.GetValue(bootFrom) is { } runFolder)
            {
                if (boot is not null) problems.Add("give --cold-boot-s or --cold-boot-from, not both");
                else if (MeasuredColdBoot(runFolder, p.GetValue(bootCell), out var measured, out var why) is { } s0)
                    (boot, bootCv, warmStart, bootBasis) = (s0, measured.Cv, measured.WarmS, why);
                else problems.Add(why);
            }
            if (p.GetValue(arrivals) is { } lambda)
            {
                if (boot is not { } b)
                {
                    if (p.GetValue(bootFrom) is null) problems.Add("--arrivals-per-s needs --cold-boot-s or --cold-boot-from (a Realm's start, launch to first token)");
                }
                else
                {
                    poolInputs = new WarmPoolInputs(lambda, p.GetValue(pattern) == "bursty" ? ArrivalPattern.Bursty : ArrivalPattern.Poisson, b,
                        p.GetValue(targetStart), p.GetValue(percentile), Seed: p.GetValue(seed)) { BootJitterCv = bootCv ?? 0.1, WarmStartS = warmStart ?? 0 };
                    problems.AddRange(WarmPool.Problems(poolInputs));
                }
            }
            if (problems.Count > 0)
            {
                foreach (var problem in problems) stderr.WriteLine("error: " + problem);
                return (int)ExitCode.BadInput;
            }
            var r = TcoModel.Compute(inputs);
            var pool = poolInputs is null ? null : WarmPool.Size(poolInputs);
            // A rate typed in is a claim: set it against what the bandwidth allows at this concurrency, when one is given.
            if (ev == Evidence.Given && p.GetValue(bandwidth) is { } claimBw && rate is { } claimed)
            {
                var check = DecodeLimit.Check(m, p.GetValue(dtype)!, p.GetValue(context), claimBw, claimed);
                if (check.BatchNeeded is not { } need || need > p.GetValue(concurrency))
                    stderr.WriteLine($"warning: --tokens-per-s {claimed} at --concurrency {p.GetValue(concurrency)} exceeds what {claimBw} GB/s allows: {check.Verdict}");
            }
            if (p.GetValue(json))
            {
                stdout.WriteLine(JsonSerializer.Serialize(new { inputs, result = r, tokens_basis = tokensBasis, overhead_basis = overheadBasis, projection_inputs = projectionInputs, projection,
                    warm_pool_inputs = poolInputs, warm_pool = pool, cold_boot_basis = bootBasis ?? (poolInputs is null ? null : "given (--cold-boot-s)") }, RunFiles.Json));
                return 0;
            }
            stdout.WriteLine($"## TCO: {m.Name} {inputs.Dtype}, {inputs.ContextTokens} context × {inputs.Concurrency} sequences per Realm");
            stdout.WriteLine("| memory term | GB | basis |\n|---|---:|---|");
            foreach (var t in r.Terms) stdout.WriteLine($"| {t.Name} | {t.GB:0.0} | {t.Basis} |");
            stdout.WriteLine($"| **per Realm** | **{r.MemoryPerRealmGB:0.0}** | |");
            stdout.WriteLine($"\nRealms per host: {r.RealmsPerHost} (limited by {r.LimitedBy}); tokens/s per host: {r.TokensPerSecondPerHostNative:0.#} native, " +
                             $"{r.TokensPerSecondPerHostConfidential:0.#} confidential ({r.TokensEvidence.Name()}); cost per million tokens: " +
                             $"{r.CostPerMillionTokensNative:0.###} native, {r.CostPerMillionTokensConfidential:0.###} confidential.");
            stdout.WriteLine($"Tokens/s per Realm: {inputs.TokensPerSecondPerRealm:0.###} — {tokensBasis}. Confidential overhead: {inputs.ConfidentialOverheadPct:0.###} % — {overheadBasis}.");
            if (projection is not null)
            {
                stdout.WriteLine("\n## Projection (projected: a model's estimate, not a measurement)\n| term | value | unit | basis |\n|---|---:|---|---|");
                foreach (var t in projection.Terms) stdout.WriteLine($"| {t.Name} | {t.Value.ToString("0.####", CultureInfo.InvariantCulture)} | {t.Unit} | {t.Basis} |");
                stdout.WriteLine($"\nRealm overhead on decode: {projection.RealmOverheadPct:0.###} % (projected).");
            }
            if (pool is not null)
            {
                stdout.WriteLine($"\n## Warm pool\n{pool.Basis}." + (bootBasis is null ? " Cold boot given (--cold-boot-s)." : " " + bootBasis));
                stdout.WriteLine(pool.PoolSize is { } w
                    ? $"Warm pool needed: {w} Realm(s) booted and idle ({w * r.MemoryPerRealmGB:0} GB held idle)."
                    : $"No pool up to {poolInputs!.MaxPool} Realms meets the target.");
                stdout.WriteLine("| pool | start latency at percentile (s) | mean (s) | requests that waited |\n|---:|---:|---:|---:|");
                foreach (var c in pool.Curve) stdout.WriteLine($"| {c.PoolSize} | {c.StartLatencyAtPercentileS:0.###} | {c.MeanStartLatencyS:0.###} | {c.FractionWaiting:P1} |");
            }
            return 0;
        });
        return cmd;
    }

    /// <summary>
    /// The cold boot a warm pool must hide, from a run: a Realm cell's start (ready + first token, measured on the host's
    /// clock), its median over launches in seconds, the launches' coefficient of variation as the boot jitter, and the
    /// warm start a pooled Realm still has once claimed.
    /// </summary>
    private static double? MeasuredColdBoot(string runFolder, string? cellId, out (double Cv, double? WarmS) measured, out string why)
    {
        measured = default;
        RunData data;
        try { data = RunFolderReader.Read(runFolder, ReadMode.Tolerant); }
        catch (ResultsFormatException e) { why = "--cold-boot-from: " + e.Message; return null; }
        var realms = RealmStartTable.For(data).Where(s => s.Platform is "cca-emulated" or "cca").ToList();
        var pick = cellId is null ? realms.Count == 1 ? realms[0] : null : realms.FirstOrDefault(s => s.CellId == cellId);
        if (pick is null)
        {
            why = realms.Count == 0
                ? $"--cold-boot-from {runFolder}: no Realm cell (cca-emulated or cca) with a timed start in this run"
                : $"--cold-boot-from {runFolder}: {(cellId is null ? "more than one Realm cell; name one with --cold-boot-cell" : $"no Realm cell '{cellId}'")}; cells: {string.Join(", ", realms.Select(s => s.CellId))}";
            return null;
        }
        var xs = pick.ColdStartsMs;
        var mean = xs.Average();
        var cv = xs.Count > 1 ? Math.Sqrt(xs.Sum(x => (x - mean) * (x - mean)) / (xs.Count - 1)) / mean : 0.1;
        measured = (cv, pick.WarmStartMs / 1000);
        var evidence = data.Cells.First(c => c.Id == pick.CellId).EvidenceLabel;
        var jitter = xs.Count > 1 ? string.Create(CultureInfo.InvariantCulture, $"jitter {cv:P0}, their coefficient of variation.") : "one launch: jitter assumed 10 %.";
        why = string.Create(CultureInfo.InvariantCulture,
            $"Cold boot from {data.RunId} {pick.CellId} ({pick.Weights} weights): {pick.ColdStartMs / 1000:0.###} s, the median of {xs.Count} launches' ready + first token ({evidence}); {jitter} " +
            $"A pooled Realm's start: {(pick.WarmStartMs is { } w ? (w / 1000).ToString("0.###", CultureInfo.InvariantCulture) + " s, the run's warm start (derived: key from cached evidence, model load, first token)" : "0 (the run has no warm start)")}.");
        return pick.ColdStartMs / 1000;
    }
}
