using PerfLab.Results;
using System.CommandLine;
using System.Text.Json.Nodes;
using PerfLab.Cli.Commands;

namespace PerfLab.Report.Tests;

/// <summary>`perflab tco` as a user calls it: the 70B example, a projection, a warm pool, bad inputs, and its JSON in a report.</summary>
public class TcoCliTests
{
    private static (int Code, string Out, string Err) Tco(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var root = new RootCommand { TcoCommand.Create(o, e) };
        var code = root.Parse(["tco", .. args]).Invoke();
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public void A_typed_in_rate_is_given_never_measured_and_an_assumed_zero_overhead_is_said()
    {
        var (code, output, _) = Tco("--model", "llama-70b", "--dtype", "bf16", "--tokens-per-s", "20", "--tokens-source", "run 20261128T131117Z");
        Assert.Equal(0, code);
        Assert.DoesNotContain("measured", output);
        Assert.Contains("(given)", output);
        Assert.Contains("given (--tokens-per-s, from run 20261128T131117Z)", output);
        Assert.Contains("assumed 0", output);
        var json = JsonNode.Parse(Tco("--model", "llama-70b", "--dtype", "bf16", "--tokens-per-s", "20", "--overhead-pct", "9", "--json").Out)!;
        Assert.Equal("given", json["result"]!["tokens_evidence"]!.GetValue<string>());
        Assert.Equal("given (--overhead-pct)", json["overhead_basis"]!.GetValue<string>());
    }

    [Fact]
    public void The_70B_BF16_8K_example_shows_every_term_and_a_total_in_range()
    {
        var (code, output, _) = Tco("--model", "llama-70b", "--dtype", "bf16", "--context", "8192", "--concurrency", "8", "--tokens-per-s", "20", "--json");
        Assert.Equal(0, code);
        var r = JsonNode.Parse(output)!["result"]!;
        Assert.Equal(["weights", "kv_cache", "runtime", "activations", "realm_metadata"], r["terms"]!.AsArray().Select(t => t!["name"]!.GetValue<string>()));
        Assert.InRange(r["memory_per_realm_gb"]!.GetValue<double>(), 150, 180);
    }

    [Fact]
    public void Without_a_measured_rate_decode_is_projected_and_labelled_so_and_a_warm_pool_is_sized()
    {
        var (code, output, _) = Tco("--host-bandwidth-gbps", "460", "--arrivals-per-s", "0.5", "--cold-boot-s", "40", "--json");
        Assert.Equal(0, code);
        var j = JsonNode.Parse(output)!;
        Assert.Equal("projected", j["result"]!["tokens_evidence"]!.GetValue<string>());
        Assert.Equal("projected", j["projection"]!["evidence"]!.GetValue<string>());
        Assert.Contains(j["projection"]!["terms"]!.AsArray(), t => t!["name"]!.GetValue<string>() == "exit cost" && t["basis"]!.GetValue<string>().Contains("kvm-pvm-measured"));
        Assert.True(j["warm_pool"]!["pool_size"]!.GetValue<int>() > 0);
    }

    [Fact]
    public void Bad_inputs_are_rejected_naming_each_field()
    {
        var (code, _, err) = Tco("--cores", "0", "--price-per-hour", "-1", "--context", "100000", "--tokens-per-s", "10");
        Assert.Equal(2, code);
        Assert.Contains("cores 0: a host has at least 1 core", err);
        Assert.Contains("price per hour -1: a price cannot be negative", err);
        Assert.Contains("context 100000: llama-70b takes 1 to 8192 tokens", err);
        var (code2, _, err2) = Tco();
        Assert.Equal(2, code2);
        Assert.Contains("--tokens-per-s", err2);
        var (code3, _, err3) = Tco("--tokens-per-s", "10", "--arrivals-per-s", "1");
        Assert.Equal(2, code3);
        Assert.Contains("--cold-boot-s", err3);
    }

    [Fact]
    public void An_unbounded_cost_round_trips_from_tco_json_into_a_report()
    {
        // A host too small for one Realm: no Realm fits, so a million tokens cost without bound ("Infinity" in the JSON).
        var (code, json, _) = Tco("--model", "llama-70b", "--tokens-per-s", "20", "--host-memory-gb", "64", "--json");
        Assert.Equal(0, code);
        Assert.Contains("\"Infinity\"", json);
        using var rec = new RecordedRuns();
        var o = ReportWriter.Write(rec.Load(RecordedRuns.Quick), Path.Combine(rec.Dir, "out"), JsonNode.Parse(json));
        Assert.Empty(o.Problems);
        Assert.Contains("cost per million tokens unbounded (no Realm fits the host) native", File.ReadAllText(o.Markdown));
    }

    [Fact]
    public void The_TCO_JSON_becomes_a_report_section()
    {
        using var rec = new RecordedRuns();
        var (_, json, _) = Tco("--tokens-per-s", "20", "--concurrency", "8", "--json");
        var o = ReportWriter.Write(rec.Load(RecordedRuns.Quick), Path.Combine(rec.Dir, "out"), JsonNode.Parse(json));
        var html = File.ReadAllText(o.Html);
        Assert.Contains("id=\"tco\"", html);
        Assert.Contains("<td>kv_cache</td>", html);
        Assert.Contains("## TCO", File.ReadAllText(o.Markdown));
    }
}
