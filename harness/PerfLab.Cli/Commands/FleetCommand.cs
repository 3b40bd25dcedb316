using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using PerfLab.Core.Fleet;
using PerfLab.Core.Suites;
using PerfLab.Results;
using PerfLab.Results.Schema;
using Platform = PerfLab.Core.Suites.Platform;

namespace PerfLab.Cli.Commands;

/// <summary>
/// `perflab fleet`: a suite spread over hosts by the scheduler a lab already has. `slurm` writes and submits an sbatch
/// array job (one task per shard) and, with --wait, merges when it ends; `k8s` writes Indexed Jobs for kubectl;
/// `collect` merges a fleet folder's shards.
/// </summary>
public static class FleetCommand
{
    public const string PlanFile = "plan.json", JobFile = "job.sbatch";

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var cmd = new Command("fleet", "Spread a suite over many hosts with the scheduler a lab has — Slurm (an sbatch array job, a task per shard) or\n" +
                                       "Kubernetes (Indexed Jobs) — and merge what they measured.\n" +
                                       "Example: perflab fleet slurm --suite bench/suites/overhead.yaml --shards 10 --partition bench --wait");
        cmd.Subcommands.Add(Slurm(stdout, stderr));
        cmd.Subcommands.Add(Kubernetes(stdout, stderr));
        cmd.Subcommands.Add(Collect(stdout, stderr));
        return cmd;
    }

    private static Command Slurm(TextWriter stdout, TextWriter stderr)
    {
        var suite = new Option<FileInfo>("--suite") { Description = "the suite YAML", Required = true };
        var shards = new Option<int>("--shards") { Description = "shards (array tasks); cells keep their baseline with them", Required = true };
        var partition = new Option<string>("--partition") { Description = "the Slurm partition", Required = true };
        var constraint = new Option<string[]>("--constraint")
        {
            Description = "node features the shards need (sbatch --constraint): FEATURES for every shard, or PLATFORM=FEATURES for one platform's shards (suites with shard_by: platform), e.g. --constraint cca=cca_host --constraint native=x86",
            AllowMultipleArgumentsPerToken = false,
        };
        var results = new Option<DirectoryInfo>("--results") { Description = "fleet folders go here, on storage every node sees", DefaultValueFactory = _ => new DirectoryInfo("results/fleet") };
        var wait = new Option<bool>("--wait") { Description = "wait for the job's tasks to end (squeue, once a second), then merge (else print the job id and return)" };
        var share = new Option<bool>("--share-nodes") { Description = "let shards share a node (not --exclusive): functional checks only, the figures disturb each other" };
        var dryRun = new Option<bool>("--dry-run") { Description = "write the fleet folder and the sbatch script, submit nothing" };
        shards.Validators.Add(r =>
        {
            if (r.Tokens.Count == 1 && int.TryParse(r.Tokens[0].Value, out var n) && n is < 1 or > Shard.MaxCount)
                r.AddError($"--shards {n}: give 1 to {Shard.MaxCount}");
        });
        var cmd = new Command("slurm", "Write and submit an sbatch array job: task i runs perflab run --shard i/N into the fleet folder.")
        {
            suite, shards, partition, constraint, results, wait, share, dryRun,
        };
        cmd.SetAction(p => (int)SubmitSlurm(p.GetValue(suite)!.FullName, p.GetValue(shards), p.GetValue(partition)!, p.GetValue(constraint) ?? [],
            p.GetValue(results)!.FullName, p.GetValue(wait), !p.GetValue(share), p.GetValue(dryRun), stdout, stderr));
        return cmd;
    }

    private static Command Kubernetes(TextWriter stdout, TextWriter stderr)
    {
        var suite = new Option<FileInfo>("--suite") { Description = "the suite YAML", Required = true };
        var shards = new Option<int>("--shards") { Description = "shards (completion indexes over the Jobs); cells keep their baseline with them", Required = true };
        var image = new Option<string>("--image") { Description = "a container image with perflab on its PATH", Required = true };
        var ns = new Option<string>("--namespace") { Description = "the namespace of the Jobs", DefaultValueFactory = _ => "perflab" };
        var arch = new Option<string>("--arch") { Description = "node architecture for cells that are not CCA (CCA cells go to arm64 nodes)", DefaultValueFactory = _ => "arm64" };
        arch.AcceptOnlyFromAmong("arm64", "amd64");
        var claim = new Option<string>("--results-claim") { Description = "a ReadWriteMany PersistentVolumeClaim every shard writes to", DefaultValueFactory = _ => "perflab-results" };
        var memory = new Option<string>("--pod-memory") { Description = "memory a shard's pod requests (a Kubernetes quantity)", DefaultValueFactory = _ => "8Gi" };
        var runtime = new Option<string[]>("--runtime-class")
        {
            Description = "platform=RuntimeClass for pods running cells of that platform (default cca=arm-cca-realm; cca= drops it)",
            DefaultValueFactory = _ => ["cca=arm-cca-realm"], AllowMultipleArgumentsPerToken = false,
        };
        var results = new Option<DirectoryInfo>("--results") { Description = "where the manifests are written", DefaultValueFactory = _ => new DirectoryInfo("results/fleet") };
        var cmd = new Command("k8s", "Write Kubernetes manifests: the suite as a ConfigMap, one Indexed Job per pod class (completion index = shard), and a\n" +
                                     "collect Job. Apply with kubectl; nothing is submitted from here.")
        {
            suite, shards, image, ns, arch, claim, memory, runtime, results,
        };
        cmd.SetAction(p => (int)WriteKubernetes(p.GetValue(suite)!.FullName, p.GetValue(shards), p.GetValue(image)!, p.GetValue(ns)!, p.GetValue(arch)!,
            p.GetValue(claim)!, p.GetValue(memory)!, p.GetValue(runtime)!, p.GetValue(results)!.FullName, stdout, stderr));
        return cmd;
    }

    public static ExitCode WriteKubernetes(string suitePath, int shards, string image, string ns, string arch, string claim, string memory,
        IReadOnlyList<string> runtimeClasses, string fleetRoot, TextWriter stdout, TextWriter stderr)
    {
        if (SuiteInput.LoadOrExplain(suitePath, stderr, "nothing was written") is not { } suite) return ExitCode.BadInput;
        if (shards is < 1 or > Shard.MaxCount)
        {
            stderr.WriteLine($"error: --shards {shards}: give 1 to {Shard.MaxCount}");
            return ExitCode.BadInput;
        }
        var classes = new Dictionary<Platform, string>();
        foreach (var rc in runtimeClasses)
        {
            var kv = rc.Split('=', 2);
            if (kv.Length != 2 || !Names.Platforms.TryGetValue(kv[0], out var platform))
            {
                stderr.WriteLine($"error: --runtime-class {rc}: give platform=name, platform one of native, vm, cca, cca-emulated (name empty: none)");
                return ExitCode.BadInput;
            }
            classes[platform] = kv[1];
        }
        var now = DateTime.UtcNow;
        var id = KubernetesJob.FleetId(suite.Name, now);
        var request = new KubernetesRequest(id, ns, image, shards, arch, claim, memory, classes);
        string jobs, collect;
        try { (jobs, collect) = KubernetesJob.Manifests(suite, request); }
        catch (ShardPlanException e)
        {
            stderr.WriteLine($"error: {suitePath}: {e.Message}; nothing was written");
            return ExitCode.BadInput;
        }
        var dir = Path.Combine(fleetRoot, $"{now:yyyyMMdd'T'HHmmss'Z'}-{suite.Name}-k8s");
        Directory.CreateDirectory(dir);
        RunFolderWriter.WriteAtomic(Path.Combine(dir, "jobs.yaml"), jobs);
        RunFolderWriter.WriteAtomic(Path.Combine(dir, "collect.yaml"), collect);
        stdout.WriteLine($"wrote {Path.Combine(dir, "jobs.yaml")} and collect.yaml (fleet {id}, {shards} shards)");
        stdout.WriteLine($"kubectl apply -f {Path.Combine(dir, "jobs.yaml")}");
        stdout.WriteLine($"kubectl -n {ns} wait --for=condition=complete job -l perflab.fleet={id} --timeout={SlurmBatch.TimeLimitMinutes(suite, shards, suite.Repetitions)}m");
        stdout.WriteLine($"kubectl apply -f {Path.Combine(dir, "collect.yaml")}   # merges into /results/{id}/merged on the claim {claim}");
        return ExitCode.Ok;
    }

    private static Command Collect(TextWriter stdout, TextWriter stderr)
    {
        var fleet = new Argument<DirectoryInfo>("fleet") { Description = "the fleet folder perflab fleet slurm wrote" };
        var crossHost = new Option<bool>("--cross-host") { Description = "compute overheads whose baseline another host measured (shard_by: platform), named as such" };
        var cmd = new Command("collect", "Merge the shards a fleet job wrote into one run folder (fleet/merged/), naming any shard missing or unfinished.")
        {
            fleet, crossHost,
        };
        cmd.SetAction(p => (int)CollectFleet(p.GetValue(fleet)!.FullName, stdout, stderr, p.GetValue(crossHost)));
        return cmd;
    }

    public static ExitCode SubmitSlurm(string suitePath, int shards, string partition, IReadOnlyList<string> constraint, string fleetRoot, bool wait, bool exclusive,
        bool dryRun, TextWriter stdout, TextWriter stderr)
    {
        if (SuiteInput.LoadOrExplain(suitePath, stderr, "nothing was submitted") is not { } suite) return ExitCode.BadInput;
        var constraints = new Dictionary<string, string>();
        foreach (var c in constraint)
        {
            var kv = c.Split('=', 2);
            if (kv.Length == 1) constraints["*"] = c;
            else if (Names.Platforms.ContainsKey(kv[0]) && kv[1].Length > 0) constraints[kv[0]] = kv[1];
            else
            {
                stderr.WriteLine($"error: --constraint {c}: give FEATURES, or PLATFORM=FEATURES with PLATFORM one of {string.Join(", ", Names.Platforms.Keys)}");
                return ExitCode.BadInput;
            }
        }
        IReadOnlyList<IReadOnlyList<Cell>> plan;
        try { plan = ShardPlan.Assign(suite, shards); }
        catch (ShardPlanException e)
        {
            stderr.WriteLine($"error: {suitePath}: {e.Message}");
            return ExitCode.BadInput;
        }
        var dir = Path.Combine(fleetRoot, $"{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}-{suite.Name}-slurm");
        Directory.CreateDirectory(Path.Combine(dir, "logs"));
        Directory.CreateDirectory(Path.Combine(dir, "shards"));
        var (file, lead) = Lab.Os.PerflabExecutable.Resolve();
        var all = new SlurmRequest(suitePath, suite.Name, shards, partition, null, dir, Environment.CurrentDirectory, [file, .. lead], exclusive);
        var minutes = SlurmBatch.TimeLimitMinutes(suite, shards, suite.Repetitions);
        var scripts = SlurmBatch.Scripts(suite, all, constraints);
        foreach (var (name, request) in scripts) RunFolderWriter.WriteAtomic(Path.Combine(dir, name), SlurmBatch.Script(request, minutes));
        string ScriptOf(int shard) => scripts.First(s => s.Request.Tasks.Contains(shard)).Name;
        RunFolderWriter.WriteAtomic(Path.Combine(dir, PlanFile), JsonSerializer.Serialize(new
        {
            suite = suitePath, shards, shard_by = suite.ShardBy.ToString().ToLowerInvariant(), scheduler = "slurm", partition, constraints, exclusive,
            time_limit_min = minutes,
            plan = plan.Select((cells, i) => new
            {
                shard = $"{i + 1}/{shards}", script = cells.Count > 0 ? ScriptOf(i + 1) : null,
                planned_s = Math.Round(ShardPlan.PlannedSeconds(suite, cells, suite.Repetitions)), cells = cells.Select(c => c.Id),
            }),
        }, RunFiles.Json));
        foreach (var (cells, i) in plan.Select((c, i) => (c, i)))
            stdout.WriteLine($"shard {i + 1}/{shards}: {cells.Count} cells, planned {ShardPlan.PlannedSeconds(suite, cells, suite.Repetitions):0} s");
        stdout.WriteLine($"fleet folder: {dir} (sbatch {string.Join(", ", scripts.Select(s => s.Name))}, time limit {minutes} min a task)");
        if (dryRun) return ExitCode.Ok;

        var jobs = new List<string>();
        foreach (var (name, _) in scripts)
        {
            var (code, output) = Run("sbatch", ["--parsable", Path.Combine(dir, name)], TimeSpan.FromMinutes(2));
            if (code == -2)
            {
                stderr.WriteLine("error: sbatch not found: this host is not a Slurm submit host (apt-get install slurm-client, and a slurm.conf naming the controller)");
                return ExitCode.Environment;
            }
            var job = output.Trim().Split('\n')[0].Split(';')[0];
            if (code != 0 || job.Length == 0 || !job.All(char.IsAsciiDigit))
            {
                stderr.WriteLine($"error: sbatch refused {name} (exit {code}): {output.Trim()}" + (jobs.Count > 0 ? $"; jobs {string.Join(", ", jobs)} were submitted" : ""));
                return ExitCode.Environment;
            }
            jobs.Add(job);
        }
        RunFolderWriter.WriteAtomic(Path.Combine(dir, "job.id"), string.Join('\n', jobs) + "\n");
        if (!wait)
        {
            stdout.WriteLine($"submitted job(s) {string.Join(", ", jobs)}; when they end: perflab fleet collect {dir}");
            return ExitCode.Ok;
        }
        // Polled once a second rather than with sbatch --wait, whose own poll backs off: measured on a one-node cluster it
        // returned 30 s after the last shard had ended, longer than the three shards had run.
        stdout.WriteLine($"submitted job(s) {string.Join(", ", jobs)}; waiting for their {shards} tasks");
        while (true)
        {
            var (q, left) = Run("squeue", ["-h", "-j", string.Join(',', jobs), "-o", "%i %T"], TimeSpan.FromMinutes(1));
            if (q != 0 && !left.Contains("Invalid job id", StringComparison.Ordinal))
            {
                stderr.WriteLine($"error: squeue failed (exit {q}): {left.Trim()}; the job may still run: perflab fleet collect {dir} when it ends");
                return ExitCode.Environment;
            }
            if (q != 0 || left.Trim().Length == 0) break;
            Thread.Sleep(1000);
        }
        stdout.WriteLine($"job(s) {string.Join(", ", jobs)} ended");
        return CollectFleet(dir, stdout, stderr);
    }

    public static ExitCode CollectFleet(string dir, TextWriter stdout, TextWriter stderr, bool crossHost = false)
    {
        var shardsDir = Path.Combine(dir, "shards");
        var folders = Directory.Exists(shardsDir) ? Directory.GetDirectories(shardsDir).Where(d => File.Exists(Path.Combine(d, RunFiles.Manifest))).OrderBy(d => d).ToList() : [];
        if (folders.Count == 0)
        {
            stderr.WriteLine($"error: {shardsDir}: no shard folders yet (has the job run? see {Path.Combine(dir, "logs")})");
            return ExitCode.BadInput;
        }
        // A shard rerun (sbatch --array=i) leaves its old folder beside the new one: the latest complete one counts.
        var latest = folders.Select(f => (Folder: f, Manifest: RunFolderReader.ReadManifest(f)))
            .Where(x => x.Manifest.Shard is not null)
            .GroupBy(x => x.Manifest.Shard!.Index)
            .Select(g => g.OrderBy(x => x.Manifest.State == PerfLab.Results.Schema.RunState.Complete).ThenBy(x => x.Manifest.StartedUtc).Last().Folder)
            .ToList();
        try
        {
            var outcome = RunMerge.Merge(latest, Path.Combine(dir, "merged"), crossHost);
            var code = MergeCommand.Report(outcome, stdout);
            // A Slurm fleet folder knows its scripts; elsewhere (Kubernetes) the merge's own rerun command stands.
            foreach (var s in outcome.Incomplete.Where(_ => File.Exists(Path.Combine(dir, PlanFile))))
                stdout.WriteLine($"rerun shard {s.Index} alone: sbatch --array={s.Index} {Path.Combine(dir, ScriptOf(dir, s.Index))}, then perflab fleet collect {dir}");
            return code;
        }
        catch (ResultsFormatException e)
        {
            stderr.WriteLine("error: " + e.Message);
            return ExitCode.BadInput;
        }
    }

    /// <summary>The sbatch script that runs a shard, as plan.json records it (job.sbatch when it does not say).</summary>
    private static string ScriptOf(string dir, int shard)
    {
        try
        {
            using var plan = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, PlanFile)));
            return plan.RootElement.GetProperty("plan")[shard - 1].GetProperty("script").GetString() ?? JobFile;
        }
        catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException or IndexOutOfRangeException or InvalidOperationException)
        {
            return JobFile;
        }
    }

    /// <summary>Runs a scheduler command; -2 when it is not installed.</summary>
    private static (int Code, string Output) Run(string file, IEnumerable<string> args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception) { return (-2, ""); }
        using (p)
        {
            var err = p.StandardError.ReadToEndAsync();
            var output = p.StandardOutput.ReadToEnd();
            if (!p.WaitForExit(timeout)) { p.Kill(true); return (-1, "timed out: " + output + err.Result); }
            return (p.ExitCode, output + err.Result);
        }
    }
}
