using PerfLab.Cli;
using PerfLab.Cli.Commands;
using PerfLab.Core.Results;
using PerfLab.Lab.Micro;

using PerfLab.Results;

namespace PerfLab.Lab.Tests.Micro;

/// <summary>native/wsbench, built with CMake and run for real: its KVM cases where /dev/kvm works, its host references everywhere.</summary>
public class MicroTests
{
    private static string Exe() => NativeBuild.EnsureWsbench();

    [SkippableFact]
    public void KVM_counts_as_many_exits_as_the_guest_made()
    {
        var r = Wsbench.RunCase(Exe(), "kvm.exit.pio", [], TimeSpan.FromMinutes(2), 20);
        Skip.If(r.Status == "skip", r.Reason);
        Assert.Equal("ok", r.Status);
        var iterations = (long)r.Extra["iterations"].GetDouble();
        Assert.Equal(iterations, r.Samples.Length);
        Assert.Equal(iterations, r.Extra["exits_to_userspace"].GetInt64());
        // KVM's own counter: the guest's exits plus a handful of its own (entry, the done port) and one for each host
        // interrupt that lands while the guest runs — more on a busy host: 1,041 for 1,024 while the other tests ran (an
        // Intel host with /dev/kvm, 2026-11-29). Never fewer than the guest's own; never many more.
        var kvm = r.Extra["kvm_exits"].GetInt64();
        Assert.InRange(kvm, iterations, iterations + 8 + iterations / 10);
        Assert.True(r.TickHz > 1e8, "the counter frequency is reported");
    }

    [SkippableFact]
    public void Exit_and_fault_cases_through_the_harness_are_well_formed_and_plausible()
    {
        using var scratch = new Scratch();
        var stdout = new StringWriter();
        var code = MicroCommand.Execute(["kvm.exit.pio", "kvm.exit.pio-kernel", "kvm.fault.h4k-g4k", "kvm.fault.thp-g2m"], false, scratch.Runs, "auto",
            stdout, TextWriter.Null, default);
        Skip.If(code == ExitCode.Environment, "no KVM here: " + stdout);
        Assert.Equal(ExitCode.Ok, code);
        var run = Directory.GetDirectories(scratch.Runs).Single();
        var side = GateSides.Load(run);
        double Median(string cellPrefix)
        {
            var all = side.Input.Cells.Single(c => c.Key.StartsWith(cellPrefix)).Value["op_cost"].SelectMany(l => l).Order().ToArray();
            return all[all.Length / 2];
        }
        var user = Median("kvm_exit_pio.");
        var kernel = Median("kvm_exit_pio-kernel.");
        Assert.True(kernel > 0 && user > kernel, $"an exit to userspace ({user:0} ns) costs more than one completed in the kernel ({kernel:0} ns)");

        var manifest = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(run, "manifest.json")))!;
        // Each launch's record: the first launch's fault count.
        long Faults(string prefix) => long.Parse(manifest["cells"]!.AsArray().First(c => c!["id"]!.GetValue<string>().StartsWith(prefix))!["effective_realm"]!["wsbench.faults"]!.GetValue<string>());
        var small = Faults("kvm_fault_h4k-g4k.");
        var large = Faults("kvm_fault_thp-g2m.");
        Assert.True(small >= 16384, $"every 4 KiB page of 64 MiB faults once: {small}");
        Assert.True(large * 100 <= small, $"2 MiB backing with 2 MiB guest mappings takes ≥ 100× fewer faults: {large} vs {small}");
        Assert.True(File.Exists(Path.Combine(run, "cells", side.Input.Cells.Keys.First(k => k.StartsWith("kvm_exit_pio.")), "launch-1", "wsbench.json")));
    }

    [Fact]
    public void An_unknown_case_exits_2_listing_the_valid_ones()
    {
        var err = new StringWriter();
        Assert.Equal(ExitCode.BadInput, MicroCommand.Execute(["kvm.exit.teleport"], false, Path.GetTempPath(), "auto", TextWriter.Null, err, default));
        Assert.Contains("'kvm.exit.teleport'", err.ToString());
        Assert.Contains("kvm.exit.pio", err.ToString());
        Assert.Contains("host.syscall", err.ToString());
    }

    [Fact]
    public void Without_KVM_the_host_references_run_and_the_VMM_cases_skip_with_the_reason()
    {
        using var scratch = new Scratch();
        var old = Environment.GetEnvironmentVariable("WSBENCH_KVM_DEVICE");
        Environment.SetEnvironmentVariable("WSBENCH_KVM_DEVICE", "/nonexistent/kvm");
        try
        {
            Assert.Equal(ExitCode.Ok, MicroCommand.Execute(["host.syscall", "kvm.exit.pio", "kvm.fault.thp-g2m"], false, scratch.Runs, "none",
                TextWriter.Null, TextWriter.Null, default));
            var manifest = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(Directory.GetDirectories(scratch.Runs).Single(), "manifest.json")))!;
            // A record per launch; the first of each cell will do (a skipped cell has just one).
            var cells = manifest["cells"]!.AsArray().GroupBy(c => c!["id"]!.GetValue<string>().Split('.')[0]).ToDictionary(g => g.Key, g => g.First()!);
            Assert.Equal("ok", cells["host_syscall"]["status"]!.GetValue<string>());
            Assert.Equal("skipped", cells["kvm_exit_pio"]["status"]!.GetValue<string>());
            Assert.Contains("no /dev/kvm", cells["kvm_exit_pio"]["reason"]!.GetValue<string>());
            Assert.Equal("skipped", cells["kvm_fault_thp-g2m"]["status"]!.GetValue<string>());
        }
        finally
        {
            Environment.SetEnvironmentVariable("WSBENCH_KVM_DEVICE", old);
        }
    }
}
