using System.Globalization;
using PerfLab.Core.Units;

namespace PerfLab.Results;

/// <summary>One Realm cell's memory: what it was given against what its agent used, medians over its ok launches.</summary>
/// <param name="MetadataBytes">the RMM's own structures for a Realm of this size (derived, see <see cref="RealmMemoryTable.Metadata"/>)</param>
public sealed record RealmMemory(string CellId, long ProvisionedBytes, long PeakResidentBytes, long ResidentBytes, long AnonymousBytes,
    long WeightsBytes, long MetadataBytes, int Launches)
{
    /// <summary>The share of what the Realm holds (its memory and the RMM's structures for it) that the agent's peak used.</summary>
    public double Efficiency => PeakResidentBytes / (double)(ProvisionedBytes + MetadataBytes);
}

/// <summary>
/// Memory efficiency per Realm cell (the article's "memory efficiency" benchmark): the memory the Realm was provisioned
/// with, the agent's peak and final resident memory and its anonymous part (the engine's heap: KV cache, runtime) from its
/// own smaps, the weights' size, and the Realm's metadata. A Realm's memory is delegated to it and cannot be lent to
/// another while it lives, so for a capacity planner the provisioned size plus metadata is what a Realm costs, and the
/// efficiency is how much of it the workload used.
/// </summary>
public static class RealmMemoryTable
{
    private const long Granule = 4096;

    /// <summary>
    /// The RMM's structures for a Realm of this memory and vCPUs, derived from DEN0137 1.0's object sizes: the RD and each
    /// REC one granule; REC auxiliary granules as RMI_REC_AUX_COUNT reports (16 assumed: TF-RMM's maximum, for SVE, SME
    /// and PMU state); stage-2 tables of one granule each — one level-3 table per 2 MiB mapped in 4 KiB granules (none
    /// where 2 MiB blocks map it) and one level-2 table per GiB.
    /// </summary>
    public static long Metadata(long memoryBytes, int vcpus, bool blockMapped)
    {
        var l3 = blockMapped ? 0 : (memoryBytes + 2 * Bytes.MiB - 1) / (2 * Bytes.MiB);
        var l2 = (memoryBytes + Bytes.GiB - 1) / Bytes.GiB;
        const int recAux = 16;
        return (1 + vcpus * (1 + recAux) + l3 + l2) * Granule;
    }

    public static IReadOnlyList<RealmMemory> For(RunData run)
    {
        var list = new List<RealmMemory>();
        if (run.Manifest is null) return list;
        foreach (var cell in run.Cells)
        {
            if (cell.Requested?.Realm is not { } realm || cell.Platform is not ("cca-emulated" or "cca")) continue;
            var ok = run.Manifest.LaunchesByCell[cell.Id].Where(l => l.Status == "ok").ToList();
            if (ok.Count == 0 || !Bytes.TryParse(realm.Memory, out var provisioned)) continue;
            long Median(string key, long scale)
            {
                var v = ok.Select(l => l.EffectiveRealm.Find(key))
                    .Select(s => long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n * scale : -1).Where(n => n >= 0).Order().ToList();
                return v.Count == 0 ? 0 : v[v.Count / 2];
            }
            var peak = Median("agent.peak_rss_kb", 1024);
            if (peak <= 0) continue;
            // 2 MiB stage-2 blocks only where the cell asked for 2 MiB pages and got them.
            var blocks = realm.PageSize != "4k" && ok.All(l => l.EffectiveRealm.Find("page_size_obtained") is "thp-2m" or "hugetlb");
            list.Add(new RealmMemory(cell.Id, provisioned.Value, peak, Median("smaps.Rss_kb", 1024), Median("smaps.Anonymous_kb", 1024),
                Median("agent.llm.weights_file_bytes", 1), Metadata(provisioned.Value, realm.Vcpus, blocks), ok.Count));
        }
        return list;
    }

    public static readonly IReadOnlyList<string> Headers =
        ["cell", "provisioned", "Realm metadata (derived)", "agent peak resident", "resident at end", "of it anonymous (heap, KV)", "weights (file)", "efficiency: peak ÷ (provisioned + metadata)", "evidence"];

    public static IReadOnlyList<string[]> Rows(IReadOnlyList<RealmMemory> cells) => cells.Select(m => new[]
    {
        m.CellId, Size(m.ProvisionedBytes), Size(m.MetadataBytes), Size(m.PeakResidentBytes), Size(m.ResidentBytes), Size(m.AnonymousBytes),
        m.WeightsBytes > 0 ? Size(m.WeightsBytes) : "–", m.Efficiency.ToString("0.0 %", CultureInfo.InvariantCulture), "measured",
    }).ToList();

    private static string Size(long b) => new Bytes(b).ToRounded();
}
