using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PerfLab.Core.LoadGen;

namespace PerfLab.Lab.Serving;

/// <summary>
/// What crosses the Realm's boundary as the server works, for an emulated Realm's cost injector: a request arriving,
/// its first token and its end leaving, and the bytes each way. A native server has none (null).
/// </summary>
public interface IRealmCrossings
{
    void QueryArrived();
    void FirstTokenOut();
    void QueryCompleted(int tokens);
    void BytesIn(long n);
    void BytesOut(long n);
}

/// <summary>
/// A fault the server injects for tests of the client's failure handling: every Nth request answers 500, has its stream
/// end after half its tokens without [DONE] (cut: a worker gone behind a proxy that closes the stream cleanly) or its
/// connection reset there (reset), or hangs without a byte until the client gives up.
/// </summary>
public sealed record ServerFault(string Kind, int Every)
{
    public static readonly string[] Kinds = ["500", "cut", "reset", "hang"];

    /// <summary>Parses KIND@N (e.g. 500@5): the form <c>perflab serve --fault</c> takes.</summary>
    public static ServerFault Parse(string text)
    {
        var at = text.IndexOf('@');
        var kind = at < 0 ? text : text[..at];
        if (!Kinds.Contains(kind) || (at >= 0 && (!int.TryParse(text[(at + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1)))
            throw new ArgumentException($"--fault '{text}': expected KIND@N with KIND one of {string.Join(", ", Kinds)} and N a whole number from 1 (every Nth request)");
        return new ServerFault(kind, at < 0 ? 1 : int.Parse(text[(at + 1)..], CultureInfo.InvariantCulture));
    }
}

/// <summary>
/// An OpenAI-compatible server (Kestrel, HTTP/1.1) over one of the lab's engines: <c>/v1/completions</c> and
/// <c>/v1/chat/completions</c> (streamed as server-sent events or whole), <c>/v1/models</c>, <c>/health</c>. Text is
/// tokenized with GPT-2's tokenizer (ids folded into the model's vocabulary); a prompt may also be given as token ids,
/// as the completions API allows, so a client can send the very tokens the channel path uses. Every answer has exactly
/// max_tokens tokens (greedy, no end-of-sequence stop): what MLPerf's fixed output lengths ask and vLLM's ignore_eos gives.
/// </summary>
public sealed class OpenAiServer : IAsyncDisposable, IDisposable
{
    private readonly WebApplication _app;
    private readonly IPromptServer _engine;
    private readonly ServerFault? _fault;
    private readonly IRealmCrossings? _crossings;
    private long _requests, _served, _failed, _rejected;

    public Uri BaseUrl { get; }
    public string Model => _engine.ModelName;

    public IReadOnlyDictionary<string, long> Counters => new Dictionary<string, long>
    {
        ["http_requests"] = Interlocked.Read(ref _requests), ["http_served"] = Interlocked.Read(ref _served),
        ["http_failed"] = Interlocked.Read(ref _failed), ["http_rejected"] = Interlocked.Read(ref _rejected),
    };

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    private OpenAiServer(IPromptServer engine, IPAddress address, int port, ServerFault? fault, IRealmCrossings? crossings)
    {
        (_engine, _fault, _crossings) = (engine, fault, crossings);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(address, port, l => l.Protocols = HttpProtocols.Http1);
            k.AddServerHeader = false;
            // Streams are long-lived and a benchmark opens many: Kestrel's defaults would cap neither, but say so.
            k.Limits.MaxConcurrentConnections = null;
            k.Limits.MinResponseDataRate = null;
        });
        _app = builder.Build();
        _app.MapPost("/v1/completions", http => Handle(http, chat: false));
        _app.MapPost("/v1/chat/completions", http => Handle(http, chat: true));
        _app.MapGet("/v1/models", () => Microsoft.AspNetCore.Http.Results.Json(new { @object = "list", data = new[] { new { id = Model, @object = "model", owned_by = "perflab" } } }));
        _app.MapGet("/health", () => Microsoft.AspNetCore.Http.Results.Text("ok"));
        _app.StartAsync().GetAwaiter().GetResult();
        BaseUrl = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    /// <summary>Starts serving; port 0 takes any free one (BaseUrl says which). Throws IOException if the address is taken.</summary>
    public static OpenAiServer Start(IPromptServer engine, IPAddress address, int port, ServerFault? fault = null, IRealmCrossings? crossings = null)
    {
        try { return new OpenAiServer(engine, address, port, fault, crossings); }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException || e.InnerException is IOException or System.Net.Sockets.SocketException)
        {
            throw new IOException($"cannot listen on {address}:{port}: {e.InnerException?.Message ?? e.Message}", e);
        }
    }

    private async Task Handle(HttpContext http, bool chat)
    {
        var n = Interlocked.Increment(ref _requests);
        _crossings?.QueryArrived();
        _crossings?.BytesIn(http.Request.ContentLength ?? 0);
        ParsedRequest req;
        try { req = await ParseAsync(http, chat); }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException or FormatException)
        {
            Interlocked.Increment(ref _rejected);
            _crossings?.QueryCompleted(0);
            await Error(http, 400, "invalid_request_error", e.Message);
            return;
        }
        var fault = _fault is { } f && n % f.Every == 0 ? f.Kind : null;
        if (fault == "500")
        {
            Interlocked.Increment(ref _failed);
            _crossings?.QueryCompleted(0);
            await Error(http, 500, "server_error", "injected fault (perflab serve --fault 500)");
            return;
        }
        if (fault == "hang")
        {
            Interlocked.Increment(ref _failed);
            try { await Task.Delay(Timeout.Infinite, http.RequestAborted); } catch (OperationCanceledException) { }
            _crossings?.QueryCompleted(0);
            return;
        }
        var stream = new TokenStream();
        try { _engine.Generate(new GenerationRequest(req.PromptTokens, req.MaxTokens), stream); }
        catch (ArgumentException e)
        {
            Interlocked.Increment(ref _rejected);
            _crossings?.QueryCompleted(0);
            await Error(http, 400, "invalid_request_error", e.Message);
            return;
        }
        var id = (chat ? "chatcmpl-" : "cmpl-") + n.ToString(CultureInfo.InvariantCulture);
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (req.Stream) await StreamAnswer(http, req, stream, id, created, chat, cutAfter: fault is "cut" or "reset" ? Math.Max(1, req.MaxTokens / 2) : -1, reset: fault == "reset");
        else await WholeAnswer(http, req, stream, id, created, chat);
    }

    private async Task StreamAnswer(HttpContext http, ParsedRequest req, TokenStream stream, string id, long created, bool chat, int cutAfter, bool reset)
    {
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        var body = http.Response.Body;
        var tokens = 0;
        var tokenizer = PerfLab.Llm.Datasets.Prompts.Tokenizer;
        try
        {
            await foreach (var token in stream.Tokens.ReadAllAsync(http.RequestAborted))
            {
                var text = tokenizer.Decode([token % 50257]) ?? "";
                var bytes = await Event(body, Chunk(chat, id, created, text, first: tokens == 0, finish: null, usage: null), http.RequestAborted);
                tokens++;
                if (tokens == 1) _crossings?.FirstTokenOut();
                _crossings?.BytesOut(bytes);
                // Drained what the engine has produced: send it now, one flush for however many events are ready.
                if (!stream.Tokens.TryPeek(out _)) await body.FlushAsync(http.RequestAborted);
                if (tokens == cutAfter)
                {
                    await body.FlushAsync(http.RequestAborted);
                    Interlocked.Increment(ref _failed);
                    _crossings?.QueryCompleted(tokens);
                    // Reset: the connection goes mid-answer, as a crashed server's would (the client may lose what was in
                    // flight). Cut: the response ends cleanly, short of its end ([DONE]).
                    if (reset) http.Abort();
                    return;
                }
            }
            var (done, error) = await stream.Outcome;
            if (error is not null)
            {
                // Mid-stream the status is already sent: the OpenAI convention is an error event, then the stream ends.
                Interlocked.Increment(ref _failed);
                await Event(body, JsonSerializer.SerializeToUtf8Bytes(new { error = new { message = error, type = "server_error" } }), http.RequestAborted);
                await body.FlushAsync(http.RequestAborted);
                _crossings?.QueryCompleted(tokens);
                return;
            }
            long outBytes = await Event(body, Chunk(chat, id, created, chat ? null : "", first: false, finish: "length", usage: null), http.RequestAborted);
            if (req.IncludeUsage)
                outBytes += await Event(body, Chunk(chat, id, created, null, first: false, finish: null,
                    usage: new Usage(req.PromptTokens.Length, done, req.PromptTokens.Length + done)), http.RequestAborted);
            await body.WriteAsync(DoneEvent, http.RequestAborted);
            outBytes += DoneEvent.Length;
            await body.FlushAsync(http.RequestAborted);
            Interlocked.Increment(ref _served);
            _crossings?.BytesOut(outBytes);
            _crossings?.QueryCompleted(done);
        }
        catch (OperationCanceledException)
        {
            // The client went away: its query is its own failure; the engine finishes the sequence into the void.
            Interlocked.Increment(ref _failed);
            _crossings?.QueryCompleted(tokens);
        }
    }

    private async Task WholeAnswer(HttpContext http, ParsedRequest req, TokenStream stream, string id, long created, bool chat)
    {
        var ids = new List<int>();
        await foreach (var token in stream.Tokens.ReadAllAsync(http.RequestAborted))
        {
            if (ids.Count == 0) _crossings?.FirstTokenOut();
            ids.Add(token % 50257);
        }
        var (done, error) = await stream.Outcome;
        if (error is not null)
        {
            Interlocked.Increment(ref _failed);
            _crossings?.QueryCompleted(ids.Count);
            await Error(http, 500, "server_error", error);
            return;
        }
        var text = PerfLab.Llm.Datasets.Prompts.Tokenizer.Decode(ids) ?? "";
        var usage = new Usage(req.PromptTokens.Length, done, req.PromptTokens.Length + done);
        var bytes = chat
            ? JsonSerializer.SerializeToUtf8Bytes(new { id, @object = "chat.completion", created, model = Model,
                choices = new[] { new { index = 0, message = new { role = "assistant", content = text }, finish_reason = "length" } }, usage }, Json)
            : JsonSerializer.SerializeToUtf8Bytes(new { id, @object = "text_completion", created, model = Model,
                choices = new[] { new { index = 0, text, finish_reason = "length" } }, usage }, Json);
        http.Response.ContentType = "application/json";
        await http.Response.Body.WriteAsync(bytes, http.RequestAborted);
        Interlocked.Increment(ref _served);
        _crossings?.BytesOut(bytes.Length);
        _crossings?.QueryCompleted(done);
    }

    /// <summary>
    /// One streamed chunk in either API's shape: a token's text (chat: its delta, the first with the role), the finish
    /// reason, or the usage (no choices). A usage chunk passes text null.
    /// </summary>
    private byte[] Chunk(bool chat, string id, long created, string? text, bool first, string? finish, Usage? usage)
    {
        var noChoice = usage is not null;
        return chat
            ? JsonSerializer.SerializeToUtf8Bytes(new ChatChunk(id, "chat.completion.chunk", created, Model,
                noChoice ? [] : [new ChatChoice(0, new Delta(first ? "assistant" : null, text), finish)], usage), Json)
            : JsonSerializer.SerializeToUtf8Bytes(new TextChunk(id, "text_completion", created, Model,
                noChoice ? [] : [new TextChoice(0, text ?? "", finish)], usage), Json);
    }

    private static readonly byte[] DataPrefix = "data: "u8.ToArray(), EventEnd = "\n\n"u8.ToArray(), DoneEvent = "data: [DONE]\n\n"u8.ToArray();

    private static async Task<long> Event(Stream body, byte[] json, CancellationToken cancel)
    {
        await body.WriteAsync(DataPrefix, cancel);
        await body.WriteAsync(json, cancel);
        await body.WriteAsync(EventEnd, cancel);
        return DataPrefix.Length + json.Length + EventEnd.Length;
    }

    private static Task Error(HttpContext http, int status, string type, string message)
    {
        http.Response.StatusCode = status;
        return http.Response.WriteAsJsonAsync(new { error = new { message, type, code = status } });
    }

    private sealed record ParsedRequest(long[] PromptTokens, int MaxTokens, bool Stream, bool IncludeUsage);

    private async Task<ParsedRequest> ParseAsync(HttpContext http, bool chat)
    {
        using var doc = await JsonDocument.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new ArgumentException("the body must be a JSON object");
        if (root.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.String && model.GetString() is { Length: > 0 } m && m != Model)
            throw new ArgumentException($"model '{m}' is not served here; this server serves '{Model}' (GET /v1/models)");
        var vocab = _engine.Vocab;
        long[] prompt;
        if (chat)
        {
            if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
                throw new ArgumentException("messages: a non-empty array of {role, content} is required");
            // The turns as one text, role by role: a stand-in for a chat template, the same cost in tokens.
            var text = new StringBuilder();
            foreach (var msg in messages.EnumerateArray())
                text.Append(msg.GetProperty("role").GetString()).Append(": ").Append(msg.GetProperty("content").GetString()).Append('\n');
            prompt = Encode(text.ToString(), vocab);
        }
        else
        {
            if (!root.TryGetProperty("prompt", out var p)) throw new ArgumentException("prompt is required (a string, or an array of token ids)");
            prompt = p.ValueKind switch
            {
                JsonValueKind.String => Encode(p.GetString()!, vocab),
                JsonValueKind.Array when p.GetArrayLength() > 0 && p[0].ValueKind == JsonValueKind.Number => p.EnumerateArray().Select(e => e.GetInt64()).ToArray(),
                JsonValueKind.Array when p.GetArrayLength() == 1 && p[0].ValueKind == JsonValueKind.String => Encode(p[0].GetString()!, vocab),
                JsonValueKind.Array when p.GetArrayLength() == 1 && p[0].ValueKind == JsonValueKind.Array => p[0].EnumerateArray().Select(e => e.GetInt64()).ToArray(),
                _ => throw new ArgumentException("prompt: a string, an array of token ids, or one of either in an array (batches of prompts are not served)"),
            };
        }
        var max = 16;
        foreach (var key in new[] { "max_tokens", "max_completion_tokens" })
            if (root.TryGetProperty(key, out var mt) && mt.ValueKind == JsonValueKind.Number) max = mt.GetInt32();
        if (max < 1) throw new ArgumentException($"max_tokens must be at least 1 (got {max})");
        var stream = root.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
        var usage = root.TryGetProperty("stream_options", out var so) && so.ValueKind == JsonValueKind.Object
            && so.TryGetProperty("include_usage", out var iu) && iu.ValueKind == JsonValueKind.True;
        return new ParsedRequest(prompt, max, stream, usage);
    }

    private static long[] Encode(string text, int vocab) =>
        PerfLab.Llm.Datasets.Prompts.Tokenizer.EncodeToIds(text).Select(i => (long)(i % vocab)).ToArray();

    /// <summary>One request's tokens as the engine makes them, read by the request's handler.</summary>
    private sealed class TokenStream : IGenerationSink
    {
        private readonly Channel<int> _tokens = Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        private readonly TaskCompletionSource<(int, string?)> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public ChannelReader<int> Tokens => _tokens.Reader;
        public Task<(int Tokens, string? Error)> Outcome => _outcome.Task;
        public void Token(int tokenId)
        {
            _tokens.Writer.TryWrite(tokenId);
            // The engine's thread steps aside for the threads that send the token: in a Realm of one vCPU they share it,
            // and a woken writer otherwise waits for the engine's timeslice to end. Measured on the tiny model, 1 vCPU:
            // without this the first chunk left 1.9 ms after the channel's first-token message and the rest came bunched.
            Thread.Yield();
        }
        public void Done(int tokens, long insideNs) { _outcome.TrySetResult((tokens, null)); _tokens.Writer.TryComplete(); }
        public void Failed(string reason) { _outcome.TrySetResult((0, reason)); _tokens.Writer.TryComplete(); }
    }

    private sealed record TextChoice(int Index, string Text, string? FinishReason);
    private sealed record TextChunk(string Id, string Object, long Created, string Model, TextChoice[] Choices, Usage? Usage);
    private sealed record Delta(string? Role, string? Content);
    private sealed record ChatChoice(int Index, Delta Delta, string? FinishReason);
    private sealed record ChatChunk(string Id, string Object, long Created, string Model, ChatChoice[] Choices, Usage? Usage);
    private sealed record Usage(int PromptTokens, int CompletionTokens, int TotalTokens);

    public async ValueTask DisposeAsync()
    {
        using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2))) await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
