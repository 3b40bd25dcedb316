using System.Diagnostics;
using System.Globalization;
using System.IO.MemoryMappedFiles;
using System.Security.Cryptography;
using PerfLab.Core.Channel;
using PerfLab.Core.Suites;
using PerfLab.Lab.Agent;
using PerfLab.Llm.Inference;
using PerfLab.Llm.Model;

namespace PerfLab.Lab.Backends;

/// <summary>
/// The emulated Realm: the agent runs natively with the Realm's mechanics applied for real — the cell's page
/// policy; a measured launch (a running SHA-512 over 4 KiB granules of the agent's image and of every payload
/// byte, as the RMM measures a Realm's initial contents); the model weights streamed in through a shared
/// buffer in chunks of the cell's RSI batch size, each copied through the agent's bounce buffer and
/// acknowledged (one host call per chunk); and world-switch costs from a named calibration profile injected as
/// busy time at every crossing. Evidence: emulated, and every cell records the profile it used.
/// </summary>
public sealed class CcaEmulatedBackend(string profileName) : NativeBackend
{
    private const int Granule = 4096;
    private CalibrationProfile? _profile;
    private string? _profileProblem;

    public override Platform Platform => Platform.CcaEmulated;
    public override Evidence EvidenceFor(RealmConfig config) => Evidence.Emulated;

    private CalibrationProfile Profile
    {
        get
        {
            if (_profile != null) return _profile;
            try { return _profile = CalibrationProfile.Load(profileName); }
            catch (Exception e) when (e is IOException or InvalidDataException or YamlDotNet.Core.YamlException)
            {
                _profileProblem = e.Message;
                throw;
            }
        }
    }

    public override string? CannotRun(Cell cell)
    {
        try { _ = Profile; }
        catch (Exception) { return "calibration profile: " + _profileProblem; }
        return base.CannotRun(cell);
    }

    protected override IReadOnlyDictionary<string, string> ExtraEnvironment(Cell cell) =>
        new Dictionary<string, string> { ["PERFLAB_REALM_COSTS"] = Profile.ToEnvironment() };

    /// <summary>The payload an llm cell streams: its model's weights file (built here if missing).</summary>
    private static string? PayloadFile(Cell cell)
    {
        if (cell.Workload.Kind != "llm") return null;
        var dir = ModelCache.BuildIfMissing(LlmSettings.From(cell.Workload).Model);
        return Path.Combine(dir, BuiltModel.WeightsFileName);
    }

    protected override LoadRequest Decorate(Cell cell, LoadRequest request)
    {
        var payload = PayloadFile(cell);
        if (payload is null) return request;
        var total = new FileInfo(payload).Length;
        var chunk = Math.Min(cell.Realm.RsiBatch.Value, total);
        var shared = Path.Combine("/dev/shm", $"perflab-rsi-{Environment.ProcessId}-{Guid.NewGuid():N}");
        using (var f = new FileStream(shared, FileMode.CreateNew)) f.SetLength(chunk);
        var plan = new StreamPlan(shared, chunk, total);
        _plans[cell.Id] = plan;
        return request with { Stream = plan };
    }

    protected override void Populate(Cell cell, AgentProcess agent, IDictionary<string, double> phasesMs, IDictionary<string, string> effective)
    {
        var p = Profile;
        effective["calibration_profile"] = p.Name;
        effective["calibration_source"] = p.Source;
        effective["calibration_costs"] = p.ToEnvironment();
        var measure = new Stopwatch();
        using var rim = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
        var granuleHash = new byte[64];
        var rimValue = SHA512.HashData(System.Text.Encoding.UTF8.GetBytes($"realm-params page={cell.Realm.PageSize} vcpus={cell.Realm.Vcpus} memory={cell.Realm.Memory}"));

        void Extend(ReadOnlySpan<byte> data)
        {
            measure.Start();
            for (var at = 0; at < data.Length; at += Granule)
            {
                var g = data.Slice(at, Math.Min(Granule, data.Length - at));
                SHA512.HashData(g, granuleHash);
                rim.AppendData(rimValue);
                rim.AppendData(granuleHash);
                rimValue = rim.GetHashAndReset();
            }
            measure.Stop();
        }

        // The agent's initial image: every file of the program, in a stable order.
        foreach (var file in Directory.GetFiles(AppContext.BaseDirectory, "*.dll").Order(StringComparer.Ordinal))
            Extend(File.ReadAllBytes(file));

        if (_plans.Remove(cell.Id, out var plan))
        {
            var payload = PayloadFile(cell)!;
            var shared = plan.SharedPath;
            var sw = Stopwatch.StartNew();
            long chunks = 0;
            try
            {
            using (var mmf = MemoryMappedFile.CreateFromFile(shared, FileMode.Open, null, 0, MemoryMappedFileAccess.ReadWrite))
            using (var view = mmf.CreateViewAccessor(0, 0, MemoryMappedFileAccess.ReadWrite))
            using (var source = File.OpenRead(payload))
            {
                var buffer = new byte[plan.ChunkBytes];
                for (long sent = 0; sent < plan.TotalBytes; chunks++)
                {
                    var n = (int)Math.Min(plan.ChunkBytes, plan.TotalBytes - sent);
                    source.ReadExactly(buffer, 0, n);
                    Extend(buffer.AsSpan(0, n));
                    view.WriteArray(0, buffer, 0, n);
                    var ack = agent.Request(ChannelProtocol.Chunk(chunks, n), "ack");
                    if (ack.Kind != MessageKind.Ack || ack.Id != chunks)
                        throw new RealmFailedException($"the agent acknowledged '{ack.Kind} {ack.Id}' for chunk {chunks}", agent.StderrTail);
                    sent += n;
                }
            }
            }
            finally { File.Delete(shared); }
            phasesMs["populate"] = sw.Elapsed.TotalMilliseconds;
            effective["rsi_chunks"] = chunks.ToString(CultureInfo.InvariantCulture);
            effective["rsi_chunk_bytes"] = plan.ChunkBytes.ToString(CultureInfo.InvariantCulture);
            effective["payload_bytes"] = plan.TotalBytes.ToString(CultureInfo.InvariantCulture);
            effective["host_round_trips"] = chunks.ToString(CultureInfo.InvariantCulture);
        }
        phasesMs["measure"] = measure.Elapsed.TotalMilliseconds;
        effective["rim_sha512"] = Convert.ToHexStringLower(rimValue);

        // Attestation, emulated: a token binding the RIM to a fresh challenge under a per-launch key. It has the
        // shape of the flow (challenge in, evidence out, timed), not a CCA token's cryptography.
        var attest = Stopwatch.StartNew();
        var challenge = RandomNumberGenerator.GetBytes(64);
        var token = HMACSHA256.HashData(RandomNumberGenerator.GetBytes(32), rimValue.Concat(challenge).ToArray());
        phasesMs["attest"] = attest.Elapsed.TotalMilliseconds;
        effective["attestation"] = "emulated: HMAC-SHA256 over the RIM and a 64-byte challenge, " + Convert.ToHexStringLower(token)[..16] + "…";
    }

    // Decorate makes the shared buffer and names it in the load request; Populate streams through it.
    private readonly Dictionary<string, StreamPlan> _plans = new();
}
