using System.Globalization;
using PerfLab.Core.Suites;
using YamlDotNet.Serialization;

namespace PerfLab.Core.Fleet;

/// <summary>What `perflab fleet k8s` is asked for: the suite, the shards, the image with perflab in it, where results go.</summary>
public sealed record KubernetesRequest(string FleetId, string Namespace, string Image, int Shards, string Arch, string ResultsClaim, string PodMemory,
    IReadOnlyDictionary<Platform, string> RuntimeClasses);

/// <summary>
/// The Kubernetes objects of a fleet run: a ConfigMap holding the suite, and one Indexed Job per pod class — shards whose
/// cells need the same node and devices (CCA cells: an arm64 node, the `arm.com/cca-realm` device and the CCA runtime
/// class; VM cells: /dev/kvm through KubeVirt's `devices.kubevirt.io/kvm`; native and emulated cells: nothing). The
/// completion index picks the class's shard, results go to a shared volume under the fleet's folder, and a separate
/// collect Job merges them once every shard Job has completed. Objects are plain dictionaries serialized by YamlDotNet,
/// so quoting is the serializer's, and tests check them against the Kubernetes API's schema.
/// </summary>
public static class KubernetesJob
{
    /// <summary>
    /// A fleet id Kubernetes accepts in object names and labels (DNS-1123: lowercase letters, digits, '-'), short enough
    /// that every object name ("perflab-{id}-collect", "perflab-{id}-cca-vm-2") stays within a label's 63 characters.
    /// </summary>
    public static string FleetId(string suiteName, DateTime utc)
    {
        var clean = new string(suiteName.ToLowerInvariant().Select(ch => char.IsAsciiLetterOrDigit(ch) ? ch : '-').ToArray()).Trim('-');
        var stamp = utc.ToString("yyyyMMdd'-'HHmmss", CultureInfo.InvariantCulture);
        var room = 63 - "perflab--cca-vm-9".Length - stamp.Length - 1;
        if (clean.Length > room) clean = clean[..room].TrimEnd('-');
        return clean.Length == 0 ? stamp : $"{clean}-{stamp}";
    }

    /// <summary>Extended resources a pod needs per platform of its cells (requested as limits, as extended resources must be).</summary>
    public static IReadOnlyDictionary<string, string> Devices(Platform p) => p switch
    {
        Platform.Cca => new Dictionary<string, string> { ["arm.com/cca-realm"] = "1" },
        Platform.Vm => new Dictionary<string, string> { ["devices.kubevirt.io/kvm"] = "1" },
        _ => new Dictionary<string, string>(),
    };

    /// <summary>A shard's pod class: its architecture, runtime class and devices, named for the Job (plain, vm, cca, cca-vm).</summary>
    public sealed record PodClass(string Name, string Arch, string? RuntimeClass, IReadOnlyDictionary<string, string> Devices, int Cpus);

    public static PodClass ClassOf(IReadOnlyList<Cell> shard, KubernetesRequest r)
    {
        var platforms = shard.Select(c => c.Realm.Platform).Distinct().ToList();
        var cca = platforms.Contains(Platform.Cca);
        var vm = platforms.Contains(Platform.Vm);
        var name = cca && vm ? "cca-vm" : cca ? "cca" : vm ? "vm" : "plain";
        var runtime = platforms.Select(p => r.RuntimeClasses.GetValueOrDefault(p)).FirstOrDefault(x => !string.IsNullOrEmpty(x));
        var devices = platforms.SelectMany(p => Devices(p)).GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.First().Value);
        // The Realm's vCPUs plus one for the load generator and channel, as pinning: auto lays them out.
        var cpus = (shard.Count == 0 ? 1 : shard.Max(c => c.Realm.Vcpus)) + 1;
        return new PodClass(name, cca ? "arm64" : r.Arch, runtime, devices, cpus); // Arm CCA exists on arm64 alone
    }

    /// <summary>The objects to apply (ConfigMap, then the shard Jobs) and the collect Job, as YAML documents.</summary>
    public static (string Jobs, string Collect) Manifests(Suite suite, KubernetesRequest r)
    {
        var plan = ShardPlan.Assign(suite, r.Shards);
        var labels = new Dictionary<string, object> { ["app.kubernetes.io/name"] = "perflab", ["perflab.fleet"] = r.FleetId };
        var docs = new List<object>
        {
            new Dictionary<string, object>
            {
                ["apiVersion"] = "v1", ["kind"] = "ConfigMap",
                ["metadata"] = Meta($"perflab-{r.FleetId}-suite", r.Namespace, labels),
                ["data"] = new Dictionary<string, object> { ["suite.yaml"] = suite.SourceText },
            },
        };
        var deadline = SlurmBatch.TimeLimitMinutes(suite, r.Shards, suite.Repetitions) * 60;
        var classes = plan.Select((cells, i) => (Shard: i + 1, Cells: cells)).Where(s => s.Cells.Count > 0)
            .GroupBy(s => ClassOf(s.Cells, r) is var c ? (c.Name, c.Arch, c.RuntimeClass) : default)
            .OrderBy(g => g.Key.Name, StringComparer.Ordinal).ThenBy(g => g.Key.RuntimeClass, StringComparer.Ordinal);
        var named = new Dictionary<string, int>();
        foreach (var g in classes)
        {
            var pod = ClassOf(g.SelectMany(s => s.Cells).ToList(), r);
            var shards = g.Select(s => s.Shard.ToString(CultureInfo.InvariantCulture)).ToList();
            // Two classes share a name only when a runtime class was given to a platform the name does not show.
            var nth = named[pod.Name] = named.GetValueOrDefault(pod.Name) + 1;
            var name = $"perflab-{r.FleetId}-{pod.Name}" + (nth > 1 ? $"-{nth}" : "");
            // Index k of this Job runs the class's k-th shard: POSIX sh, no tools the image may lack.
            var script = $"set -- {string.Join(' ', shards)}; shift \"$JOB_COMPLETION_INDEX\"; " +
                         $"exec perflab run --suite /suite/suite.yaml --shard \"$1/{r.Shards}\" --results /results/{r.FleetId}/shards --plain";
            docs.Add(Job(name, r, labels, pod, shards.Count, deadline, script));
        }
        var collect = Job($"perflab-{r.FleetId}-collect", r, labels, new PodClass("collect", r.Arch, null, new Dictionary<string, string>(), 1), 1, 3600,
            $"exec perflab fleet collect /results/{r.FleetId}");
        return (Yaml(docs), Yaml([collect]));
    }

    private static Dictionary<string, object> Meta(string name, string ns, Dictionary<string, object> labels) =>
        new() { ["name"] = name, ["namespace"] = ns, ["labels"] = labels };

    private static Dictionary<string, object> Job(string name, KubernetesRequest r, Dictionary<string, object> labels, PodClass pod, int completions,
        int deadlineS, string script)
    {
        var limits = new Dictionary<string, object> { ["cpu"] = pod.Cpus.ToString(CultureInfo.InvariantCulture), ["memory"] = r.PodMemory };
        foreach (var (k, v) in pod.Devices) limits[k] = v;
        var podSpec = new Dictionary<string, object>
        {
            // A failed shard is not retried in place: its launches were measured, and rerunning is the user's decision.
            ["restartPolicy"] = "Never",
            ["nodeSelector"] = new Dictionary<string, object> { ["kubernetes.io/arch"] = pod.Arch },
            ["containers"] = new List<object>
            {
                new Dictionary<string, object>
                {
                    ["name"] = "perflab",
                    ["image"] = r.Image,
                    ["command"] = new List<object> { "/bin/sh", "-c", script },
                    ["env"] = new List<object>
                    {
                        new Dictionary<string, object> { ["name"] = "PERFLAB_JOB_NAME", ["value"] = name },
                        new Dictionary<string, object>
                        {
                            ["name"] = "PERFLAB_NODE_NAME",
                            ["valueFrom"] = new Dictionary<string, object> { ["fieldRef"] = new Dictionary<string, object> { ["fieldPath"] = "spec.nodeName" } },
                        },
                    },
                    // Requests equal to limits: the Guaranteed QoS class, so the kubelet's CPU manager can give whole cores.
                    ["resources"] = new Dictionary<string, object> { ["requests"] = limits, ["limits"] = limits },
                    ["volumeMounts"] = new List<object>
                    {
                        new Dictionary<string, object> { ["name"] = "suite", ["mountPath"] = "/suite", ["readOnly"] = true },
                        new Dictionary<string, object> { ["name"] = "results", ["mountPath"] = "/results" },
                    },
                },
            },
            ["volumes"] = new List<object>
            {
                new Dictionary<string, object>
                {
                    ["name"] = "suite", ["configMap"] = new Dictionary<string, object> { ["name"] = $"perflab-{r.FleetId}-suite" },
                },
                new Dictionary<string, object>
                {
                    ["name"] = "results", ["persistentVolumeClaim"] = new Dictionary<string, object> { ["claimName"] = r.ResultsClaim },
                },
            },
        };
        if (pod.RuntimeClass is { } rc) podSpec["runtimeClassName"] = rc;
        return new Dictionary<string, object>
        {
            ["apiVersion"] = "batch/v1", ["kind"] = "Job",
            ["metadata"] = Meta(name, r.Namespace, labels),
            ["spec"] = new Dictionary<string, object>
            {
                ["completionMode"] = "Indexed",
                ["completions"] = completions,
                ["parallelism"] = completions,
                ["backoffLimit"] = 0,
                // A preempted pod (node drained, evicted) is not the shard's failure: counted neither way, it starts again.
                ["podFailurePolicy"] = new Dictionary<string, object>
                {
                    ["rules"] = new List<object>
                    {
                        new Dictionary<string, object>
                        {
                            ["action"] = "Ignore",
                            ["onPodConditions"] = new List<object> { new Dictionary<string, object> { ["type"] = "DisruptionTarget" } },
                        },
                    },
                },
                ["activeDeadlineSeconds"] = deadlineS,
                ["template"] = new Dictionary<string, object>
                {
                    ["metadata"] = new Dictionary<string, object> { ["labels"] = labels },
                    ["spec"] = podSpec,
                },
            },
        };
    }

    private static string Yaml(IEnumerable<object> docs)
    {
        var s = new SerializerBuilder().WithQuotingNecessaryStrings().DisableAliases().Build(); // "1" stays a string, as Kubernetes wants it
        return string.Join("---\n", docs.Select(s.Serialize));
    }
}
