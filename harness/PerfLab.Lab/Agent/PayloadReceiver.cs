using System.Diagnostics;
using System.Globalization;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using PerfLab.Core.Attestation;
using PerfLab.Core.Channel;
using PerfLab.Lab.Os;

namespace PerfLab.Lab.Agent;

/// <summary>
/// Takes a payload into the Realm chunk by chunk: each chunk is copied from the shared buffer into a bounce buffer on
/// the cell's page size, then into private memory (a file on tmpfs: ONNX Runtime wants the weights as a real file), then
/// acknowledged — one host call per chunk, each paid as an RSI call. Encrypted weights (a shard manifest in the plan)
/// are opened shard by shard as their bytes complete, with the key the broker released, and only the plaintext reaches
/// private memory; a shard that does not open ends the load naming it, and what was written is removed.
/// </summary>
public sealed class PayloadReceiver(Func<string?> readLine, Action<string> send, AgentOptions options, RealmCostInjector costs)
{
    /// <summary>The Realm's private folder; the workload reads the payload from here and removes it.</summary>
    public static string RealmDir => RealmDirOf(Environment.ProcessId);

    /// <summary>The private folder of the agent with this process id (the host removes it when that agent is gone).</summary>
    public static string RealmDirOf(int pid) => Path.Combine("/dev/shm", $"perflab-realm-{pid}");

    /// <summary>Removes that agent's private folder and what is in it (for an encrypted model, its decrypted weights).</summary>
    public static void RemoveRealmDir(int pid)
    {
        try { if (Directory.Exists(RealmDirOf(pid))) Directory.Delete(RealmDirOf(pid), true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    public unsafe void Receive(StreamPlan plan, IDictionary<string, string> info, byte[]? key = null)
    {
        if (plan.Shards is not null && key is null) throw new InvalidOperationException("encrypted weights came without a released key");
        using var opener = plan.Shards is { } m ? new ShardOpener(m, key!) : null;
        // Private to the agent: nobody else on the host lists or opens what the Realm writes here.
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("the agent needs Linux");
        Directory.CreateDirectory(RealmDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var fd = open(Path.Combine(RealmDir, plan.FileName), 0x241 /* O_WRONLY|O_CREAT|O_TRUNC */, 0x180);
        if (fd < 0) throw new IOException("creating the Realm's private payload file failed: " + Libc.LastError());
        using var mmf = MemoryMappedFile.CreateFromFile(plan.SharedPath, FileMode.Open, null, 0, MemoryMappedFileAccess.ReadWrite);
        using var view = mmf.CreateViewAccessor(0, plan.ChunkBytes, MemoryMappedFileAccess.Read);
        using var bounce = PagePolicy.Allocate(plan.ChunkBytes, options.PageSize, options.Backing);
        byte* shared = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref shared);
        try
        {
            long received = 0, chunks = 0;
            while (received < plan.TotalBytes)
            {
                var line = readLine() ?? throw new IOException("the host went away during the payload");
                if (!ChannelProtocol.TryParse(line, out var msg, out var problem) || msg.Kind != MessageKind.Chunk)
                    throw new InvalidOperationException($"expected a chunk, got '{line}' {problem}");
                var n = msg.Bytes;
                if (n <= 0 || n > plan.ChunkBytes || received + n > plan.TotalBytes)
                    throw new InvalidOperationException($"chunk {msg.Id} of {n} bytes does not fit the plan ({plan.ChunkBytes} per chunk, {plan.TotalBytes} in all)");
                Buffer.MemoryCopy(shared + view.PointerOffset, (void*)bounce.Address, n, n);
                if (opener is null) Write(fd, (byte*)bounce.Address, n);
                else opener.Take(new ReadOnlySpan<byte>((void*)bounce.Address, (int)n), (p, len) => Write(fd, p, len));
                received += n;
                chunks++;
                costs.RsiCall();
                send(ChannelProtocol.Ack(msg.Id));
            }
            info["payload_bytes_received"] = received.ToString();
            info["payload_chunks"] = chunks.ToString();
            if (opener is not null)
            {
                opener.Finish();
                info["phase.decrypt_ms"] = opener.DecryptMs.ToString("0.###", CultureInfo.InvariantCulture);
                // Two rates: AES-256-GCM alone (to set beside `openssl speed -evp aes-256-gcm`), and the whole opening
                // (gathering each shard from its chunks, then opening it).
                info["decrypt_aes_gcm_gbps"] = (opener.PlainBytes / (opener.AesMs * 1e6)).ToString("0.###", CultureInfo.InvariantCulture);
                info["decrypt_gbps"] = (opener.PlainBytes / (opener.DecryptMs * 1e6)).ToString("0.###", CultureInfo.InvariantCulture);
                info["weights_encrypted"] = $"{plan.Shards!.Shards.Count} AES-256-GCM shards of {plan.Shards.ShardBytes} bytes, key {plan.Shards.KeyId}, opened inside the Realm";
            }
        }
        catch
        {
            // Nothing of a payload that failed stays behind, least of all a half-decrypted model.
            Libc.close(fd);
            fd = -1;
            try { Directory.Delete(RealmDir, true); } catch (IOException) { }
            throw;
        }
        finally
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer();
            if (fd >= 0) Libc.close(fd);
        }
    }

    private static unsafe void Write(int fd, byte* p, long n)
    {
        for (long done = 0; done < n;)
        {
            var w = Libc.write(fd, p + done, (nuint)(n - done));
            if (w <= 0) throw new IOException("writing the payload to private memory failed: " + Libc.LastError());
            done += w;
        }
    }

    /// <summary>
    /// Gathers the streamed ciphertext into whole shards (chunks and shards need not line up) and opens each in place:
    /// its size, and its tag under the key with its index, the shard count and the key id bound in; at the end, that
    /// every shard came. The manifest itself is trusted because the key was released for its hash.
    /// </summary>
    private sealed unsafe class ShardOpener(ShardManifest m, byte[] key) : IDisposable
    {
        private readonly AesGcm _gcm = new(key, ShardCipher.TagBytes);
        // Touched once before any shard: their first-touch faults are the Realm's, not AES-GCM's.
        private readonly byte[] _cipher = Touched(m.ShardBytes + ShardCipher.TagBytes);
        private readonly byte[] _plain = Touched(m.ShardBytes);
        private readonly Stopwatch _decrypt = new(), _aes = new();
        private int _index, _filled;

        private static byte[] Touched(int bytes)
        {
            var b = new byte[bytes];
            for (var i = 0; i < b.Length; i += 4096) b[i] = 1;
            return b;
        }
        public long PlainBytes { get; private set; }
        public double DecryptMs => _decrypt.Elapsed.TotalMilliseconds;
        public double AesMs => _aes.Elapsed.TotalMilliseconds;

        public delegate void Sink(byte* plain, long bytes);

        public void Take(ReadOnlySpan<byte> bytes, Sink sink)
        {
            while (bytes.Length > 0)
            {
                if (_index >= m.Shards.Count) throw new TamperedShardException(_index, $"shard {_index}: more bytes than the manifest's {m.Shards.Count} shards");
                var want = m.Shards[_index].Bytes + ShardCipher.TagBytes;
                var n = Math.Min(want - _filled, bytes.Length);
                bytes[..n].CopyTo(_cipher.AsSpan(_filled));
                _filled += n;
                bytes = bytes[n..];
                if (_filled < want) continue;
                var plain = _plain.AsSpan(0, m.Shards[_index].Bytes);
                _decrypt.Start();
                ShardCipher.Decrypt(m, _index, _cipher.AsSpan(0, want), _gcm, plain, _aes, checkHash: false);
                _decrypt.Stop();
                fixed (byte* p = plain) sink(p, plain.Length);
                PlainBytes += plain.Length;
                _index++;
                _filled = 0;
            }
        }

        public void Finish()
        {
            if (_index != m.Shards.Count || _filled != 0)
                throw new TamperedShardException(_index, $"shard {_index}: the payload ended after {_index} of {m.Shards.Count} shards");
        }

        public void Dispose()
        {
            _gcm.Dispose();
            CryptographicOperations.ZeroMemory(_plain);
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int open(string path, int flags, int mode);
}
