using System.Net;
using PerfLab.Core.Analysis;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Results;
using PerfLab.Core.Suites;
using PerfLab.Core.Units;
using PerfLab.Lab.Serving;
using PerfLab.Lab.Workloads;
using PerfLab.Llm.Datasets;
using Xunit.Abstractions;

namespace PerfLab.Lab.Tests.Serving;

/// <summary>
/// Integration tests of the openai workload over real HTTP: the lab's Kestrel server and the load generator's HTTP client,
/// in this process, on loopback; and whole suites with real agents serving inside native and emulated Realms.
/// </summary>
public class OpenAiIntegrationTests(ITestOutputHelper output)
{
    private static ScenarioSpec SingleStream(int queries) => new("single-stream", ScenarioKind.SingleStream, null, Nanoseconds.FromSeconds(0),
        Nanoseconds.FromSeconds(120), queries, null, null, null, 0.9, 0.99);

    private static OpenAiClientSut Client(Uri url, int outputTokens, double firstChunkTimeoutS = 60) => new(
        new OpenAiClientOptions(url, "", Chat: false, ApiKey: null, Timeout: TimeSpan.FromSeconds(60), FirstChunkTimeout: TimeSpan.FromSeconds(firstChunkTimeoutS),
            MaxConnections: 8, NaturalLength: false, DistinctPerLaunch: true),
        16, (w, n) => Enumerable.Range(0, n).Select(i => new ServingPrompt(null, [1, 2, 3, i], null, 4, outputTokens)).ToList());

    [Theory]
    [InlineData("500", 3, "HTTP 500 Internal Server Error: injected fault")]
    [InlineData("cut", 4, "stream cut after 4 chunks")]
    [InlineData("hang", 5, "timeout: no response after 1 s")]
    public void Integration_a_failing_server_fails_only_its_queries_with_their_reason(string kind, int every, string reason)
    {
        using var server = OpenAiServer.Start(new NullSut(), IPAddress.Loopback, 0, new ServerFault(kind, every));
        using var client = Client(server.BaseUrl, outputTokens: 8, firstChunkTimeoutS: 1);
        var spec = SingleStream(20);
        var run = new LoadGenerator().Run(spec, client, new CountingSampleLibrary("prompts", 16), seed: 1);

        Assert.Null(run.Failure);   // the scenario went on
        var failed = run.Records.Where(r => r.Error is not null).ToList();
        Assert.Equal(20 / every, failed.Count);
        Assert.All(failed, r => Assert.StartsWith(reason, r.Error));
        // Every other query got its whole answer.
        Assert.All(run.Records.Where(r => r.Error is null), r => Assert.Equal(8, r.Tokens));
        Assert.All(run.Records, r => Assert.True(r.IsComplete));

        var analysis = ScenarioAnalysis.Of(spec, run, RunProfile.Ci, new GateSpec(5, 0.99, ["latency"]));
        Assert.False(analysis.Validity.Valid);
        Assert.Contains(analysis.Validity.Reasons, r => r.StartsWith($"{20 / every} of 20 queries failed: {reason}", StringComparison.Ordinal));
        Assert.Equal(20 - 20 / every, analysis.QueriesCompleted);
        Assert.Equal(20 - 20 / every, analysis.Distributions[Metrics.Latency.Name].N);
        Assert.Equal(20 / every, client.Counters["queries_failed"]);
        output.WriteLine(string.Join("\n", analysis.Validity.Reasons));
    }

    [Fact]
    public void Integration_the_server_answers_every_prompt_form_and_streams_every_token_with_usage()
    {
        using var server = OpenAiServer.Start(new NullSut(), IPAddress.Loopback, 0);
        foreach (var chat in new[] { false, true })
        {
            using var client = new OpenAiClientSut(new OpenAiClientOptions(server.BaseUrl, "", chat, null, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30), 4, false, true),
                3, (w, n) => new[]
                {
                    new ServingPrompt("a plain text prompt", null, null, 4, 5),
                    new ServingPrompt(null, [10, 20, 30], null, 3, 6),
                    new ServingPrompt(null, null, [new ChatTurn("user", "hi"), new ChatTurn("assistant", "hello"), new ChatTurn("user", "more")], 9, 7, PrefixTokens: 6),
                });
            Assert.Equal("null", client.Model);   // named by the server's /v1/models
            var sink = new Collector();
            client.IssueQuery([new QuerySample(0, 0), new QuerySample(1, 1), new QuerySample(2, 2)], sink);
            Assert.True(sink.WaitFor(3, TimeSpan.FromSeconds(30)), "three answers within 30 s");
            Assert.Empty(sink.Errors);
            Assert.Equal(new Dictionary<long, int> { [0] = 5, [1] = 6, [2] = 7 }, sink.Tokens);   // exactly max_tokens, from usage
            Assert.Equal(3, sink.FirstTokens.Count);
            Assert.Equal(6, client.Counters["prompt_prefix_tokens"]);
        }
        Assert.Equal(6, server.Counters["http_served"]);
    }

    private sealed class Collector : IResponseSink
    {
        public readonly Dictionary<long, int> Tokens = [];
        public readonly HashSet<long> FirstTokens = [];
        public readonly List<string> Errors = [];
        private readonly object _lock = new();
        public void FirstToken(long queryId) { lock (_lock) FirstTokens.Add(queryId); }
        public void Complete(long queryId, int tokens, long insideNs) { lock (_lock) Tokens[queryId] = tokens; }
        public void QueryFailed(long queryId, string reason, int tokensSoFar = 0) { lock (_lock) Errors.Add(reason); }
        public void Fail(string reason) { lock (_lock) Errors.Add(reason); }

        public bool WaitFor(int n, TimeSpan timeout)
        {
            var end = DateTime.UtcNow + timeout;
            while (DateTime.UtcNow < end)
            {
                lock (_lock) if (Tokens.Count + Errors.Count >= n) return true;
                Thread.Sleep(10);
            }
            return false;
        }
    }

    private const string Suite = """
        name: openai-agree
        seed: 5
        agent_timeout_s: 120
        warmup_s: 1
        workloads:
          - {name: noop-channel, kind: noop, samples: 32}
          - {name: noop-http, kind: openai, serve: noop, samples: 32, output_tokens_mean: 1, output_tokens_max: 1}
          - {name: tiny-channel, kind: llm, preset: tiny, samples: 32, input_tokens_mean: 32, input_tokens_max: 64, output_tokens_mean: 16, output_tokens_max: 32}
          - {name: tiny-http, kind: openai, serve: llm, preset: tiny, samples: 32, prompt_reuse: same, input_tokens_mean: 32, input_tokens_max: 64, output_tokens_mean: 16, output_tokens_max: 32}
        scenarios:
          - {type: single-stream, min_queries: 120, min_duration_s: 0}   # a count, not a time: both paths serve the same 120 samples
        matrix: {platform: [native, cca-emulated], vcpus: 1, pinning: auto}
        baseline: {platform: native}
        """;

    /// <summary>
    /// The same engine over HTTP and over the channel, natively and in the emulated Realm: the tiny model's TTFT and TPOT
    /// differ by no more than what the HTTP path was measured to cost in the same run: the wire (the null engine's latency
    /// over HTTP less over the channel: client, loopback, parsing) and the CPU the Realm spent on HTTP (the agent's CPU per
    /// query over HTTP less over the channel — on one vCPU the engine waits for every microsecond of it; per token, that
    /// spread over the answer's tokens). Plus 10 % of the channel's figure for the spread between launches.
    /// </summary>
    [Fact]
    public void Integration_ttft_and_tpot_over_http_agree_with_the_channel_within_the_http_paths_cost()
    {
        using var scratch = new Scratch();
        var outcome = scratch.Run(Suite);
        Assert.All(outcome.Cells, c => Assert.True(c.Status == CellStatus.Ok, $"{c.Cell.Id}: {c.Status} {c.Reason}"));
        CellResult Cell(string workload, Platform p) => outcome.Cells.Single(c => c.Cell.Workload.Name == workload && c.Cell.Realm.Platform == p);
        double Median(string workload, Platform p, MetricInfo m) => Cell(workload, p).Analysis!.Distributions[m.Name].Median.Value;
        // The agent's CPU per query of the measured window, in ns.
        double Cpu(string workload, Platform p) => double.Parse(Cell(workload, p).EffectiveRealm["agent.cpu_time_us"]) * 1e3 / Cell(workload, p).Analysis!.QueriesCompleted;
        foreach (var p in new[] { Platform.Native, Platform.CcaEmulated })
        {
            var wire = Math.Max(0, Median("noop-http", p, Metrics.Latency) - Median("noop-channel", p, Metrics.Latency));
            var cpu = Math.Max(0, Cpu("tiny-http", p) - Cpu("tiny-channel", p));
            var a = Cell("tiny-http", p).Analysis!;
            var tokens = a.TokensPerSecond / a.QueriesPerSecond;
            var (ttftC, ttftH) = (Median("tiny-channel", p, Metrics.Ttft), Median("tiny-http", p, Metrics.Ttft));
            var (tpotC, tpotH) = (Median("tiny-channel", p, Metrics.Tpot), Median("tiny-http", p, Metrics.Tpot));
            output.WriteLine($"{p}: HTTP wire {wire / 1e3:0.0} µs per query, the Realm's CPU {cpu / 1e3:0.0} µs per query ({cpu / (tokens - 1) / 1e3:0.0} µs per token of {tokens:0.0}); " +
                             $"tiny TTFT channel {ttftC / 1e3:0} µs http {ttftH / 1e3:0} µs; TPOT channel {tpotC / 1e3:0.0} µs http {tpotH / 1e3:0.0} µs");
            Assert.True(Math.Abs(ttftH - ttftC) <= wire + cpu + 0.10 * ttftC, $"{p}: TTFT {ttftH / 1e3:0} µs over HTTP, {ttftC / 1e3:0} µs over the channel");
            Assert.True(Math.Abs(tpotH - tpotC) <= cpu / (tokens - 1) + 0.10 * tpotC, $"{p}: TPOT {tpotH / 1e3:0.0} µs over HTTP, {tpotC / 1e3:0.0} µs over the channel");
        }
        var http = outcome.Cells.Where(c => c.Cell.Workload.Kind == WorkloadKinds.OpenAi).ToList();
        Assert.All(http, c => Assert.Equal("0", c.EffectiveRealm["client.queries_failed"]));
        Assert.All(http, c => Assert.StartsWith("http://127.0.0.1:", c.EffectiveRealm["agent.openai_base_url"]));
        // The emulated Realm's server pays its crossings: each request in, its first token and its end out.
        var emulated = http.Single(c => c.Cell.Workload.Name == "tiny-http" && c.Cell.Realm.Platform == Platform.CcaEmulated);
        Assert.Equal(Evidence.Emulated, emulated.Evidence);
        Assert.Equal(emulated.EffectiveRealm["agent.realm_queries"], emulated.EffectiveRealm["agent.http_served"]);
        // The same prompts and lengths both ways: the same number of tokens per query.
        foreach (var p in new[] { Platform.Native, Platform.CcaEmulated })
        {
            var c = outcome.Cells.Single(x => x.Cell.Workload.Name == "tiny-channel" && x.Cell.Realm.Platform == p).Analysis!;
            var h = outcome.Cells.Single(x => x.Cell.Workload.Name == "tiny-http" && x.Cell.Realm.Platform == p).Analysis!;
            Assert.Equal(c.TokensPerSecond / c.QueriesPerSecond, h.TokensPerSecond / h.QueriesPerSecond, 1);
        }
    }
}
