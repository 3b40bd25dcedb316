using System.Diagnostics;
using System.Text;
using System.Text.Json;
using PerfLab.Core.Channel;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Suites;
using PerfLab.Core.Units;
using PerfLab.Lab.Backends;
using PerfLab.Lab.Os;
using PerfLab.Llm.Inference;
using PerfLab.Llm.Model;

namespace PerfLab.Lab.Agent;

/// <summary>What the host sends in the load message: the workload and the Realm settings the agent must honour.</summary>
public sealed record LoadRequest(string Workload, string Kind, Dictionary<string, string> Parameters, string PageSize, string Backing)
{
    /// <summary>Emulated Realms: the payload (model weights) comes over a shared buffer in chunks instead of from a file.</summary>
    public StreamPlan? Stream { get; init; }
}

/// <summary>Where the shared buffer is, how large a chunk is (the RSI batch), and how many bytes will come.</summary>
public sealed record StreamPlan(string SharedPath, long ChunkBytes, long TotalBytes);

/// <summary>The agent's own settings from its command line: applied before it says hello.</summary>
public sealed record AgentOptions(PageSize PageSize, HugePageBacking Backing, IReadOnlyList<int> Cpus);

/// <summary>
/// The in-Realm side of the channel: says hello, loads the workload it is told to, serves queries, answers
/// stats, leaves on bye or when the host goes away. Everything it says goes through one locked writer.
/// </summary>
public sealed class AgentHost(TextReader input, Stream output, AgentOptions options) : IResponseSink
{
    private readonly object _writeLock = new();
    private readonly byte[] _buffer = new byte[256];
    private ISystemUnderTest? _sut;
    private string _policy = "";
    private string _pinning = "";

    public static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    // Emulated Realm: world-switch costs (PERFLAB_REALM_COSTS="exit_ns=..,rsi_ns=..") paid as busy time at every
    // crossing: a query in, a token or an answer out, a payload chunk taken over the shared buffer.
    private readonly long _exitNs = Cost("exit_ns"), _rsiNs = Cost("rsi_ns"), _faultNs = Cost("fault_ns");
    private long _peakResidentKb = PeakResidentKb();
    private readonly object _peakLock = new();

    /// <summary>
    /// The process's peak resident memory (VmHWM). A Realm takes a stage-2 fault when its guest touches
    /// guest-physical memory for the first time — reused memory does not fault again — so growth of the peak,
    /// in 4 KiB granules (Realm stage 2 maps 4 KiB whatever the host page size), counts them; a native process's
    /// minor faults would count every malloc'd page each time and overstate them many times over.
    /// </summary>
    private static long PeakResidentKb()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line[6..].Replace("kB", "").Trim());
        }
        catch (IOException) { }
        return 0;
    }

    /// <summary>
    /// As a query completes: the stage-2 faults its new memory would have taken and the timer ticks (250 Hz) a
    /// Realm would have exited for while it ran, each paid at the profile's price.
    /// </summary>
    private void PayForFaultsAndTicks(long insideNs)
    {
        if (_faultNs <= 0 && _exitNs <= 0) return;
        long newGranules;
        lock (_peakLock)
        {
            var peak = PeakResidentKb();
            newGranules = Math.Max(0, peak - _peakResidentKb) / 4;
            _peakResidentKb = Math.Max(peak, _peakResidentKb);
        }
        Busy(newGranules * _faultNs + insideNs / 4_000_000 * _exitNs);
    }

    private static long Cost(string key) =>
        (Environment.GetEnvironmentVariable("PERFLAB_REALM_COSTS") ?? "").Split(',')
            .Select(kv => kv.Split('=')).Where(kv => kv.Length == 2 && kv[0] == key)
            .Select(kv => long.TryParse(kv[1], out var v) ? v : 0).FirstOrDefault();

    private static void Busy(long ns)
    {
        if (ns <= 0) return;
        var end = MonotonicClock.NowNs() + ns;
        while (MonotonicClock.NowNs() < end) Thread.SpinWait(16);
    }

    public int Run()
    {
        _policy = PagePolicy.ApplyToSelf(options.PageSize);
        _pinning = Affinity.PinSelf(options.Cpus);
        Send(ChannelProtocol.Hello(Environment.ProcessId));
        Span<QuerySample> one = stackalloc QuerySample[1];
        while (input.ReadLine() is { } line)
        {
            if (!ChannelProtocol.TryParse(line, out var msg, out var problem))
            {
                Send(ChannelProtocol.Error(problem!));
                return 2;
            }
            switch (msg.Kind)
            {
                case MessageKind.Load:
                    if (!Load(msg.Text)) return 2;
                    break;
                case MessageKind.Query when _sut is null:
                    Send(ChannelProtocol.Error("query before load: send load first"));
                    return 2;
                case MessageKind.Query:
                    Busy(_exitNs);
                    one[0] = new QuerySample(msg.Id, (int)msg.A);
                    _sut.IssueQuery(one, this);
                    break;
                case MessageKind.Stats:
                    Send(ChannelProtocol.Stats(JsonSerializer.Serialize(Stats(), Json)));
                    break;
                case MessageKind.Bye:
                    Send(ChannelProtocol.Bye());
                    (_sut as IDisposable)?.Dispose();
                    return 0;
                default:
                    Send(ChannelProtocol.Error($"the agent does not accept '{msg.Kind}' messages"));
                    return 2;
            }
        }
        return 0;
    }

    private bool Load(string json)
    {
        var start = MonotonicClock.NowNs();
        LoadRequest? req;
        try { req = JsonSerializer.Deserialize<LoadRequest>(json, Json); }
        catch (JsonException e) { Send(ChannelProtocol.Error("load: not valid JSON: " + e.Message)); return false; }
        if (req is null) { Send(ChannelProtocol.Error("load: empty request")); return false; }
        var spec = new WorkloadSpec(req.Workload, req.Kind, req.Parameters);
        var info = new Dictionary<string, string>();
        if (_exitNs > 0 || _rsiNs > 0) info["realm_costs"] = $"exit_ns={_exitNs},rsi_ns={_rsiNs},fault_ns={_faultNs}";
        foreach (var (k, v) in RealmEvidence()) info[k] = v;
        var payloadReceived = false;
        if (req.Stream is { } plan)
        {
            try { payloadReceived = ReceivePayload(plan, info); }
            catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException)
            {
                Send(ChannelProtocol.Error("receiving the payload failed: " + e.Message));
                return false;
            }
        }
        try
        {
            _sut = req.Kind switch
            {
                "noop" => new NullSut(),
                "synthetic" => new SyntheticTokenSut(SyntheticSettings.From(spec), options.PageSize, options.Backing),
                "llm" => LoadLlm(spec, info, payloadReceived),
                _ => throw new ArgumentException($"unknown workload kind '{req.Kind}'; this agent knows: {string.Join(", ", WorkloadKinds.All.Keys)}"),
            };
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or KeyNotFoundException or FormatException
                                      or IOException or InvalidDataException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            Send(ChannelProtocol.Error("load failed: " + e.Message));
            return false;
        }
        // What loading touched was faulted in during the launch; from here on only growth is charged.
        lock (_peakLock) _peakResidentKb = PeakResidentKb();
        foreach (var (k, v) in new Dictionary<string, string>
        {
            ["sut"] = _sut.Name,
            ["page_policy"] = _policy,
            ["pinning"] = _pinning,
            ["working_set_bytes"] = ((_sut as SyntheticTokenSut)?.WorkingSetBytes ?? 0).ToString(),
        }) info[k] = v;
        Send(ChannelProtocol.Ready(MonotonicClock.NowNs() - start, JsonSerializer.Serialize(info, Json)));
        return true;
    }

    /// <summary>
    /// The llm workload: its model is built on first use by a separate `perflab model build` process, so the
    /// builder's own memory never shows in this agent's RSS; then the weights are verified against the manifest.
    /// </summary>
    private static LlmSut LoadLlm(WorkloadSpec spec, Dictionary<string, string> info, bool payloadReceived)
    {
        var settings = LlmSettings.From(spec);
        var dir = ModelCache.DirectoryFor(settings.Model);
        if (payloadReceived)
        {
            // The weights came over the shared buffer into private memory (tmpfs): the model is read from there;
            // the host's copy on disk is never opened.
            var realmDir = RealmDir;
            foreach (var f in new[] { BuiltModel.ModelFile, BuiltModel.ManifestFile, BuiltModel.GenAiConfigFile })
                File.Copy(Path.Combine(dir, f), Path.Combine(realmDir, f), true);
            var sutFromRealm = new LlmSut(settings, realmDir);
            // The session holds what it needs now (its packed copy, or a mapping of these pages): the file's name
            // goes, so the received bytes are not held a second time once nothing maps them.
            Directory.Delete(realmDir, true);
            foreach (var (k, v) in sutFromRealm.Info) info["llm." + k] = v;
            info["weights_source"] = "streamed into private memory (tmpfs), verified against the manifest";
            return sutFromRealm;
        }
        if (!ModelCache.IsBuilt(dir))
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            var (file, lead) = PerflabExecutable.Resolve();
            var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in lead.Concat(["model", "build", "--preset", settings.Model.Preset, "--format", settings.Model.Format.ToString().ToLowerInvariant(),
                         "--block-size", settings.Model.BlockSize.ToString(), "--accuracy-level", settings.Model.AccuracyLevel.ToString(),
                         "--seed", settings.Model.Seed.ToString()]))
                psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException($"building the model failed (exit {p.ExitCode}): {err.Result.Trim()}");
            info["model_build_ms"] = sw.Elapsed.TotalMilliseconds.ToString("0");
        }
        var sut = new LlmSut(settings, dir);
        foreach (var (k, v) in sut.Info) info["llm." + k] = v;
        return sut;
    }

    /// <summary>
    /// Takes the payload chunk by chunk: each chunk is copied from the shared buffer into a bounce buffer on the
    /// cell's page size, then into private memory (a memfd), then acknowledged — one host call per chunk.
    /// </summary>
    private unsafe bool ReceivePayload(StreamPlan plan, Dictionary<string, string> info)
    {
        // Private memory: a file on tmpfs (ONNX Runtime insists the weights be a real file beside the model).
        Directory.CreateDirectory(RealmDir);
        var fd = open(Path.Combine(RealmDir, BuiltModel.WeightsFileName), 0x241 /* O_WRONLY|O_CREAT|O_TRUNC */, 0x180);
        if (fd < 0) throw new IOException("creating the Realm's private weights file failed: " + Libc.LastError());
        using var mmf = System.IO.MemoryMappedFiles.MemoryMappedFile.CreateFromFile(plan.SharedPath, FileMode.Open, null, 0,
            System.IO.MemoryMappedFiles.MemoryMappedFileAccess.ReadWrite);
        using var view = mmf.CreateViewAccessor(0, plan.ChunkBytes, System.IO.MemoryMappedFiles.MemoryMappedFileAccess.Read);
        using var bounce = PagePolicy.Allocate(plan.ChunkBytes, options.PageSize, options.Backing);
        byte* shared = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref shared);
        try
        {
            long received = 0, chunks = 0;
            while (received < plan.TotalBytes)
            {
                var line = input.ReadLine() ?? throw new IOException("the host went away during the payload");
                if (!ChannelProtocol.TryParse(line, out var msg, out var problem) || msg.Kind != MessageKind.Chunk)
                    throw new InvalidOperationException($"expected a chunk, got '{line}' {problem}");
                var n = msg.A;
                if (n <= 0 || n > plan.ChunkBytes || received + n > plan.TotalBytes)
                    throw new InvalidOperationException($"chunk {msg.Id} of {n} bytes does not fit the plan ({plan.ChunkBytes} per chunk, {plan.TotalBytes} in all)");
                Buffer.MemoryCopy(shared + view.PointerOffset, (void*)bounce.Address, n, n);
                for (long done = 0; done < n;)
                {
                    var w = Libc.write(fd, (byte*)bounce.Address + done, (nuint)(n - done));
                    if (w <= 0) throw new IOException("writing the payload to private memory failed: " + Libc.LastError());
                    done += w;
                }
                received += n;
                chunks++;
                Busy(_rsiNs);
                Send(ChannelProtocol.Ack(msg.Id));
            }
            info["payload_bytes_received"] = received.ToString();
            info["payload_chunks"] = chunks.ToString();
        }
        finally
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer();
            Libc.close(fd);
        }
        return true;
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int open(string path, int flags, int mode);

    private static string RealmDir => Path.Combine("/dev/shm", $"perflab-realm-{Environment.ProcessId}");

    /// <summary>
    /// Inside a real Realm: an attestation report through configfs-tsm and the RSI call latencies of the
    /// rsi_bench module, when the kernel offers them. Elsewhere: nothing, and the record says so.
    /// </summary>
    private static Dictionary<string, string> RealmEvidence()
    {
        var info = new Dictionary<string, string>();
        const string tsm = "/sys/kernel/config/tsm/report";
        if (Directory.Exists(tsm))
        {
            try
            {
                var entry = Path.Combine(tsm, $"perflab-{Environment.ProcessId}");
                Directory.CreateDirectory(entry);
                File.WriteAllBytes(Path.Combine(entry, "inblob"), System.Security.Cryptography.RandomNumberGenerator.GetBytes(64));
                var report = File.ReadAllBytes(Path.Combine(entry, "outblob"));
                info["attestation"] = $"configfs-tsm report, {report.Length} bytes, sha256 {Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(report))[..16]}…";
                Directory.Delete(entry);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { info["attestation"] = "configfs-tsm present, report failed: " + e.Message; }
        }
        const string rsi = "/sys/kernel/debug/rsi_bench";
        if (File.Exists(Path.Combine(rsi, "samples")))
        {
            var hz = double.Parse(File.ReadAllText(Path.Combine(rsi, "freq")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            var ticks = File.ReadAllLines(Path.Combine(rsi, "samples")).Select(double.Parse).Order().ToArray();
            if (ticks.Length > 0)
                info["rsi_version_call_ns"] = $"p50 {ticks[ticks.Length / 2] / hz * 1e9:0} p99 {ticks[(int)(ticks.Length * 0.99)] / hz * 1e9:0} (n {ticks.Length}, rsi_bench)";
        }
        return info;
    }

    private Dictionary<string, long> Stats()
    {
        var self = Process.GetCurrentProcess();
        var smaps = PagePolicy.SmapsRollup(Environment.ProcessId);
        return new Dictionary<string, long>
        {
            ["queries_served"] = (_sut as SyntheticTokenSut)?.Served ?? (_sut as LlmSut)?.Served ?? 0,
            ["tokens_digest"] = (_sut as LlmSut)?.Digest ?? 0,
            ["cpu_time_us"] = (long)self.TotalProcessorTime.TotalMicroseconds,
            ["rss_kb"] = smaps.GetValueOrDefault("Rss"),
            ["anon_huge_pages_kb"] = smaps.GetValueOrDefault("AnonHugePages"),
            ["hugetlb_kb"] = smaps.GetValueOrDefault("Private_Hugetlb") + smaps.GetValueOrDefault("Shared_Hugetlb"),
        };
    }

    public void FirstToken(long queryId)
    {
        Busy(_exitNs);
        Send(ChannelProtocol.FirstToken(queryId));
    }

    public void Complete(long queryId, int tokens, long insideNs)
    {
        PayForFaultsAndTicks(insideNs);
        Busy(_exitNs);
        Send(ChannelProtocol.Complete(queryId, tokens, insideNs));
    }
    public void Fail(string reason) => Send(ChannelProtocol.Error(reason));

    private void Send(string line)
    {
        lock (_writeLock)
        {
            var n = Encoding.UTF8.GetByteCount(line) + 1;
            var buf = n <= _buffer.Length ? _buffer : new byte[n];
            Encoding.UTF8.GetBytes(line, buf);
            buf[n - 1] = (byte)'\n';
            output.Write(buf, 0, n);
            output.Flush();
        }
    }
}
