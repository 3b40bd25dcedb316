using System.Diagnostics;
using System.Text;
using PerfLab.Core.Channel;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Time;

namespace PerfLab.Lab.Backends;

/// <summary>
/// The host's end of the channel to one agent process: writes queries, reads and dispatches the agent's lines
/// on its own thread (timestamps are taken by the sink at arrival), keeps the tail of stderr, and runs a
/// watchdog that ends an agent which stops answering while something is asked of it.
/// </summary>
public sealed class AgentProcess : IDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _stdin;
    private readonly TextReader _stdout;
    private readonly object _writeLock = new();
    private readonly Queue<string> _stderr = new();
    private readonly Thread _reader, _watchdog;
    private readonly TimeSpan _timeout;
    private readonly TaskCompletionSource<ChannelMessage> _hello = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // Replies (ready, stats, ack, bye) in arrival order: a reply that comes before anyone waits for it is kept.
    private readonly System.Collections.Concurrent.BlockingCollection<ChannelMessage> _replies = new();
    private volatile bool _awaitingReply;
    private volatile IResponseSink? _sink;
    private long _outstanding, _lastMessageNs;
    private volatile bool _byeSent, _stopped;
    private volatile string? _failure;

    public int Pid => _process.Id;
    public string? Failure => _failure;
    public long Outstanding => Interlocked.Read(ref _outstanding);

    /// <summary>An agent whose channel is its own stdin/stdout (native and emulated Realms).</summary>
    public AgentProcess(string fileName, IEnumerable<string> args, IReadOnlyDictionary<string, string> env, TimeSpan timeout)
        : this(fileName, args, env, timeout, null) { }

    /// <summary>
    /// A process hosting the agent, with the channel either on its stdin/stdout or, when channelSocket is given,
    /// on a Unix socket the process serves (a VM's virtio-serial port); then the process's output is its console.
    /// </summary>
    public AgentProcess(string fileName, IEnumerable<string> args, IReadOnlyDictionary<string, string> env, TimeSpan timeout, string? channelSocket)
    {
        _timeout = timeout;
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8, StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        _process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        DataReceivedEventHandler keep = (_, e) =>
        {
            if (e.Data is null) return;
            lock (_stderr)
            {
                _stderr.Enqueue(e.Data);
                while (_stderr.Count > 40) _stderr.Dequeue();
            }
        };
        _process.ErrorDataReceived += keep;
        if (channelSocket != null) _process.OutputDataReceived += keep;
        Touch();
        if (!_process.Start()) throw new RealmFailedException($"could not start the agent '{fileName}'", "");
        _process.BeginErrorReadLine();
        if (channelSocket is null)
        {
            _stdin = _process.StandardInput;
            _stdout = _process.StandardOutput;
        }
        else
        {
            _process.BeginOutputReadLine();
            var stream = ConnectSocket(channelSocket, timeout);
            _stdin = new StreamWriter(stream, new UTF8Encoding(false));
            _stdout = new StreamReader(stream, Encoding.UTF8);
        }
        _stdin.AutoFlush = false;
        _stdin.NewLine = "\n";
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = $"agent-{Pid}-reader" };
        _watchdog = new Thread(WatchLoop) { IsBackground = true, Name = $"agent-{Pid}-watchdog" };
        _reader.Start();
        _watchdog.Start();
    }

    private System.Net.Sockets.NetworkStream ConnectSocket(string path, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var s = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
            try
            {
                s.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
                return new System.Net.Sockets.NetworkStream(s, ownsSocket: true);
            }
            catch (System.Net.Sockets.SocketException)
            {
                s.Dispose();
                if (_process.HasExited)
                {
                    // The untimed wait drains the redirected output first: without it the VM's last words can still be in
                    // flight on a busy host, and the failure would carry an empty console.
                    _process.WaitForExit();
                    throw new RealmFailedException($"the VM exited (code {_process.ExitCode}) before its channel opened", StderrTail);
                }
                if (DateTime.UtcNow > deadline) throw new RealmFailedException($"the VM's channel {path} did not open within {timeout.TotalSeconds:0} s", StderrTail);
                Thread.Sleep(50);
            }
        }
    }

    /// <summary>Serves the agent's calls (a platform token, a broker request); each reply is written when it is ready.</summary>
    public Func<string, string>? OnCall { get; set; }

    /// <summary>How long the host waits for the agent's next word (agent_timeout_s).</summary>
    public TimeSpan Timeout => _timeout;

    public string StderrTail
    {
        get { lock (_stderr) return string.Join("\n", _stderr); }
    }

    /// <summary>Waits for hello and checks the protocol version.</summary>
    public ChannelMessage AwaitHello()
    {
        var hello = Await(_hello, "hello");
        if (hello.Text != ChannelProtocol.Version)
            throw Fail($"the agent speaks '{hello.Text}', the host speaks '{ChannelProtocol.Version}': rebuild so both match");
        return hello;
    }

    /// <summary>Sends a request and waits for its one reply (load → ready, stats → stats, chunk → ack, bye → bye).</summary>
    public ChannelMessage Request(string line, string what)
    {
        Send(line);
        return Next(what);
    }

    /// <summary>Sends a line without waiting for anything.</summary>
    public void Send(string line)
    {
        if (line == ChannelProtocol.Bye()) _byeSent = true;
        Touch();
        Write(line);
    }

    /// <summary>The next reply from the agent; the watchdog bounds the wait.</summary>
    public ChannelMessage Next(string what)
    {
        _awaitingReply = true;
        try
        {
            if (_failure is { } f) throw new RealmFailedException(f, StderrTail);
            if (!_replies.TryTake(out var msg, _timeout + TimeSpan.FromSeconds(1)))
                throw Fail($"no '{what}' from the agent within {_timeout.TotalSeconds:0.#} s");
            if (msg.Kind == MessageKind.Error) throw new RealmFailedException(_failure ?? msg.Text, StderrTail);
            return msg;
        }
        finally { _awaitingReply = false; }
    }

    public void Issue(ReadOnlySpan<QuerySample> samples, IResponseSink sink)
    {
        _sink = sink;
        if (_failure is { } f) { sink.Fail(f); return; }
        if (Interlocked.Add(ref _outstanding, samples.Length) == samples.Length) Touch();
        lock (_writeLock)
        {
            try
            {
                foreach (var q in samples) _stdin.WriteLine(ChannelProtocol.Query(q.Id, q.SampleIndex));
                _stdin.Flush();
            }
            catch (IOException e) { Fail("could not write to the agent (it has gone away): " + e.Message); }
        }
    }

    private void Write(string line)
    {
        lock (_writeLock)
        {
            try { _stdin.WriteLine(line); _stdin.Flush(); }
            catch (IOException e) { Fail("could not write to the agent (it has gone away): " + e.Message); }
        }
    }

    private ChannelMessage Await(TaskCompletionSource<ChannelMessage> tcs, string what)
    {
        try
        {
            // The watchdog bounds the wait; the extra second only covers its polling.
            if (!tcs.Task.Wait(_timeout + TimeSpan.FromSeconds(1)))
                throw Fail($"no '{what}' from the agent within {_timeout.TotalSeconds:0.#} s");
            return tcs.Task.Result;
        }
        catch (AggregateException e) when (e.InnerException is RealmFailedException r) { throw r; }
    }

    private void ReadLoop()
    {
        var stdout = _stdout;
        try
        {
            while (stdout.ReadLine() is { } line)
            {
                Touch();
                if (!ChannelProtocol.TryParse(line, out var msg, out var problem))
                {
                    Fail("the agent broke the protocol: " + problem);
                    continue;
                }
                switch (msg.Kind)
                {
                    case MessageKind.FirstToken:
                        _sink?.FirstToken(msg.Id);
                        break;
                    case MessageKind.Complete:
                        Interlocked.Decrement(ref _outstanding);
                        _sink?.Complete(msg.Id, msg.Tokens, msg.InsideNs);
                        break;
                    case MessageKind.Failed:
                        Interlocked.Decrement(ref _outstanding);
                        _sink?.QueryFailed(msg.Id, msg.Text, msg.Tokens);
                        break;
                    case MessageKind.Hello:
                        _hello.TrySetResult(msg);
                        break;
                    case MessageKind.Call:
                    {
                        // Off the read loop, on a thread of its own: a call may wait (for the launch's measurement, for
                        // the broker over HTTP) while the agent's other lines keep coming. Not the thread pool: a blocked
                        // pool thread starves the broker's own request handling in this process (measured: a 3 ms
                        // appraisal took 560 ms as the Realm saw it).
                        var (id, text, serve) = (msg.Id, msg.Text, OnCall);
                        new Thread(() =>
                        {
                            var reply = serve?.Invoke(text) ?? """{"error":"this host serves no calls"}""";
                            Touch();
                            Write(ChannelProtocol.Reply(id, reply));
                        }) { IsBackground = true, Name = "realm-call" }.Start();
                        break;
                    }
                    case MessageKind.Error:
                        Fail("the agent reported: " + msg.Text);
                        _replies.Add(msg);
                        break;
                    default:
                        _replies.Add(msg);
                        break;
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException) { }
        if (_byeSent || _stopped) return;
        try
        {
            // The untimed wait also drains stderr, so the failure carries the agent's last words.
            if (_process.WaitForExit(2000)) _process.WaitForExit();
            var how = _process.HasExited
                ? _process.ExitCode > 128 ? $"was killed by signal {_process.ExitCode - 128}{SignalName(_process.ExitCode - 128)}" : $"exited with code {_process.ExitCode}"
                : "closed its output";
            Fail($"the agent {how} with {Outstanding} queries outstanding");
        }
        // Disposed under us (the cell was torn down while the agent was leaving): nothing left to report to.
        catch (InvalidOperationException) { }
    }

    private static string SignalName(int signal) => signal switch
    {
        6 => " (SIGABRT: an abort, e.g. an unhandled exception)",
        9 => " (SIGKILL)",
        11 => " (SIGSEGV: a memory fault)",
        15 => " (SIGTERM)",
        _ => "",
    };

    private void WatchLoop()
    {
        try { Watch(); }
        catch (InvalidOperationException) { } // the process was disposed: the cell is over
    }

    private void Watch()
    {
        while (!_stopped && !_process.HasExited)
        {
            Thread.Sleep(100);
            var waiting = Outstanding > 0 || !_hello.Task.IsCompleted || _awaitingReply;
            var silentNs = MonotonicClock.NowNs() - Interlocked.Read(ref _lastMessageNs);
            if (!waiting || silentNs < _timeout.TotalNanoseconds) continue;
            Fail($"the agent stopped answering: silent for {silentNs / 1e9:0.#} s (agent_timeout_s {_timeout.TotalSeconds:0.#}) " +
                 $"with {Outstanding} queries outstanding; it was killed");
            Kill();
            return;
        }
    }

    private void Touch() => Interlocked.Exchange(ref _lastMessageNs, MonotonicClock.NowNs());

    private RealmFailedException Fail(string reason)
    {
        _failure ??= reason;
        _hello.TrySetException(new RealmFailedException(reason, StderrTail));
        if (!_replies.IsAddingCompleted) _replies.Add(new ChannelMessage(MessageKind.Error, Text: reason));
        _sink?.Fail(reason);
        return new RealmFailedException(reason, StderrTail);
    }

    public void Kill()
    {
        try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { }
    }

    /// <summary>Waits for the process to end (after bye), killing it if it lingers.</summary>
    public bool WaitForExit(TimeSpan timeout)
    {
        if (_process.WaitForExit(timeout))
        {
            _process.WaitForExit(); // drains the redirected stderr
            return true;
        }
        Kill();
        return false;
    }

    public void Dispose()
    {
        _stopped = true;
        var pid = TryPid();
        Kill();
        _process.WaitForExit(2000);
        _process.Dispose();
        // An agent killed or failed between receiving its payload and loading it leaves the payload in its private folder
        // (plaintext weights, for an encrypted model): nothing of a Realm outlives it.
        if (pid is { } p) Agent.PayloadReceiver.RemoveRealmDir(p);
    }

    private int? TryPid()
    {
        try { return _process.Id; } catch (InvalidOperationException) { return null; }
    }
}
