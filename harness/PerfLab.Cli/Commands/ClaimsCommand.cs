using System.CommandLine;
using System.Globalization;
using PerfLab.Core.Tco;

namespace PerfLab.Cli.Commands;

/// <summary>`perflab claims`: decode rates someone claims, against the limit memory bandwidth sets.</summary>
public static class ClaimsCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var model = new Option<string>("--model") { Description = string.Join(", ", ModelDescription.Known.Keys), DefaultValueFactory = _ => "llama-70b" };
        var dtypes = new Option<string[]>("--dtype") { Description = "weight types to check at (repeat): " + string.Join(", ", ModelDescription.BytesPerWeight.Keys), AllowMultipleArgumentsPerToken = true };
        var context = new Option<int>("--context") { Description = "context tokens per sequence (its KV cache is read every token too)", DefaultValueFactory = _ => 2048 };
        var bandwidth = new Option<double>("--host-bandwidth-gbps") { Description = "memory bandwidth, GB/s (a theoretical peak makes the check an upper bound)", Required = true };
        var claims = new Option<string[]>("--claim") { Description = "LABEL=TOKENS_PER_S, repeat (e.g. \"non-CCA baseline=45\")", Required = true, AllowMultipleArgumentsPerToken = true };
        var cmd = new Command("claims", "Decode rates claimed (an article, a vendor, --tokens-per-s) against the limit memory bandwidth sets:\n" +
                                        "batch-1 decode reads every weight and the KV cache once per token, so tokens/s ≤ bandwidth ÷ bytes per token.\n" +
                                        "A claim above it is possible only as throughput over a batch, which is printed.\n" +
                                        "Example: perflab claims --model llama-70b --dtype bf16 --dtype int4 --host-bandwidth-gbps 537.6 --claim \"baseline=45\"")
        {
            model, dtypes, context, bandwidth, claims,
        };
        cmd.SetAction(p => (int)Execute(p.GetValue(model)!, p.GetValue(dtypes) is { Length: > 0 } d ? d : ["bf16"], p.GetValue(context), p.GetValue(bandwidth),
            p.GetValue(claims)!, stdout, stderr));
        return cmd;
    }

    public static ExitCode Execute(string modelName, IReadOnlyList<string> dtypes, int context, double bandwidthGBps, IReadOnlyList<string> claims,
        TextWriter stdout, TextWriter stderr)
    {
        var problems = new List<string>();
        if (!ModelDescription.Known.TryGetValue(modelName, out var model))
            problems.Add($"--model '{modelName}': give one of {string.Join(", ", ModelDescription.Known.Keys)}");
        foreach (var d in dtypes.Where(d => !ModelDescription.BytesPerWeight.ContainsKey(d)))
            problems.Add($"--dtype '{d}': give one of {string.Join(", ", ModelDescription.BytesPerWeight.Keys)}");
        var parsed = new List<(string Label, double Rate)>();
        foreach (var c in claims)
        {
            var at = c.LastIndexOf('=');
            if (at <= 0 || !double.TryParse(c[(at + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var rate))
                problems.Add($"--claim '{c}': give LABEL=TOKENS_PER_S, e.g. \"baseline=45\"");
            else parsed.Add((c[..at], rate));
        }
        foreach (var (_, rate) in parsed) problems.AddRange(DecodeLimit.Problems(bandwidthGBps, rate, context).Select(x => "--claim: " + x));
        problems.AddRange(DecodeLimit.Problems(bandwidthGBps, 1, context).Where(x => !x.StartsWith("claimed")));
        if (problems.Count > 0)
        {
            foreach (var x in problems.Distinct()) stderr.WriteLine("error: " + x);
            return ExitCode.BadInput;
        }
        var ci = CultureInfo.InvariantCulture;
        stdout.WriteLine(string.Create(ci, $"## Claims against the bandwidth limit: {model!.Name}, context {context}, {bandwidthGBps:0.#} GB/s\n"));
        stdout.WriteLine("| claim | tokens/s (given) | dtype | weights GB | KV GB per sequence | batch-1 limit tokens/s (projected from the given bandwidth) | verdict |");
        stdout.WriteLine("|---|---:|---|---:|---:|---:|---|");
        foreach (var (label, rate) in parsed)
            foreach (var d in dtypes)
            {
                var c = DecodeLimit.Check(model, d, context, bandwidthGBps, rate);
                stdout.WriteLine(string.Create(ci, $"| {label} | {rate:0.##} | {d} | {c.WeightsGB:0.#} | {c.KvPerSequenceGB:0.###} | {c.LimitBatch1TokensPerS:0.##} | {c.Verdict} |"));
            }
        return ExitCode.Ok;
    }
}
