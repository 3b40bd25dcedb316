using System.Diagnostics;
using k8s;
using k8s.Models;
using PerfLab.Core.Fleet;
using PerfLab.Core.Suites;

namespace PerfLab.Lab.Tests.Fleet;

/// <summary>
/// `perflab fleet k8s`'s manifests for every suite in bench/suites, checked against the Kubernetes API's schema: read by
/// KubernetesClient's strict YAML reader (its models are generated from the Kubernetes OpenAPI spec; an unknown field is
/// an error), then validated by kubernetes-models' schema validators (tests/k8s-schema, run with node). What no test
/// here can show without a cluster: that a scheduler places the pods, that the device plugin and RuntimeClass exist,
/// that the claim is ReadWriteMany, that the image runs.
/// </summary>
public class KubernetesManifestTests
{
    private static readonly string Repo = Arm64.Arm64Build.Repo;
    private static readonly string SchemaDir = Path.Combine(Repo, "tests", "k8s-schema");

    public static TheoryData<string> Suites() => [.. Directory.GetFiles(Path.Combine(Repo, "bench", "suites"), "*.yaml").Select(f => Path.GetFileName(f)).Order()];

    private static KubernetesRequest Request(int shards) =>
        new("t-20261129-120000", "perflab", "registry.example/perflab:test", shards, "arm64", "perflab-results", "8Gi",
            new Dictionary<Platform, string> { [Platform.Cca] = "arm-cca-realm" });

    [SkippableTheory]
    [MemberData(nameof(Suites))]
    public void Every_suites_manifests_validate_against_the_Kubernetes_schema(string file)
    {
        SkipWithoutSchema();
        Check(SuiteLoader.Load(Path.Combine(Repo, "bench", "suites", file)), file, shards: 3);
    }

    [SkippableFact]
    public void Cca_and_vm_cells_get_their_devices_runtime_class_and_arm64_nodes_and_validate()
    {
        SkipWithoutSchema();
        // No suite in bench/suites has real CCA cells yet (this lab's hosts cannot launch them): one that has, every platform.
        var suite = SuiteLoader.Parse("""
            name: platforms
            workloads: [{name: noop, kind: noop}]
            scenarios: [{type: offline, min_queries: 10}, {type: single-stream, min_queries: 10}]
            matrix: {platform: [native, vm, cca, cca-emulated]}
            baseline: {platform: native}
            """, "platforms.yaml");
        var jobs = Check(suite, "platforms.yaml", shards: 2);
        Assert.Contains(jobs, j => j.Spec.Template.Spec.RuntimeClassName == "arm-cca-realm");
        Assert.Contains(jobs, j => j.Spec.Template.Spec.Containers.Single().Resources.Limits.ContainsKey("devices.kubevirt.io/kvm"));
    }

    /// <summary>Writes a suite's manifests, reads them strictly, checks their shape against the plan and the schema; returns the shard Jobs.</summary>
    private static List<V1Job> Check(Suite suite, string file, int shards)
    {
        var (jobs, collect) = KubernetesJob.Manifests(suite, Request(shards));
        var objects = KubernetesYaml.LoadAllFromString(jobs + "---\n" + collect, strict: true);

        var config = Assert.Single(objects.OfType<V1ConfigMap>());
        Assert.Equal(suite.SourceText, config.Data["suite.yaml"]); // the suite reaches the pods byte for byte
        var shardJobs = objects.OfType<V1Job>().Where(j => !j.Metadata.Name.EndsWith("-collect", StringComparison.Ordinal)).ToList();
        var plan = ShardPlan.Assign(suite, shards);
        // Each non-empty shard is one completion index of exactly one Job.
        var indexed = shardJobs.SelectMany(j => ShardsOf(j).Select(s => (Job: j, Shard: s))).ToList();
        Assert.Equal(Enumerable.Range(1, shards).Where(i => plan[i - 1].Count > 0), indexed.Select(x => x.Shard).Order());
        foreach (var (job, shard) in indexed)
        {
            Assert.Equal("Indexed", job.Spec.CompletionMode);
            Assert.Equal(ShardsOf(job).Count, job.Spec.Completions);
            var pod = job.Spec.Template.Spec;
            var limits = pod.Containers.Single().Resources.Limits;
            var cca = plan[shard - 1].Any(c => c.Realm.Platform == Platform.Cca);
            Assert.Equal(cca, limits.ContainsKey("arm.com/cca-realm"));
            Assert.Equal(cca ? "arm-cca-realm" : null, pod.RuntimeClassName);
            if (cca) Assert.Equal("arm64", pod.NodeSelector["kubernetes.io/arch"]);
            Assert.Equal(plan[shard - 1].Any(c => c.Realm.Platform == Platform.Vm), limits.ContainsKey("devices.kubevirt.io/kvm"));
        }

        var json = Path.Combine(Path.GetTempPath(), $"perflab-k8s-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllText(json, "[" + string.Join(",", objects.Select(o => KubernetesJson.Serialize(o))) + "]");
            var (code, output) = Node(json);
            Assert.True(code == 0, $"{file}: the Kubernetes schema refused a manifest:\n{output}");
            Assert.Equal(objects.Count, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.StartsWith("ok ", StringComparison.Ordinal)));
        }
        finally { File.Delete(json); }
        return shardJobs;
    }

    [SkippableFact]
    public void The_checks_refuse_a_misspelled_field_and_a_wrong_type()
    {
        SkipWithoutSchema();
        var suite = SuiteLoader.Load(Path.Combine(Repo, "bench", "suites", "mission.yaml"));
        var (jobs, _) = KubernetesJob.Manifests(suite, Request(2));
        Assert.Contains("completionMode:", jobs);
        Assert.NotEmpty(KubernetesYaml.LoadAllFromString(jobs, strict: true));
        Assert.ThrowsAny<Exception>(() => KubernetesYaml.LoadAllFromString(jobs.Replace("completionMode:", "completionMod:"), strict: true));
        var json = Path.Combine(Path.GetTempPath(), $"perflab-k8s-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllText(json, """[{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"x"},"spec":{"completions":"three","template":{"spec":{"containers":[{"image":"i"}]}}}}]""");
            var (code, output) = Node(json);
            Assert.Equal(1, code);
            Assert.Contains("must be integer", output);
            Assert.Contains("must have required property name", output);
        }
        finally { File.Delete(json); }
    }

    [Fact]
    public void A_fleet_id_is_a_kubernetes_name_short_enough_for_every_object()
    {
        var id = KubernetesJob.FleetId("My_Suite.with a very long name that goes on and on and on", new DateTime(2026, 11, 29, 12, 0, 0, DateTimeKind.Utc));
        Assert.Matches("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", id);
        Assert.EndsWith("-20261129-120000", id);
        Assert.True($"perflab-{id}-collect".Length <= 63);
        Assert.Equal("20261129-120000", KubernetesJob.FleetId("___", new DateTime(2026, 11, 29, 12, 0, 0, DateTimeKind.Utc)));
    }

    private static void SkipWithoutSchema() =>
        Skip.IfNot(File.Exists(Path.Combine(SchemaDir, "node_modules", "kubernetes-models", "package.json")) && Which("node") is not null,
            "no node or tests/k8s-schema/node_modules (run-tests.sh runs npm ci there)");

    /// <summary>The shard numbers a Job's completion indexes run, from its command ("set -- 1 3; shift …").</summary>
    private static List<int> ShardsOf(V1Job job)
    {
        var script = job.Spec.Template.Spec.Containers.Single().Command[2];
        return script["set -- ".Length..script.IndexOf(';')].Split(' ').Select(int.Parse).ToList();
    }

    private static (int, string) Node(string json)
    {
        var psi = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = SchemaDir };
        psi.ArgumentList.Add("validate.mjs");
        psi.ArgumentList.Add(json);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output + err.Result);
    }

    private static string? Which(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);
}
