using PerfLab.Core.Suites;

namespace PerfLab.Lab.Workloads;

/// <summary>
/// Every workload kind's behaviour, by kind. A new kind is its row in PerfLab.Core's WorkloadKinds (name and parameters),
/// its file here, and its line in this list.
/// </summary>
public static class WorkloadRegistry
{
    private static readonly IReadOnlyDictionary<WorkloadKind, IWorkload> Entries = Check(
        new IWorkload[] { new NoopWorkload(), new SyntheticWorkload(), new LlmWorkload(), new MicroWorkload(), new OpenAiWorkload() }.ToDictionary(w => w.Kind));

    public static IWorkload For(WorkloadKind kind) => Entries[kind];

    /// <summary>The entry for a kind named on the channel; an error listing the kinds this agent knows otherwise.</summary>
    public static IWorkload Named(string name) => For(WorkloadKinds.Named(name));

    private static IReadOnlyDictionary<WorkloadKind, IWorkload> Check(Dictionary<WorkloadKind, IWorkload> entries)
    {
        var missing = WorkloadKinds.All.Values.Where(k => !entries.ContainsKey(k)).Select(k => k.Name).ToList();
        if (missing.Count > 0) throw new InvalidOperationException($"workload kinds without a registry entry: {string.Join(", ", missing)}");
        return entries;
    }
}
