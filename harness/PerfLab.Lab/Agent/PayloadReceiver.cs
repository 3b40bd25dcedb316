using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using PerfLab.Core.Channel;
using PerfLab.Lab.Os;

namespace PerfLab.Lab.Agent;

/// <summary>
/// Takes a payload into the Realm chunk by chunk: each chunk is copied from the shared buffer into a bounce buffer on
/// the cell's page size, then into private memory (a file on tmpfs: ONNX Runtime wants the weights as a real file), then
/// acknowledged — one host call per chunk, each paid as an RSI call.
/// </summary>
public sealed class PayloadReceiver(TextReader input, Action<string> send, AgentOptions options, RealmCostInjector costs)
{
    /// <summary>The Realm's private folder; the workload reads the payload from here and removes it.</summary>
    public static string RealmDir => Path.Combine("/dev/shm", $"perflab-realm-{Environment.ProcessId}");

    public unsafe void Receive(StreamPlan plan, IDictionary<string, string> info)
    {
        Directory.CreateDirectory(RealmDir);
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
                var line = input.ReadLine() ?? throw new IOException("the host went away during the payload");
                if (!ChannelProtocol.TryParse(line, out var msg, out var problem) || msg.Kind != MessageKind.Chunk)
                    throw new InvalidOperationException($"expected a chunk, got '{line}' {problem}");
                var n = msg.Bytes;
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
                costs.RsiCall();
                send(ChannelProtocol.Ack(msg.Id));
            }
            info["payload_bytes_received"] = received.ToString();
            info["payload_chunks"] = chunks.ToString();
        }
        finally
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer();
            Libc.close(fd);
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int open(string path, int flags, int mode);
}
