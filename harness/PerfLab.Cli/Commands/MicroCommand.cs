using System.CommandLine;
using System.Text;
using PerfLab.Core.Suites;
using PerfLab.Lab.Micro;

namespace PerfLab.Cli.Commands;

/// <summary>`perflab micro`: build native/wsbench if needed and run its cases into a run folder.</summary>
public static class MicroCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var cases = new Option<string[]>("--case") { Description = "a case to run (repeatable); default: every case. List them with --list", AllowMultipleArgumentsPerToken = true };
        var list = new Option<bool>("--list") { Description = "list the cases and exit" };
        var results = new Option<DirectoryInfo>("--results") { Description = "where run folders go", DefaultValueFactory = _ => new DirectoryInfo("results/runs") };
        var cpu = new Option<string>("--pinning") { Description = "none, auto (the last CPU) or a CPU number", DefaultValueFactory = _ => "auto" };
        var write = new Option<string?>("--write-profile") { Description = "write the calibration profile NAME (bench/profiles/NAME.yaml) from the exit, RSI-call and fault cases' medians" };
        var from = new Option<DirectoryInfo?>("--from") { Description = "with --write-profile: take the prices from this micro run folder instead of running the cases now" };
        var tickHz = new Option<double>("--tick-hz") { Description = "with --write-profile: the guest timer rate the profile counts exits at", DefaultValueFactory = _ => 250 };
        var cmd = new Command("micro", "Run the native world-switch and memory microbenchmarks (a tiny KVM VMM and host references); cases this host\n" +
                                       "cannot run are reported as SKIP with the reason. Results go to a run folder like any suite's.\n" +
                                       "With --write-profile NAME, the exit, RSI-call and fault cases' medians become bench/profiles/NAME.yaml.\n" +
                                       "Example: perflab micro --case kvm.exit.pio --case host.syscall; perflab micro --write-profile my-host")
        {
            cases, list, results, cpu, write, from, tickHz,
        };
        cmd.SetAction(async (p, cancel) => (int)await Task.Run(() => p.GetValue(write) is { } name
            ? WriteProfile(name, p.GetValue(from)?.FullName, p.GetValue(tickHz), p.GetValue(results)!.FullName, p.GetValue(cpu)!, stdout, stderr, cancel)
            : Execute(p.GetValue(cases) ?? [], p.GetValue(list), p.GetValue(results)!.FullName, p.GetValue(cpu)!, stdout, stderr, cancel)));
        return cmd;
    }

    /// <summary>
    /// Writes bench/profiles/NAME.yaml from a micro run: the one given, or one run now of the three cases it needs. A profile
    /// that exists is not overwritten (the shipped ones name their sources); the error says so.
    /// </summary>
    public static ExitCode WriteProfile(string name, string? fromRun, double tickHz, string runsDir, string pinning, TextWriter stdout, TextWriter stderr,
        CancellationToken cancel, string? profilesDir = null)
    {
        if (tickHz is < 1 or > 10_000)
        {
            stderr.WriteLine($"error: --tick-hz {tickHz}: give the guest timer rate, 1 to 10000 Hz (Debian's kernels: 250)");
            return ExitCode.BadInput;
        }
        var dir = profilesDir ?? PerfLab.Lab.Os.RepoPaths.FindUpwards(Path.Combine("bench", "profiles")) ?? Path.Combine(Directory.GetCurrentDirectory(), "bench", "profiles");
        var target = Path.Combine(dir, name + ".yaml");
        if (File.Exists(target))
        {
            stderr.WriteLine($"error: {target} exists; choose another name (a profile is a record of where its prices came from, not overwritten)");
            return ExitCode.BadInput;
        }
        var run = fromRun;
        if (run is null)
        {
            var before = Directory.Exists(runsDir) ? Directory.GetDirectories(runsDir).ToHashSet() : [];
            var code = Execute(PerfLab.Results.ProfileWriter.Prices.Select(p => p.Case).ToList(), false, runsDir, pinning, stdout, stderr, cancel);
            run = Directory.Exists(runsDir) ? Directory.GetDirectories(runsDir).Where(d => !before.Contains(d)).Order().LastOrDefault() : null;
            if (run is null) return code == ExitCode.Ok ? ExitCode.Failed : code;
        }
        if (!Directory.Exists(run))
        {
            stderr.WriteLine($"error: --from {run}: no such run folder");
            return ExitCode.BadInput;
        }
        try
        {
            var yaml = PerfLab.Results.ProfileWriter.Write(PerfLab.Results.RunFolderReader.Read(run, PerfLab.Results.ReadMode.Tolerant), name, tickHz);
            Directory.CreateDirectory(dir);
            File.WriteAllText(target, yaml);
            stdout.Write(yaml);
            stdout.WriteLine($"profile written: {target} (use it: calibration_profile: {name}, or perflab project RUN --profile {name})");
            return ExitCode.Ok;
        }
        catch (PerfLab.Results.ProfileSourceException e)
        {
            stderr.WriteLine("error: " + e.Message);
            return fromRun is null ? ExitCode.Environment : ExitCode.BadInput;
        }
    }

    public static ExitCode Execute(IReadOnlyList<string> requested, bool list, string runsDir, string pinning, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        string exe;
        IReadOnlyList<string> valid;
        try
        {
            exe = NativeBuild.EnsureWsbench();
            valid = Wsbench.ListCases(exe);
        }
        catch (NativeUnavailableException e)
        {
            stderr.WriteLine("error: " + e.Message);
            return ExitCode.Environment;
        }
        if (list)
        {
            foreach (var c in valid) stdout.WriteLine(c);
            return ExitCode.Ok;
        }
        var unknown = requested.Where(c => !valid.Contains(c)).ToList();
        if (unknown.Count > 0)
        {
            stderr.WriteLine($"error: unknown case{(unknown.Count > 1 ? "s" : "")} {string.Join(", ", unknown.Select(u => $"'{u}'"))}; valid cases: {string.Join(", ", valid)}");
            return ExitCode.BadInput;
        }
        // The suite is built and parsed in memory: no file in a shared /tmp to be raced for or symlinked, and the CPU list
        // is checked by the suite's own rules, with the option named, before it goes near any YAML.
        if (!System.Text.RegularExpressions.Regex.IsMatch(pinning, "^(none|auto|[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*)$"))
        {
            stderr.WriteLine($"error: --pinning '{pinning.ReplaceLineEndings(" ")}': give none, auto, or a CPU list such as 0-1 or 0,2");
            return ExitCode.BadInput;
        }
        PerfLab.Core.Suites.Suite suite;
        try { suite = PerfLab.Core.Suites.SuiteLoader.Parse(SuiteYaml(requested.Count > 0 ? requested : valid, pinning), "perflab micro"); }
        catch (PerfLab.Core.Suites.SuiteValidationException e)
        {
            stderr.WriteLine($"error: --pinning {pinning}: {e.Message}");
            return ExitCode.BadInput;
        }
        return RunCommand.Execute(suite, runsDir, "precise", plain: true, stdout, stderr, cancel);
    }

    /// <summary>The suite `perflab micro` runs: one micro workload per case, on the native platform.</summary>
    public static string SuiteYaml(IEnumerable<string> cases, string pinning)
    {
        var sb = new StringBuilder();
        sb.AppendLine("name: micro");
        sb.AppendLine("description: native microbenchmarks chosen on the command line");
        sb.AppendLine("workloads:");
        foreach (var c in cases) sb.AppendLine($"  - {{name: {c.Replace('.', '_')}, kind: micro, case: {c}}}");
        sb.AppendLine("scenarios:");
        sb.AppendLine("  - {type: single-stream, name: micro}");
        sb.AppendLine("matrix:");
        sb.AppendLine($"  platform: native");
        sb.AppendLine($"  pinning: {pinning}");
        sb.AppendLine("gate:");
        sb.AppendLine("  metrics: [op_cost, bandwidth]");
        return sb.ToString();
    }
}
