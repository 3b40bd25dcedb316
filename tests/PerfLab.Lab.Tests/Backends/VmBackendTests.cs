using PerfLab.Core.Results;
using PerfLab.Core.Suites;
using PerfLab.Lab.Backends;
using PerfLab.Lab.Backends.Launchers;
using PerfLab.Lab.Backends.Mechanics;

namespace PerfLab.Lab.Tests.Backends;

/// <summary>The vm backend for real: QEMU (TCG here) boots Debian's kernel and PerfLab's initramfs and the agent runs inside.</summary>
public class VmBackendTests
{
    private const string Yaml = """
        name: vm-test
        seed: 3
        agent_timeout_s: 300
        workloads:
          - {name: tiny, kind: llm, preset: tiny, samples: 8, input_tokens_mean: 16, input_tokens_max: 32, output_tokens_mean: 8, output_tokens_max: 16}
        scenarios:
          - {type: offline, min_queries: 8, min_duration_s: 0, max_duration_s: 600}
        matrix: {platform: [native, vm], vcpus: 1, memory: 2g}
        """;

    [SkippableFact]
    public void A_guest_runs_the_tiny_model_and_gives_the_native_tokens()
    {
        var why = VmImage.Problem();
        Skip.If(why != null, why);
        using var scratch = new Scratch();
        var outcome = scratch.Run(Yaml);
        var native = outcome.Cells.Single(c => c.Cell.Realm.Platform == Platform.Native);
        var vm = outcome.Cells.Single(c => c.Cell.Realm.Platform == Platform.Vm);
        Assert.Equal(CellStatus.Ok, vm.Status);
        Assert.Equal(8, vm.Analysis!.QueriesCompleted);
        Assert.Equal(native.EffectiveRealm["agent.tokens_digest"], vm.EffectiveRealm["agent.tokens_digest"]);
        Assert.Equal(QemuLauncher.Accel() == "kvm" ? Evidence.Measured : Evidence.Emulated, vm.Evidence);
        Assert.True(vm.PhasesMs[Phase.Launch] > 0 && vm.PhasesMs.Has(Phase.Teardown), "boot-to-agent and teardown are timed");
    }

    [SkippableFact]
    public void A_guest_whose_agent_dies_fails_its_cell_with_the_console_tail()
    {
        var why = VmImage.Problem();
        Skip.If(why != null, why);
        using var scratch = new Scratch();
        var outcome = scratch.Run("""
            name: vm-crash
            agent_timeout_s: 300
            workloads:
              - {name: crashing, kind: synthetic, output_tokens: 4, working_set_mib: 0}
            scenarios:
              - {type: single-stream, min_queries: 10, min_duration_s: 0, max_duration_s: 600}
            matrix: {platform: vm, vcpus: 1, memory: 1g}
            """, default, new FaultInjection(new Dictionary<string, string> { ["crashing"] = "crash:2" }));
        var cell = outcome.Cells.Single();
        Assert.Equal(CellStatus.Failed, cell.Status);
        Assert.Contains("PERFLAB-GUEST-UP", cell.StderrTail); // the guest's console, kept
        Assert.Contains("fault hook", cell.StderrTail);        // the agent's own last words, on that console
    }

    [SkippableFact]
    public void A_guest_that_cannot_boot_fails_its_cell_with_the_reason_and_the_suite_goes_on()
    {
        var why = VmImage.Problem();
        Skip.If(why != null, why);
        using var scratch = new Scratch();
        var old = Environment.GetEnvironmentVariable("PERFLAB_VM_KERNEL");
        Environment.SetEnvironmentVariable("PERFLAB_VM_KERNEL", "/etc/hostname"); // not a kernel
        try
        {
            var outcome = scratch.Run("""
                name: vm-noboot
                agent_timeout_s: 60
                workloads: [{name: w, kind: noop}]
                scenarios: [{type: single-stream, min_queries: 5, min_duration_s: 0}]
                matrix: {platform: [vm, native], memory: 1g}
                """);
            var vm = outcome.Cells.Single(c => c.Cell.Realm.Platform == Platform.Vm);
            Assert.Equal(CellStatus.Failed, vm.Status);
            Assert.Contains("launch failed", vm.Reason);
            Assert.Contains("qemu", vm.StderrTail, StringComparison.OrdinalIgnoreCase);
            Assert.Equal(CellStatus.Ok, outcome.Cells.Single(c => c.Cell.Realm.Platform == Platform.Native).Status);
        }
        finally
        {
            Environment.SetEnvironmentVariable("PERFLAB_VM_KERNEL", old);
        }
    }
}
