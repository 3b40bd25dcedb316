using System.Diagnostics;
using System.Text.Json;

namespace PerfLab.Lab.Tests.Arm64;

/// <summary>
/// Integration, the arm64 tier under qemu-user: the lab published for linux-arm64 runs a short suite (the tiny model and
/// a noop SUT, native and cca-emulated) through binfmt on this x86-64 host, its figures labelled emulated with the
/// emulator named; without DOTNET_EnableWriteXorExecute=0, or (qemu-user 7.2) without an arm64 view of /proc/cpuinfo, it
/// refuses with the fix instead of failing at random.
/// run-tests.sh installs qemu-user-static, binfmt-support and Debian's arm64 runtime libraries (multiarch) as root.
/// </summary>
public class QemuUserTierTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static bool Arm64Runs() =>
        File.Exists("/proc/sys/fs/binfmt_misc/qemu-aarch64") && File.ReadAllText("/proc/sys/fs/binfmt_misc/qemu-aarch64").StartsWith("enabled", StringComparison.Ordinal)
        && File.Exists("/lib/ld-linux-aarch64.so.1");

    [SkippableFact]
    public void The_arm64_lab_runs_the_tiny_suite_under_qemu_user_and_labels_every_figure_emulated()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.X64,
            "the qemu-user tier runs arm64 code on an x86-64 host");
        Skip.IfNot(Arm64Runs(), "no qemu-aarch64 binfmt handler or arm64 loader (run-tests.sh installs qemu-user-static, binfmt-support and libc6:arm64 as root)");
        var repo = Arm64Build.Repo;
        using var scratch = new Scratch();
        var sw = Stopwatch.StartNew();
        var perflab = Path.Combine(Arm64Build.Publish(), "perflab");

        // Without the fix it refuses at once, naming it (exit 3: this host cannot run it as started).
        var refused = Run(perflab, repo, new() { ["DOTNET_EnableWriteXorExecute"] = "1" }, "env");
        Assert.Equal(3, refused.Code);
        Assert.Contains("DOTNET_EnableWriteXorExecute=0", refused.Out);

        // Nor without an arm64 view of /proc/cpuinfo where qemu-user shows the x86 host's (ONNX Runtime's CPU detection
        // segfaults on it): it writes one and names the variable that points qemu at it.
        var env = new Dictionary<string, string> { ["DOTNET_EnableWriteXorExecute"] = "0" };
        var cpuinfo = Run(perflab, repo, env, "env");
        if (cpuinfo.Code != 0)
        {
            Assert.Equal(3, cpuinfo.Code);
            var prefix = System.Text.RegularExpressions.Regex.Match(cpuinfo.Out, "QEMU_LD_PREFIX=(\\S+)").Groups[1].Value;
            Assert.True(File.Exists(Path.Combine(prefix, "proc", "cpuinfo")), "no arm64 cpuinfo view written: " + cpuinfo.Out);
            env["QEMU_LD_PREFIX"] = prefix;
        }

        var suite = scratch.Write("arm64.yaml", Arm64Build.TinySuite("arm64-qemu-user", agentTimeoutS: 600));
        var run = Run(perflab, repo, env, "run", "--suite", suite, "--results", scratch.Runs, "--plain");
        Assert.True(run.Code == 0, "the arm64 run failed: " + run.Out);
        var folder = Directory.GetDirectories(scratch.Runs).Single();
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "summary.json")));
        var cells = summary.RootElement.GetProperty("cells").EnumerateArray().ToList();
        Assert.Equal(4, cells.Count);
        Assert.All(cells, c => Assert.Equal("ok", c.GetProperty("status").GetString()));
        Assert.All(cells, c => Assert.Equal("emulated", c.GetProperty("evidence").GetString()));
        Assert.All(cells, c => Assert.StartsWith("qemu-user: arm64 code emulated on an x86-64 host", c.GetProperty("evidence_source").GetString()));
        foreach (var c in cells.Where(c => c.GetProperty("workload").GetString() == "tiny"))
            output.WriteLine($"tiny {c.GetProperty("platform").GetString()} under qemu-user: {c.GetProperty("result").GetProperty("tokens_per_s").GetDouble():0.0} tokens/s (offline)");
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "manifest.json")));
        Assert.Equal("arm64", manifest.RootElement.GetProperty("host").GetProperty("architecture").GetString());
        output.WriteLine($"arm64 tier under qemu-user: publish and run in {sw.Elapsed.TotalSeconds:0} s");
    }

    private static (int Code, string Out) Run(string file, string cwd, Dictionary<string, string>? env, params string[] args) =>
        Arm64Build.Run(file, cwd, args, TimeSpan.FromMinutes(15), env);
}
