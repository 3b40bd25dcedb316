using PerfLab.Core.Suites;
using PerfLab.Core.Units;

namespace PerfLab.Core.Channel;

/// <summary>What the host sends in the load message: the workload and the Realm settings the agent must honour.</summary>
public sealed record LoadRequest(string Workload, string Kind, Dictionary<string, string> Parameters, string PageSize, string Backing)
{
    /// <summary>Emulated Realms: the payload (model weights) comes over a shared buffer in chunks instead of from a file.</summary>
    public StreamPlan? Stream { get; init; }

    /// <summary>A Realm that attests before it serves: where its token comes from, and the key it asks the broker for.</summary>
    public AttestationPlan? Attestation { get; init; }

    public static LoadRequest For(Cell cell) => new(cell.Workload.Name, cell.Workload.Kind.Name, cell.Workload.Parameters.ToDictionary(),
        cell.Realm.PageSize.ToShort(), cell.Realm.Backing.Name());
}

/// <summary>Where the shared buffer is, how large a chunk is (the RSI batch), and how many bytes will come.</summary>
public sealed record StreamPlan(string SharedPath, long ChunkBytes, long TotalBytes)
{
    /// <summary>The name the payload has inside the Realm (the workload reads it there).</summary>
    public string FileName { get; init; } = "payload.bin";

    /// <summary>Encrypted weights: the payload is AES-256-GCM shards as this manifest lists them (null: plain bytes).</summary>
    public PerfLab.Core.Attestation.ShardManifest? Shards { get; init; }
}

/// <summary>
/// How the Realm attests: its token from the emulated platform over the channel ("channel") or from the guest kernel's
/// configfs-tsm report ("configfs-tsm"); the broker resource holding its model key, when its weights are encrypted.
/// </summary>
public sealed record AttestationPlan(string TokenSource, string? KeyResource)
{
    public const string Channel = "channel", ConfigfsTsm = "configfs-tsm";
}

/// <summary>The agent's own settings from its command line: applied before it says hello.</summary>
public sealed record AgentOptions(PageSize PageSize, HugePageBacking Backing, IReadOnlyList<int> Cpus);
