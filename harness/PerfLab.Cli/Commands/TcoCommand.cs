using System.CommandLine;
using System.Text.Json;
using PerfLab.Core.Suites;
using PerfLab.Core.Tco;

namespace PerfLab.Cli.Commands;

/// <summary>`perflab tco`: memory per Realm, Realms per host, tokens/s and cost per million tokens.</summary>
public static class TcoCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var model = new Option<string>("--model") { Description = "llama-70b, llama-8b or perflab-1b", DefaultValueFactory = _ => "llama-70b" };
        var dtype = new Option<string>("--dtype") { Description = "bf16, fp16, fp32, int8 or int4", DefaultValueFactory = _ => "bf16" };
        var context = new Option<int>("--context") { Description = "context tokens per sequence", DefaultValueFactory = _ => 8192 };
        var concurrency = new Option<int>("--concurrency") { Description = "sequences each Realm serves at once", DefaultValueFactory = _ => 1 };
        var memory = new Option<double>("--host-memory-gb") { Description = "host memory, GB", DefaultValueFactory = _ => 1536 };
        var cores = new Option<int>("--cores") { Description = "host cores", DefaultValueFactory = _ => 128 };
        var sockets = new Option<int>("--sockets") { Description = "host sockets", DefaultValueFactory = _ => 2 };
        var price = new Option<double>("--price-per-hour") { Description = "what an hour of the host costs", DefaultValueFactory = _ => 10 };
        var coresPerRealm = new Option<int>("--cores-per-realm") { Description = "cores each Realm is given", DefaultValueFactory = _ => 16 };
        var tokens = new Option<double>("--tokens-per-s") { Description = "decode tokens/s of one Realm (from a run, or a projection)", Required = true };
        var evidence = new Option<string>("--tokens-evidence") { Description = "measured or projected", DefaultValueFactory = _ => "projected" };
        evidence.AcceptOnlyFromAmong("measured", "projected", "emulated");
        var overhead = new Option<double>("--overhead-pct") { Description = "confidential overhead on tokens/s, % (from an overhead run)", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "print JSON" };
        var cmd = new Command("tco", "Memory per Realm (every term visible), Realms per host, tokens/s per host and cost per million tokens,\n" +
                                     "native against confidential. Example: perflab tco --model llama-70b --dtype bf16 --context 8192 --concurrency 8 --tokens-per-s 20 --overhead-pct 9")
        {
            model, dtype, context, concurrency, memory, cores, sockets, price, coresPerRealm, tokens, evidence, overhead, json,
        };
        cmd.SetAction(p =>
        {
            if (!ModelDescription.Known.TryGetValue(p.GetValue(model)!, out var m))
            {
                stderr.WriteLine($"--model '{p.GetValue(model)}': give one of {string.Join(", ", ModelDescription.Known.Keys)}");
                return (int)ExitCode.BadInput;
            }
            var ev = p.GetValue(evidence) switch { "measured" => Evidence.Measured, "emulated" => Evidence.Emulated, _ => Evidence.Projected };
            var inputs = new TcoInputs(m, p.GetValue(dtype)!, p.GetValue(context), p.GetValue(concurrency),
                new HostDescription(p.GetValue(memory), p.GetValue(cores), p.GetValue(sockets), p.GetValue(price)),
                p.GetValue(coresPerRealm), p.GetValue(tokens), ev, p.GetValue(overhead));
            var problems = TcoModel.Problems(inputs);
            if (problems.Count > 0)
            {
                foreach (var problem in problems) stderr.WriteLine("error: " + problem);
                return (int)ExitCode.BadInput;
            }
            var r = TcoModel.Compute(inputs);
            if (p.GetValue(json))
            {
                stdout.WriteLine(JsonSerializer.Serialize(new { inputs, result = r }, PerfLab.Lab.Results.RunFolder.Json));
                return 0;
            }
            stdout.WriteLine($"## TCO: {m.Name} {inputs.Dtype}, {inputs.ContextTokens} context × {inputs.Concurrency} sequences per Realm");
            stdout.WriteLine("| memory term | GB | basis |\n|---|---:|---|");
            foreach (var t in r.Terms) stdout.WriteLine($"| {t.Name} | {t.GB:0.0} | {t.Basis} |");
            stdout.WriteLine($"| **per Realm** | **{r.MemoryPerRealmGB:0.0}** | |");
            stdout.WriteLine($"\nRealms per host: {r.RealmsPerHost} (limited by {r.LimitedBy}); tokens/s per host: {r.TokensPerSecondPerHostNative:0.#} native, " +
                             $"{r.TokensPerSecondPerHostConfidential:0.#} confidential ({r.TokensEvidence.Name()}); cost per million tokens: " +
                             $"{r.CostPerMillionTokensNative:0.###} native, {r.CostPerMillionTokensConfidential:0.###} confidential.");
            return 0;
        });
        return cmd;
    }
}
