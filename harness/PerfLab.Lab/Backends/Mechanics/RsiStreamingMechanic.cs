using System.Diagnostics;
using System.Globalization;
using System.IO.MemoryMappedFiles;
using PerfLab.Core.Channel;
using PerfLab.Core.Measurement;
using PerfLab.Core.Results;
using PerfLab.Lab.Workloads;

namespace PerfLab.Lab.Backends.Mechanics;

/// <summary>
/// A measured launch and RSI-batched population: the Realm Initial Measurement extended as the RMM extends it
/// (<see cref="RimBuilder"/>: realm parameters, RIPAS, every 4 KiB DATA granule of the agent's image and of plain
/// weights, the boot REC), and the workload's payload streamed in through a shared buffer in chunks of the cell's RSI
/// batch size, each copied through the agent's bounce buffer and acknowledged (one host call per chunk). Encrypted
/// weights stream the same way but after the Realm has attested and asked for them, outside the RIM. The measurement is
/// left in the launch state for attestation.
/// </summary>
public sealed class RsiStreamingMechanic : IRealmMechanic
{
    public IMechanicLaunch Begin(LaunchState state) => new Launch(state);

    private sealed class Launch(LaunchState s) : IMechanicLaunch
    {
        public void BeforeStart() => s.Services["payload"] = _ =>
        {
            s.PayloadWanted();
            return new System.Text.Json.Nodes.JsonObject();
        };

        private StreamPlan? _plan;
        private string? _payload;
        private readonly Stopwatch _measure = new();
        private RimBuilder? _rim;
        private ulong _ipa = KvmtoolRealmLayout.MemoryBase;

        public LoadRequest Decorate(LoadRequest request)
        {
            // The Realm is measured before it runs, as the RMM measures it before activation: its image now, before the
            // load is sent; plain weights as they are populated (they are part of what the Realm is created with).
            MeasureImage();
            var plainFile = WorkloadRegistry.For(s.Cell.Workload.Kind).PayloadFile(s.Cell.Workload);
            _payload = s.EncryptedPayload?.Path ?? plainFile;
            if (_payload is null)
            {
                Finish();
                return request;
            }
            var total = new FileInfo(_payload).Length;
            var chunk = Math.Min(s.Cell.Realm.RsiBatch.Value, total);
            var shared = Path.Combine("/dev/shm", $"perflab-rsi-{Environment.ProcessId}-{Guid.NewGuid():N}");
            using (var f = new FileStream(shared, FileMode.CreateNew)) f.SetLength(chunk);
            _plan = new StreamPlan(shared, chunk, total)
            {
                FileName = Path.GetFileName(plainFile!), // the name the workload reads inside, plain or sealed
                Shards = s.EncryptedPayload?.Manifest,
            };
            // Encrypted weights are fetched by the running Realm after it has attested and received their key, as a
            // Realm fetches sealed data from untrusted storage: they are not part of its RIM, which is final now.
            if (_plan.Shards is not null) Finish();
            return request with { Stream = _plan };
        }

        public void AfterLoadSent(AgentProcess agent)
        {
            if (_plan is null) return;
            if (_plan.Shards is null)
            {
                StreamOnce(agent, Extend);
                Finish();
                return;
            }
            // Sealed weights go in when the Realm asks for them (after its key release), so populate times the
            // streaming and decryption alone, not the Realm's attestation before it.
            s.AwaitPayloadWanted(agent);
            StreamOnce(agent, _ => { });
        }

        private void MeasureImage()
        {
            // The RMM's own measurement (DEN0137 A7.1.1) over the emulated Realm's layout: RAM at 2 GiB as kvmtool
            // places it, RIPAS of all of it, the agent's image then the payload as DATA granules in ascending IPA, and
            // the boot REC. Breakpoints and watchpoints are a Neoverse N2's (6 and 4): an emulated Realm has no host's.
            var memory = (ulong)s.Cell.Realm.Memory.Value;
            _measure.Start();
            _rim = new RimBuilder(new RealmParameters(RealmHashAlgorithm.Sha512, KvmtoolRealmLayout.IpaBits(memory), 6, 4));
            _rim.InitRipas(KvmtoolRealmLayout.MemoryBase, KvmtoolRealmLayout.MemoryBase + memory);
            _measure.Stop();
            // The agent's initial image: every file of the program, in a stable order.
            foreach (var file in Directory.GetFiles(AppContext.BaseDirectory, "*.dll").Order(StringComparer.Ordinal))
                Extend(File.ReadAllBytes(file));
        }

        private void Extend(ReadOnlySpan<byte> data)
        {
            _measure.Start();
            _rim!.AddData(_ipa, data);
            _ipa += ((ulong)data.Length + RimBuilder.GranuleBytes - 1) / RimBuilder.GranuleBytes * RimBuilder.GranuleBytes;
            _measure.Stop();
        }

        private void Finish()
        {
            _measure.Start();
            _rim!.AddRunnableRec(KvmtoolRealmLayout.MemoryBase, []);
            _measure.Stop();
            s.Phases[Phase.Measure] = _measure.Elapsed.TotalMilliseconds;
            s.Effective.Set("rim", _rim.RimHex);
            s.Effective.Set("rim_algorithm", "sha512");
            s.Effective.Set("rim_granules_measured", _rim.MeasuredGranules.ToString(CultureInfo.InvariantCulture));
            s.Rim = _rim.Rim;
        }

        private void StreamOnce(AgentProcess agent, Action<ReadOnlySpan<byte>> extend)
        {
            // The shared buffer is host memory the size of one batch (up to the whole payload): gone once streamed, so
            // it is not held beside the Realm for the rest of the cell.
            try { Stream(agent, _plan!, extend); }
            finally { File.Delete(_plan!.SharedPath); }
        }

        private void Stream(AgentProcess agent, StreamPlan plan, Action<ReadOnlySpan<byte>> extend)
        {
            var sw = Stopwatch.StartNew();
            long chunks = 0;
            using (var mmf = MemoryMappedFile.CreateFromFile(plan.SharedPath, FileMode.Open, null, 0, MemoryMappedFileAccess.ReadWrite))
            using (var view = mmf.CreateViewAccessor(0, 0, MemoryMappedFileAccess.ReadWrite))
            using (var source = File.OpenRead(_payload!))
            {
                var buffer = new byte[plan.ChunkBytes];
                for (long sent = 0; sent < plan.TotalBytes; chunks++)
                {
                    var n = (int)Math.Min(plan.ChunkBytes, plan.TotalBytes - sent);
                    source.ReadExactly(buffer, 0, n);
                    extend(buffer.AsSpan(0, n));
                    view.WriteArray(0, buffer, 0, n);
                    var ack = agent.Request(ChannelProtocol.Chunk(chunks, n), "ack");
                    if (ack.Kind != MessageKind.Ack || ack.Id != chunks)
                        throw new RealmFailedException($"the agent acknowledged '{ack.Kind} {ack.Id}' for chunk {chunks}", agent.StderrTail);
                    sent += n;
                }
            }
            s.Phases[Phase.Populate] = sw.Elapsed.TotalMilliseconds;
            s.Effective.Set("rsi_chunks", chunks.ToString(CultureInfo.InvariantCulture));
            s.Effective.Set("rsi_chunk_bytes", plan.ChunkBytes.ToString(CultureInfo.InvariantCulture));
            s.Effective.Set("payload_bytes", plan.TotalBytes.ToString(CultureInfo.InvariantCulture));
            s.Effective.Set("host_round_trips", chunks.ToString(CultureInfo.InvariantCulture));
        }

        public void Dispose()
        {
            if (_plan is { } p && File.Exists(p.SharedPath)) File.Delete(p.SharedPath);
        }
    }
}
