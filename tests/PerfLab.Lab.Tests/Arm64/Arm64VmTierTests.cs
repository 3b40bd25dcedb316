using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace PerfLab.Lab.Tests.Arm64;

/// <summary>
/// Integration, the arm64 VM tier: a whole arm64 machine under qemu-system-aarch64 (TCG with EL2, so it has KVM of its
/// own), booted from a Debian root built by debootstrap and cached (tests/arm64-vm/). In it: the lab's linux-arm64 build
/// runs the tiny suite natively and in the emulated Realm, labelling every figure emulated by QEMU's CPU; wsbench's
/// arm64 VMM runs its exit and stage-2 fault cases on the guest's KVM; rsi_bench is built against the guest's own
/// kernel headers and refuses to load, saying this is not a Realm; and the vm backend boots a nested guest on that KVM
/// through the same QEMU command the cca backend adds its Realm object to. One boot does it all (about 10 minutes here;
/// the first run adds the root's build). run-tests.sh installs qemu-system-arm and debootstrap as root.
/// </summary>
public class Arm64VmTierTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [SkippableFact]
    public void The_arm64_VM_runs_the_lab_the_VMM_and_the_module_and_says_it_is_emulated_and_not_a_Realm()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.X64,
            "the arm64 VM tier emulates an arm64 machine on an x86-64 host (an arm64 host runs the lab natively)");
        Skip.If(Environment.GetEnvironmentVariable("PERFLAB_SKIP_ARM64_VM") == "1", "PERFLAB_SKIP_ARM64_VM=1");
        Skip.IfNot(Environment.UserName == "root", "debootstrap builds the guest's root as root (run-tests.sh runs as root in CI)");
        foreach (var tool in new[] { "/usr/bin/qemu-system-aarch64", "/usr/sbin/debootstrap", "/usr/bin/cpio" })
            Skip.IfNot(File.Exists(tool), $"{tool} is missing (run-tests.sh installs qemu-system-arm, debootstrap and cpio as root)");
        Skip.IfNot(File.Exists("/proc/sys/fs/binfmt_misc/qemu-aarch64"), "no qemu-aarch64 binfmt handler: debootstrap's second stage runs arm64 code");

        var repo = Arm64Build.Repo;
        // The root comes from Debian's mirror: a host that cannot reach it cannot run the tier (it says why, with the log).
        var root = Arm64Build.Run("bash", repo, [Path.Combine(repo, "tests", "arm64-vm", "build-root.sh")], TimeSpan.FromMinutes(40));
        Skip.If(root.Code != 0, "the arm64 VM's Debian root could not be built here: " + root.Out.Trim());
        using var scratch = new Scratch();
        var work = Path.Combine(scratch.Dir, "work");
        Directory.CreateDirectory(work);
        var sw = Stopwatch.StartNew();
        CopyDirectory(Arm64Build.Publish(), Path.Combine(work, "perflab"));
        File.Copy(Arm64Build.Wsbench(), Path.Combine(work, "wsbench"));
        CopyDirectory(Path.Combine(repo, "native", "kmod", "rsi_bench"), Path.Combine(work, "rsi_bench"));
        File.WriteAllText(Path.Combine(work, "suite.yaml"), Arm64Build.TinySuite("arm64-vm", agentTimeoutS: 900));
        File.WriteAllText(Path.Combine(work, "vm.yaml"), """
            name: arm64-vm-nested
            repetitions: 1
            seed: 1
            agent_timeout_s: 1200
            warmup_max_s: 5
            workloads: [{name: noop, kind: noop}]
            scenarios: [{type: offline, min_queries: 16, min_duration_s: 0}]
            matrix: {platform: vm, vcpus: 1, memory: 1g}
            """);
        var prepared = sw.Elapsed;
        var run = Arm64Build.Run("bash", repo, [Path.Combine(repo, "tests", "arm64-vm", "run.sh"), work], TimeSpan.FromMinutes(60));
        var console = ReadOr(Path.Combine(work, "console.log"));
        Assert.True(run.Code == 0, $"the arm64 VM did not finish (exit {run.Code}): {run.Out}\n--- console tail:\n{Tail(console)}");
        output.WriteLine($"arm64 VM tier: prepared in {prepared.TotalSeconds:0} s, VM {ReadOr(Path.Combine(work, "vm-seconds")).Trim()} s; steps: " +
                         string.Join(", ", Steps(console)));

        // The CPU is QEMU's, and the lab says so: implementer 0x00 is reserved for software.
        Assert.Contains("CPU implementer\t: 0x00", File.ReadAllText(Path.Combine(work, "cpuinfo.txt")));
        Assert.Contains("/dev/kvm", File.ReadAllText(Path.Combine(work, "kvm.txt")));

        // wsbench's arm64 VMM on the guest's KVM: the exit cases and the stage-2 fault cases run, with plausible figures.
        var cases = File.ReadAllLines(Path.Combine(work, "wsbench.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .ToDictionary(e => e.GetProperty("case").GetString()!);
        foreach (var c in new[] { "kvm.exit.mmio", "kvm.exit.hvc", "kvm.fault.h4k", "kvm.fault.thp" })
            Assert.True(cases.TryGetValue(c, out var e) && e.GetProperty("status").GetString() == "ok", $"{c}: {(cases.TryGetValue(c, out var x) ? x.ToString() : "absent")}");
        var mmio = cases["kvm.exit.mmio"];
        Assert.True(MedianUs(mmio) > 0, mmio.ToString());
        Assert.True(mmio.GetProperty("exits_to_userspace").GetInt64() > 0, "every MMIO store exits to the VMM");
        var h4k = cases["kvm.fault.h4k"];
        var pages = h4k.GetProperty("pages_touched").GetInt64();
        // On 4 KiB host pages every first touch is a stage-2 fault; a cold touch costs more than a warm one.
        Assert.InRange(h4k.GetProperty("faults").GetInt64(), pages * 9 / 10, pages * 2);
        Assert.True(h4k.GetProperty("cold_ticks_per_fault").GetDouble() > h4k.GetProperty("warm_median_ticks").GetDouble(), h4k.ToString());
        Assert.Equal(pages, h4k.GetProperty("stores_landed").GetInt64()); // every page was written, not one page many times
        // On THP the host page is 2 MiB and KVM maps a 2 MiB block: a fault per 512 pages, not per page.
        Assert.True(cases["kvm.fault.thp"].GetProperty("faults").GetInt64() < h4k.GetProperty("faults").GetInt64() / 10, cases["kvm.fault.thp"].ToString());
        Assert.Equal("skip", cases["kvm.realm.probe"].GetProperty("status").GetString()); // Debian's 6.1 kernel offers no Realms
        // Emulated figures (TCG runs the guest's EL2 and its guest), one run each; medians are net of the empty loop.
        output.WriteLine("wsbench in the arm64 VM (emulated, QEMU TCG): " + string.Join("; ", cases.Values.Where(e => e.GetProperty("status").GetString() == "ok")
            .Select(e => $"{e.GetProperty("case").GetString()} median {MedianUs(e):0.0} µs" +
                         (e.TryGetProperty("cold_ticks_per_fault", out var f)
                             ? $", {f.GetDouble() / e.GetProperty("tick_hz").GetDouble() * 1e6:0.0} µs per counted exit over {e.GetProperty("faults").GetInt64()} " +
                               $"(stage-2 faults and timer exits), {e.GetProperty("host_minor_faults").GetInt64()} host minor faults"
                             : ""))));

        // rsi_bench built against the guest's kernel headers, and its own verdict on loading.
        var build = File.ReadAllText(Path.Combine(work, "rsi-build.log"));
        Assert.Contains("build exit 0", build);
        var insmod = File.ReadAllText(Path.Combine(work, "rsi-insmod.txt"));
        Assert.Contains("not a Realm", insmod);
        Assert.DoesNotContain("insmod exit 0", insmod);

        // The lab's short suite, native and in the emulated Realm: every cell ok, every figure emulated by QEMU's CPU.
        Assert.True(ReadOr(Path.Combine(work, "suite.rc")).Trim() == "0", "the suite failed in the VM:\n" + Tail(ReadOr(Path.Combine(work, "suite.log"))));
        var folder = Directory.GetDirectories(Path.Combine(work, "runs")).Single();
        using (var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "summary.json"))))
        {
            var cells = summary.RootElement.GetProperty("cells").EnumerateArray().ToList();
            Assert.Equal(4, cells.Count);
            Assert.All(cells, c => Assert.Equal("ok", c.GetProperty("status").GetString()));
            Assert.All(cells, c => Assert.Equal("emulated", c.GetProperty("evidence").GetString()));
            Assert.All(cells, c => Assert.StartsWith("qemu-system TCG: an emulated arm64 CPU", c.GetProperty("evidence_source").GetString()));
            foreach (var c in cells.Where(c => c.GetProperty("workload").GetString() == "tiny"))
                output.WriteLine($"tiny {c.GetProperty("platform").GetString()} in the arm64 VM: {c.GetProperty("result").GetProperty("tokens_per_s").GetDouble().ToString("0.0", CultureInfo.InvariantCulture)} tokens/s (offline, one launch, emulated)");
        }
        using (var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "manifest.json"))))
            Assert.Equal("arm64", manifest.RootElement.GetProperty("host").GetProperty("architecture").GetString());

        // The vm backend's arm64 launch on the guest's nested KVM: the cca backend's command without its Realm object.
        Assert.True(ReadOr(Path.Combine(work, "vm.rc")).Trim() == "0", "the nested vm cell's run failed:\n" + Tail(ReadOr(Path.Combine(work, "vm.log"))));
        var vmFolder = Directory.GetDirectories(Path.Combine(work, "vm-runs")).Single();
        using var vmSummary = JsonDocument.Parse(File.ReadAllText(Path.Combine(vmFolder, "summary.json")));
        var vm = vmSummary.RootElement.GetProperty("cells").EnumerateArray().Single();
        Assert.True(vm.GetProperty("status").GetString() == "ok", "nested vm cell: " + vm);
        Assert.Equal("emulated", vm.GetProperty("evidence").GetString());
        output.WriteLine($"nested vm cell: launch {vm.GetProperty("phases_ms").GetProperty("launch").GetDouble() / 1000:0} s");
    }

    /// <summary>A wsbench case's median sample in microseconds (its samples are in ticks of tick_hz).</summary>
    private static double MedianUs(JsonElement e)
    {
        var ticks = e.GetProperty("samples").EnumerateArray().Select(x => x.GetDouble()).Order().ToList();
        return ticks.Count == 0 ? 0 : ticks[ticks.Count / 2] / e.GetProperty("tick_hz").GetDouble() * 1e6;
    }

    private static IEnumerable<string> Steps(string console)
    {
        var marks = console.Split('\n').Where(l => l.StartsWith("PERFLAB-STEP ", StringComparison.Ordinal))
            .Select(l => l.Split(' ')).Where(p => p.Length >= 3 && long.TryParse(p[2].Trim(), out _)).Select(p => (Name: p[1], At: long.Parse(p[2].Trim(), CultureInfo.InvariantCulture))).ToList();
        for (var i = 0; i + 1 < marks.Count; i++) yield return $"{marks[i].Name} {marks[i + 1].At - marks[i].At} s";
    }

    private static string ReadOr(string path) => File.Exists(path) ? File.ReadAllText(path) : "";

    private static string Tail(string text) => text.Length > 4000 ? text[^4000..] : text;

    private static void CopyDirectory(string from, string to)
    {
        foreach (var d in Directory.GetDirectories(from, "*", SearchOption.AllDirectories)) Directory.CreateDirectory(d.Replace(from, to));
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            File.Copy(f, f.Replace(from, to));
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(f.Replace(from, to), File.GetUnixFileMode(f));
        }
    }
}
