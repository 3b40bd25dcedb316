using System.CommandLine;
using System.Globalization;
using System.Net;
using PerfLab.Core.Channel;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Suites;
using PerfLab.Core.Units;
using PerfLab.Lab.Serving;
using PerfLab.Lab.Workloads;

namespace PerfLab.Cli.Commands;

/// <summary>`perflab serve`: the lab's engines behind an OpenAI-compatible HTTP server, for any client (and for the openai workload).</summary>
public static class ServeCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var engineKind = new Option<string>("--serve") { Description = "what answers: llm (a model the lab builds), synthetic (busy work per token) or noop (answers at once)", DefaultValueFactory = _ => "llm" };
        engineKind.AcceptOnlyFromAmong([.. WorkloadKinds.Servable.Select(k => k.Name)]);
        var preset = new Option<string>("--preset") { Description = "llm: model shape (tiny, 110m, 1b)", DefaultValueFactory = _ => "tiny" };
        preset.AcceptOnlyFromAmong("tiny", "110m", "1b");
        var engine = new Option<string>("--engine") { Description = "llm: ort (our engine), ort-genai or llamacpp (the peers)", DefaultValueFactory = _ => "ort" };
        engine.AcceptOnlyFromAmong("ort", "ort-genai", "llamacpp");
        var format = new Option<string>("--format") { Description = "llm: int4 or fp32 weights (llamacpp: int4 is GGUF Q4_0, or f16)", DefaultValueFactory = _ => "int4" };
        format.AcceptOnlyFromAmong("int4", "fp32", "f16");
        var batching = new Option<string>("--batching") { Description = "llm: on batches concurrent sequences' decode steps (continuous batching; ort, llamacpp)", DefaultValueFactory = _ => "off" };
        batching.AcceptOnlyFromAmong("off", "on");
        var threads = new Option<int>("--threads") { Description = "llm: compute threads per sequence (of the batch with --batching on); 0: as many as the CPUs allow", DefaultValueFactory = _ => 1 };
        var concurrency = new Option<int>("--concurrency") { Description = "sequences served at once (more requests wait their turn)", DefaultValueFactory = _ => 1 };
        var listen = new Option<string>("--listen") { Description = "address:port to listen on (port 0: any free port)", DefaultValueFactory = _ => "127.0.0.1:8000" };
        var fault = new Option<string?>("--fault") { Description = "for testing clients: KIND@N makes every Nth request fail: 500 (an error status), cut (the stream ends half-way, without [DONE]), reset (the connection is reset half-way), hang (no answer)" };
        var cmd = new Command("serve", "Serve the lab's engines over the OpenAI API (/v1/completions, /v1/chat/completions, /v1/models; streaming).\n" +
                                       "Example: perflab serve --preset tiny --engine ort --listen 127.0.0.1:8000")
        {
            engineKind, preset, engine, format, batching, threads, concurrency, listen, fault,
        };
        cmd.SetAction((p, cancel) =>
        {
            var text = p.GetValue(listen)!;
            var colon = text.LastIndexOf(':');
            if (colon < 0 || !IPAddress.TryParse(text[..colon].Trim('[', ']'), out var address)
                || !int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
            {
                stderr.WriteLine($"--listen '{text}': give an IP address and a port, e.g. 127.0.0.1:8000 or 0.0.0.0:0");
                return Task.FromResult((int)ExitCode.BadInput);
            }
            ServerFault? injected = null;
            if (p.GetValue(fault) is { } f)
            {
                try { injected = ServerFault.Parse(f); }
                catch (ArgumentException e) { stderr.WriteLine(e.Message); return Task.FromResult((int)ExitCode.BadInput); }
            }
            foreach (var (name, v, min) in new[] { ("--threads", p.GetValue(threads), 0), ("--concurrency", p.GetValue(concurrency), 1) })
                if (v < min || v > 256) { stderr.WriteLine($"{name} {v}: give a whole number from {min} to 256"); return Task.FromResult((int)ExitCode.BadInput); }
            var kind = WorkloadKinds.Named(p.GetValue(engineKind)!);
            var values = kind.Parameters.ToDictionary(s => s.Name, s => s.Default);
            void Put(string key, string value) { if (values.ContainsKey(key)) values[key] = value; }
            Put("preset", p.GetValue(preset)!);
            Put("engine", p.GetValue(engine)!);
            Put("format", p.GetValue(format)!);
            Put("batching", p.GetValue(batching)!);
            if (kind == WorkloadKinds.Llm && WorkloadKinds.LlmProblem(values) is { } problem)
            {
                stderr.WriteLine($"--{problem.Parameter.Replace('_', '-')} {values[problem.Parameter]}: {problem.Why}");
                return Task.FromResult((int)ExitCode.BadInput);
            }
            Put("threads", p.GetValue(threads).ToString(CultureInfo.InvariantCulture));
            Put("concurrency", p.GetValue(concurrency).ToString(CultureInfo.InvariantCulture));
            var spec = new WorkloadSpec("serve", kind, values);
            var workload = WorkloadRegistry.For(kind);
            workload.PrepareOnHost(spec);
            var info = new Dictionary<string, string>();
            var sut = workload.CreateSut(spec, new SutContext(new AgentOptions(PageSize.Kib4, HugePageBacking.Thp, []), null, info));
            try
            {
                if (sut is not IPromptServer engineSut) { stderr.WriteLine($"--serve {kind.Name}: cannot answer prompts"); return Task.FromResult((int)ExitCode.BadInput); }
                OpenAiServer server;
                try { server = OpenAiServer.Start(engineSut, address, port, injected); }
                catch (IOException e) { stderr.WriteLine(e.Message); return Task.FromResult((int)ExitCode.Environment); }
                using (server)
                {
                    stdout.WriteLine($"serving {server.Model} ({sut.Name}) at {server.BaseUrl.ToString().TrimEnd('/')}/v1" +
                                     (injected is { } i ? $", failing every {i.Every}th request ({i.Kind})" : "") + "; Ctrl-C stops");
                    stdout.Flush();
                    // Our own signal handlers: Kestrel's host lifetime takes SIGTERM for itself, and a shell's background job ignores SIGINT.
                    using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
                    using var onInt = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
                    using var onTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
                    stop.Token.WaitHandle.WaitOne();
                    var c = server.Counters;
                    stdout.WriteLine($"stopped: {c["http_requests"]} requests, {c["http_served"]} served, {c["http_failed"]} failed, {c["http_rejected"]} rejected");
                }
                return Task.FromResult(0);
            }
            finally { (sut as IDisposable)?.Dispose(); }
        });
        return cmd;
    }
}
