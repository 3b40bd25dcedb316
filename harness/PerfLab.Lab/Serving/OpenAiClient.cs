using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Suites;
using PerfLab.Core.Time;
using PerfLab.Llm.Datasets;

namespace PerfLab.Lab.Serving;

/// <summary>The openai workload's client settings, from the suite's validated parameters.</summary>
public sealed record OpenAiClientOptions(Uri BaseUrl, string Model, bool Chat, string? ApiKey, TimeSpan Timeout, TimeSpan FirstChunkTimeout,
    int MaxConnections, bool NaturalLength, bool DistinctPerLaunch)
{
    public static OpenAiClientOptions From(WorkloadSpec w, Uri baseUrl)
    {
        var keyEnv = w.GetString("api_key_env");
        string? key = null;
        if (keyEnv.Length > 0)
            key = Environment.GetEnvironmentVariable(keyEnv) is { Length: > 0 } k ? k
                : throw new ArgumentException($"workload '{w.Name}': api_key_env names {keyEnv}, which is not set in the lab's environment");
        return new OpenAiClientOptions(baseUrl, w.GetString("model"), w.GetString("api") == "chat", key,
            TimeSpan.FromSeconds(w.GetDouble("timeout_s")), TimeSpan.FromSeconds(w.GetDouble("first_chunk_timeout_s")),
            w.GetInt("max_connections"), w.GetString("output_length") == "natural", w.GetString("prompt_reuse") == "distinct");
    }
}

/// <summary>
/// The load generator's side of an OpenAI-compatible endpoint: each query one streamed HTTP request, sent the moment
/// the load generator issues it. TTFT is the first chunk with content, each later chunk a token's arrival; the output's
/// token count is the server's usage, or GPT-2's count of the text when it gives none. Every way a query can go wrong
/// (an HTTP error, a timeout, a stream cut before [DONE], an error event) fails that query with its reason; the others go
/// on. Connections are reused; each one's setup is timed apart from the queries'.
/// </summary>
public sealed class OpenAiClientSut : ISystemUnderTest, ISutStatistics, IWindowedSut, IDisposable
{
    private readonly OpenAiClientOptions _o;
    private readonly HttpClient _http;
    private readonly Func<int, int, IReadOnlyList<ServingPrompt>> _window;
    private readonly Func<int, int>? _reusedFromEarlier;
    private readonly int _samples;
    private readonly Uri _url;
    private byte[][] _bodies = [];
    private int[] _promptTokens = [];
    private long _sent, _failed, _connections, _repeats, _prefixTokens, _fromEarlier;
    private readonly List<long> _connectNs = [], _gapsNs = [];
    private readonly object _lock = new();
    private int[] _sentCount = [];
    private int _windowIndex = -1;

    /// <param name="window">the prompts of window w (launch × warm-up or measured), <paramref name="samples"/> of them, and how many of them an earlier window sent</param>
    public OpenAiClientSut(OpenAiClientOptions options, int samples, Func<int, int, IReadOnlyList<ServingPrompt>> window, Func<int, int>? reusedFromEarlier = null)
    {
        (_o, _samples, _window) = (options, samples, window);
        _reusedFromEarlier = reusedFromEarlier;
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = options.MaxConnections,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10),
            UseProxy = false,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
            // Connection setup timed apart: a query that waits for a new connection still counts it in its latency.
            ConnectCallback = async (ctx, cancel) =>
            {
                var t0 = MonotonicClock.NowNs();
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try { await socket.ConnectAsync(ctx.DnsEndPoint, cancel); }
                catch { socket.Dispose(); throw; }
                lock (_lock) _connectNs.Add(MonotonicClock.NowNs() - t0);
                Interlocked.Increment(ref _connections);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        var baseText = options.BaseUrl.ToString().TrimEnd('/');
        if (!baseText.EndsWith("/v1", StringComparison.Ordinal)) baseText += "/v1";
        _url = new Uri(baseText + (options.Chat ? "/chat/completions" : "/completions"));
        Model = options.Model.Length > 0 ? options.Model : FirstModel(baseText);
        BeginWindow(0);
    }

    public string Name => $"openai:{_url.Host}:{_url.Port}";
    public string Model { get; }

    /// <summary>The server's first model (GET /v1/models): what a suite that names none is served.</summary>
    private string FirstModel(string baseText)
    {
        try
        {
            using var cts = new CancellationTokenSource(_o.FirstChunkTimeout);
            using var req = new HttpRequestMessage(HttpMethod.Get, baseText + "/models");
            if (_o.ApiKey is { } key) req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var resp = _http.Send(req, cts.Token);
            resp.EnsureSuccessStatusCode();
            using var doc = JsonDocument.Parse(resp.Content.ReadAsStream(cts.Token));
            return doc.RootElement.GetProperty("data")[0].GetProperty("id").GetString() ?? throw new InvalidDataException("a model without an id");
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or JsonException or InvalidDataException or KeyNotFoundException or IndexOutOfRangeException or InvalidOperationException)
        {
            throw new InvalidOperationException($"{baseText}/models did not name a model ({e.Message}); set the workload's model:", e);
        }
    }

    /// <summary>
    /// Starts window <paramref name="index"/>: its prompts become the library's samples, and what the client counts starts
    /// afresh. With distinct prompts each window (a launch's warm-up, its measured part) sends prompts no earlier one did.
    /// </summary>
    public void BeginWindow(int index)
    {
        var prompts = _window(_o.DistinctPerLaunch ? index : 0, _samples);
        var bodies = new byte[prompts.Count][];
        var tokens = new int[prompts.Count];
        for (var i = 0; i < prompts.Count; i++) (bodies[i], tokens[i]) = (Body(prompts[i]), prompts[i].PromptTokens);
        lock (_lock)
        {
            (_bodies, _promptTokens, _sentCount, _windowIndex) = (bodies, tokens, new int[prompts.Count], index);
            _gapsNs.Clear();
            _connectNs.Clear();
            _prefixTokens = prompts.Sum(p => (long)p.PrefixTokens);
        }
        _fromEarlier = _o.DistinctPerLaunch ? _reusedFromEarlier?.Invoke(index) ?? 0 : index == 0 ? 0 : prompts.Count;
        Interlocked.Exchange(ref _sent, 0);
        Interlocked.Exchange(ref _failed, 0);
        Interlocked.Exchange(ref _repeats, 0);
        Interlocked.Exchange(ref _connections, 0);
    }

    private byte[] Body(ServingPrompt p)
    {
        var max = p.OutputTokens;
        object body;
        if (_o.Chat)
        {
            var messages = p.Turns?.Select(t => new { role = t.Role, content = t.Content }).ToArray()
                ?? [new { role = "user", content = p.Text ?? string.Join(' ', p.TokenIds!) }];
            body = _o.NaturalLength
                ? new { model = Model, messages, max_tokens = max, stream = true, stream_options = new { include_usage = true } }
                : new { model = Model, messages, max_tokens = max, min_tokens = max, ignore_eos = true, stream = true, stream_options = new { include_usage = true } };
        }
        else
        {
            object prompt = p.TokenIds is { } ids ? ids : p.Text ?? string.Join("\n", p.Turns!.Select(t => $"{t.Role}: {t.Content}"));
            body = _o.NaturalLength
                ? new { model = Model, prompt, max_tokens = max, stream = true, stream_options = new { include_usage = true } }
                : new { model = Model, prompt, max_tokens = max, min_tokens = max, ignore_eos = true, stream = true, stream_options = new { include_usage = true } };
        }
        return JsonSerializer.SerializeToUtf8Bytes(body);
    }

    public IReadOnlyDictionary<string, long> Counters
    {
        get
        {
            long[] connect, gaps;
            lock (_lock) (connect, gaps) = (_connectNs.ToArray(), _gapsNs.ToArray());
            Array.Sort(connect);
            Array.Sort(gaps);
            static long Q(long[] s, double p) => s.Length == 0 ? -1 : s[Math.Min(s.Length - 1, (int)Math.Floor(p * s.Length))];
            return new Dictionary<string, long>
            {
                ["queries_sent"] = Interlocked.Read(ref _sent),
                ["queries_failed"] = Interlocked.Read(ref _failed),
                ["connections_opened"] = Interlocked.Read(ref _connections),
                ["connect_us_median"] = Q(connect, 0.5) / 1000,
                ["connect_us_max"] = connect.Length == 0 ? -1 : connect[^1] / 1000,
                // Between consecutive content chunks of one stream: inter-token latency, over every gap of every query.
                ["itl_us_p50"] = Q(gaps, 0.5) / 1000,
                ["itl_us_p99"] = Q(gaps, 0.99) / 1000,
                ["itl_us_max"] = gaps.Length == 0 ? -1 : gaps[^1] / 1000,
                // A prompt sent again in this window (the load generator draws samples with replacement), the prompt
                // tokens of the window's prompts that repeat their conversation's earlier turns, and prompts an earlier
                // window already sent: the reuse a server's prefix cache could turn into speed, said rather than hidden.
                ["prompts_repeated"] = Interlocked.Read(ref _repeats),
                ["prompt_prefix_tokens"] = Interlocked.Read(ref _prefixTokens),
                ["prompts_from_earlier_windows"] = _fromEarlier,
                ["window"] = _windowIndex,
            };
        }
    }

    public void IssueQuery(ReadOnlySpan<QuerySample> samples, IResponseSink sink)
    {
        foreach (var q in samples)
        {
            var i = q.SampleIndex % _bodies.Length;
            if (Interlocked.Increment(ref _sentCount[i]) > 1) Interlocked.Increment(ref _repeats);
            Interlocked.Increment(ref _sent);
            _ = SendAsync(q.Id, _bodies[i], sink);
        }
    }

    public void FlushQueries() { }

    private async Task SendAsync(long id, byte[] body, IResponseSink sink)
    {
        var start = MonotonicClock.NowNs();
        var chunks = 0;
        var phase = "no response";
        using var cts = new CancellationTokenSource();
        cts.CancelAfter(_o.FirstChunkTimeout < _o.Timeout ? _o.FirstChunkTimeout : _o.Timeout);
        try
        {
            using var req = new HttpRequestMessage(HttpMethod.Post, _url) { Content = new ByteArrayContent(body) };
            req.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            if (_o.ApiKey is { } key) req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var resp = await _http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, cts.Token).ConfigureAwait(false);
            if (!resp.IsSuccessStatusCode)
            {
                var errorBody = await resp.Content.ReadAsStringAsync(cts.Token).ConfigureAwait(false);
                Fail(sink, id, $"HTTP {(int)resp.StatusCode} {resp.ReasonPhrase}: {ErrorMessage(errorBody)}", 0);
                return;
            }
            phase = "no first chunk";
            await using var stream = await resp.Content.ReadAsStreamAsync(cts.Token).ConfigureAwait(false);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            int? usageTokens = null;
            var text = new StringBuilder();
            var done = false;
            long last = 0;
            while (await reader.ReadLineAsync(cts.Token).ConfigureAwait(false) is { } line)
            {
                if (!line.StartsWith("data:", StringComparison.Ordinal)) continue;
                var data = line.AsSpan(5).Trim();
                if (data.SequenceEqual("[DONE]")) { done = true; break; }
                using var doc = JsonDocument.Parse(data.ToString());
                var root = doc.RootElement;
                if (root.TryGetProperty("error", out var err))
                {
                    Fail(sink, id, "error event: " + ErrorMessage(err.GetRawText()), chunks);
                    return;
                }
                if (root.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object && u.TryGetProperty("completion_tokens", out var ct))
                    usageTokens = ct.GetInt32();
                if (Content(root) is not { Length: > 0 } content) continue;
                var now = MonotonicClock.NowNs();
                if (chunks == 0)
                {
                    sink.FirstToken(id);
                    phase = "stream";
                    // From here the whole query's timeout applies, less what the first chunk took.
                    var left = _o.Timeout - TimeSpan.FromTicks((now - start) / 100);
                    cts.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1));
                }
                else lock (_lock) _gapsNs.Add(now - last);
                last = now;
                chunks++;
                if (usageTokens is null) text.Append(content);
            }
            if (!done)
            {
                Fail(sink, id, $"stream cut after {chunks} chunks (no [DONE])", chunks);
                return;
            }
            if (chunks == 0)
            {
                Fail(sink, id, "an answer without content", 0);
                return;
            }
            sink.Complete(id, usageTokens ?? Math.Max(1, PerfLab.Llm.Datasets.Prompts.Tokenizer.CountTokens(text.ToString())), 0);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            var limit = phase == "stream" ? _o.Timeout : _o.FirstChunkTimeout < _o.Timeout ? _o.FirstChunkTimeout : _o.Timeout;
            Fail(sink, id, $"timeout: {phase} after {limit.TotalSeconds:0.###} s", chunks);
        }
        catch (HttpRequestException e)
        {
            Fail(sink, id, chunks > 0 ? $"stream cut after {chunks} chunks ({Short(e)})" : "connection failed: " + Short(e), chunks);
        }
        catch (IOException e)
        {
            Fail(sink, id, $"stream cut after {chunks} chunks ({Short(e)})", chunks);
        }
        catch (JsonException e)
        {
            Fail(sink, id, $"malformed chunk after {chunks} chunks: {e.Message}", chunks);
        }
    }

    private void Fail(IResponseSink sink, long id, string reason, int chunks)
    {
        Interlocked.Increment(ref _failed);
        sink.QueryFailed(id, reason, chunks);
    }

    private static string Short(Exception e) => (e.InnerException ?? e).Message;

    private static string? Content(JsonElement root)
    {
        if (!root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0) return null;
        var c = choices[0];
        if (c.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String) return t.GetString();
        if (c.TryGetProperty("delta", out var d) && d.ValueKind == JsonValueKind.Object && d.TryGetProperty("content", out var dc) && dc.ValueKind == JsonValueKind.String)
            return dc.GetString();
        return null;
    }

    /// <summary>An OpenAI error body's message, or the body's start.</summary>
    private static string ErrorMessage(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            var e = doc.RootElement.TryGetProperty("error", out var inner) ? inner : doc.RootElement;
            if (e.ValueKind == JsonValueKind.Object && e.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String) return m.GetString()!;
        }
        catch (JsonException) { }
        var t = body.ReplaceLineEndings(" ").Trim();
        return t.Length > 120 ? t[..120] + "…" : t.Length == 0 ? "(empty body)" : t;
    }

    public void Dispose() => _http.Dispose();
}
