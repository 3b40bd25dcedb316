using System.CommandLine;
using PerfLab.Core.Analysis;
using PerfLab.Lab.Backends;
using PerfLab.Results;

namespace PerfLab.Cli.Commands;

/// <summary>`perflab project`: a run's Realm cells, term by term, under the prices they ran with or another profile's.</summary>
public static class ProjectCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var run = new Argument<string>("run") { Description = "a run folder with Realm cells (cca-emulated or cca)" };
        var profiles = new Option<string[]>("--profile")
        {
            Description = "a calibration profile to re-price the counts with (a name in bench/profiles or a .yaml path); repeat for several; none: the prices each cell ran with",
            AllowMultipleArgumentsPerToken = true,
        };
        var model = new Option<string?>("--model") { Description = $"scale the per-token overhead to this model ({string.Join(", ", PerfLab.Core.Tco.ModelDescription.Known.Keys)}) with the bandwidth roofline" };
        var dtype = new Option<string>("--dtype") { Description = "with --model: the weights' type", DefaultValueFactory = _ => "bf16" };
        var bandwidth = new Option<double?>("--host-bandwidth-gbps") { Description = "with --model: the target host's memory bandwidth, GB/s (required with --model)" };
        var context = new Option<double>("--context-tokens") { Description = "with --model: the sequence's context length at the token projected", DefaultValueFactory = _ => 1024 };
        var cmd = new Command("project", "A Realm cell's overhead term by term: what was counted in the Realm (exits by cause, timer ticks, stage-2\n" +
                                         "faults, RSI calls; measured), priced by a calibration profile, beside the overhead measured against its\n" +
                                         "baseline cell and the gap between them. With --profile, the same counts under other prices (projected).\n" +
                                         "With --model, the per-token overhead scaled to that model on a host of the given bandwidth (projected).\n" +
                                         "Example: perflab project results/runs/20261128T190000Z-mission --profile rmm-v1.0 --profile rmm-v2.0 --model llama-70b --host-bandwidth-gbps 460")
        {
            run, profiles, model, dtype, bandwidth, context,
        };
        cmd.SetAction(p => (int)Execute(p.GetValue(run)!, p.GetValue(profiles) ?? [], stdout, stderr,
            p.GetValue(model) is { } m ? new Scaling(m, p.GetValue(dtype)!, p.GetValue(bandwidth), p.GetValue(context)) : null));
        return cmd;
    }

    /// <summary>What --model asks for: the model, its weights' type, the target host's bandwidth and the context length.</summary>
    public sealed record Scaling(string Model, string Dtype, double? BandwidthGBps, double ContextTokens);

    public static ExitCode Execute(string runFolder, IReadOnlyList<string> profileNames, TextWriter stdout, TextWriter stderr, Scaling? scaling = null)
    {
        PerfLab.Core.Tco.ModelDescription? target = null;
        if (scaling is not null)
        {
            if (!PerfLab.Core.Tco.ModelDescription.Known.TryGetValue(scaling.Model, out target))
            {
                stderr.WriteLine($"error: --model {scaling.Model}: one of {string.Join(", ", PerfLab.Core.Tco.ModelDescription.Known.Keys)}");
                return ExitCode.BadInput;
            }
            if (scaling.BandwidthGBps is null)
            {
                stderr.WriteLine("error: --model needs --host-bandwidth-gbps: the target host's memory bandwidth sets the model's native TPOT");
                return ExitCode.BadInput;
            }
        }
        RunData data;
        try { data = RunFolderReader.Read(runFolder, ReadMode.Tolerant); }
        catch (ResultsFormatException e)
        {
            stderr.WriteLine("error: " + e.Message);
            return ExitCode.BadInput;
        }
        var prices = new List<RealmPrices?>();
        foreach (var name in profileNames)
        {
            try
            {
                var c = CalibrationProfile.Load(name);
                prices.Add(c.ToPrices());
            }
            catch (Exception e) when (e is IOException or InvalidDataException)
            {
                stderr.WriteLine($"error: --profile {name}: {e.Message}");
                return ExitCode.BadInput;
            }
        }
        if (prices.Count == 0) prices.Add(null);
        var any = false;
        stdout.WriteLine($"## Realm cost, term by term: {data.RunId}\n");
        foreach (var p in prices)
        {
            var cells = RealmCostTable.For(data, p);
            any |= cells.Count > 0;
            stdout.Write(RealmCostTable.ToMarkdown(cells));
            if (target is not null && cells.Count > 0)
            {
                try { stdout.Write(ScaledMarkdown(cells, target, scaling!)); }
                catch (ArgumentException e)
                {
                    stderr.WriteLine("error: " + e.Message);
                    return ExitCode.BadInput;
                }
            }
        }
        if (!any)
        {
            stderr.WriteLine($"error: {runFolder}: no Realm cell counted its events (cells run on cca-emulated or cca by this PerfLab do; " +
                             "native and vm cells have no Realm to count, and runs before counting was added have none)");
            return ExitCode.BadInput;
        }
        return ExitCode.Ok;
    }

    /// <summary>One table per profile: each Realm cell's per-token terms re-derived for the target model (all projected).</summary>
    private static string ScaledMarkdown(IReadOnlyList<CellCosts> cells, PerfLab.Core.Tco.ModelDescription model, Scaling s)
    {
        var ci = System.Globalization.CultureInfo.InvariantCulture;
        var sb = new System.Text.StringBuilder();
        var first = RealmScalingModel.Project(cells[0].Counts, cells[0].Prices, model, s.Dtype, s.BandwidthGBps!.Value, s.ContextTokens);
        sb.AppendLine(string.Create(ci, $"### Scaled to {model.Name} ({s.Dtype}) at {s.BandwidthGBps:0.#} GB/s, context {s.ContextTokens:0} tokens, profile {cells[0].Prices.Profile}: projected\n"));
        sb.AppendLine($"Native TPOT {first.NativeTpotUs.ToString("0.#", ci)} µs: (weights + KV cache) ÷ bandwidth, the batch-1 roofline (real kernels are " +
                      "slower, and every relative term smaller). Per token: " + string.Join("; ", first.Terms.Select(t => $"{t.Term} = {t.Formula}")) + ".\n");
        sb.AppendLine("| cell | " + string.Join(" | ", first.Terms.Select(t => t.Term + " µs")) + " | overhead µs | overhead % | evidence |");
        sb.AppendLine("|---|" + string.Concat(first.Terms.Select(_ => "---:|")) + "---:|---:|---|");
        foreach (var (c, r) in cells.Select((c, i) => (c, i == 0 ? first : RealmScalingModel.Project(c.Counts, c.Prices, model, s.Dtype, s.BandwidthGBps!.Value, s.ContextTokens))))
        {
            sb.AppendLine($"| `{c.CellId}` | " + string.Join(" | ", r.Terms.Select(t => t.TpotUs.ToString("0.###", ci))) +
                          $" | {r.OverheadUs.ToString("0.###", ci)} | {r.OverheadPct.ToString("0.###", ci)} | projected |");
        }
        sb.AppendLine();
        return sb.ToString();
    }
}
