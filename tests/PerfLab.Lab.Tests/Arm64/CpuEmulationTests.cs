using System.Runtime.InteropServices;
using PerfLab.Lab.Hosts;

namespace PerfLab.Lab.Tests.Arm64;

/// <summary>Telling an emulated CPU from a real one by what the process is and what /proc/cpuinfo describes.</summary>
public class CpuEmulationTests
{
    private const string X86CpuInfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9R14\nflags\t\t: fpu sse avx2\n";
    private const string ArmCpuInfo = "processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd sve\nCPU implementer\t: 0x41\nCPU part\t: 0xd40\n";

    [Fact]
    public void Arm64_code_on_an_x86_host_is_qemu_user_and_a_native_process_is_not()
    {
        Assert.Equal("qemu-user: arm64 code emulated on an x86-64 host (AMD EPYC 9R14)", CpuEmulation.Describe(Architecture.Arm64, X86CpuInfo));
        Assert.Equal("qemu-user: x86-64 code emulated on an arm64 host", CpuEmulation.Describe(Architecture.X64, ArmCpuInfo));
        Assert.Null(CpuEmulation.Describe(Architecture.X64, X86CpuInfo));
        Assert.Null(CpuEmulation.Describe(Architecture.Arm64, ArmCpuInfo));
        Assert.Null(CpuEmulation.Describe(Architecture.Arm64, "")); // no cpuinfo: no claim either way
    }

    [Fact]
    public void QEMUs_max_CPU_in_a_system_emulator_is_named_and_needs_the_same_W_X_fix()
    {
        // /proc/cpuinfo in Debian's arm64 kernel under qemu-system-aarch64 7.2 -M virt,virtualization=on -cpu max (recorded).
        const string tcgMax = "processor\t: 0\nBogoMIPS\t: 125.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics sve sve2\nCPU implementer\t: 0x00\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0x051\nCPU revision\t: 0\n";
        var emu = CpuEmulation.Describe(Architecture.Arm64, tcgMax);
        Assert.StartsWith("qemu-system TCG: an emulated arm64 CPU", emu);
        Assert.Contains("part 0x051", emu);
        // The system emulator ran stale JIT code too (the arm64 VM tier: a NullReferenceException inside a reflection
        // stub, a segfault at a freshly compiled method), so the same refusal applies there.
        Assert.Contains("DOTNET_EnableWriteXorExecute=0", CpuEmulation.WriteXorExecuteProblem(emu, null));
    }

    [Fact]
    public void Under_an_emulator_W_X_must_be_off_and_the_refusal_names_the_fix()
    {
        var emu = CpuEmulation.Describe(Architecture.Arm64, X86CpuInfo);
        Assert.Contains("DOTNET_EnableWriteXorExecute=0", CpuEmulation.WriteXorExecuteProblem(emu, null));
        Assert.Contains("DOTNET_EnableWriteXorExecute=0", CpuEmulation.WriteXorExecuteProblem(emu, "1"));
        Assert.Null(CpuEmulation.WriteXorExecuteProblem(emu, "0"));
        Assert.Null(CpuEmulation.WriteXorExecuteProblem(null, null));
    }

    [Fact]
    public void Arm64_code_under_qemu_user_needs_an_arm64_view_of_cpuinfo_that_keeps_the_host_named()
    {
        var emu = CpuEmulation.Describe(Architecture.Arm64, X86CpuInfo);
        var problem = CpuEmulation.CpuInfoProblem(Architecture.Arm64, emu, X86CpuInfo, "/c/root");
        Assert.Contains("QEMU_LD_PREFIX=/c/root", problem);
        Assert.Contains("/c/root/proc/cpuinfo", problem);

        var view = CpuEmulation.CpuInfoForArm64Code(X86CpuInfo + "\nprocessor\t: 1\nvendor_id\t: AuthenticAMD\n");
        // Every processor gets the emulated CPU's identification; nothing of the host's is dropped.
        Assert.Equal(2, view.Split('\n').Count(l => l.StartsWith("CPU implementer\t: 0x00", StringComparison.Ordinal)));
        Assert.All(X86CpuInfo.Split('\n'), l => Assert.Contains(l, view));
        // With the view in place: no refusal, still detected as qemu-user on the x86 host, the host's model still named.
        Assert.Null(CpuEmulation.CpuInfoProblem(Architecture.Arm64, emu, view, "/c/root"));
        Assert.Equal("qemu-user: arm64 code emulated on an x86-64 host (AMD EPYC 9R14)", CpuEmulation.Describe(Architecture.Arm64, view));
        Assert.Equal("AMD EPYC 9R14", HostProbe.CpuModel(view));
        // Not under qemu-user, or not arm64 code: nothing to fix.
        Assert.Null(CpuEmulation.CpuInfoProblem(Architecture.X64, null, X86CpuInfo, "/c/root"));
        Assert.Null(CpuEmulation.CpuInfoProblem(Architecture.Arm64, null, ArmCpuInfo, "/c/root"));
        Assert.Null(CpuEmulation.CpuInfoProblem(Architecture.Arm64, "qemu-system TCG: an emulated arm64 CPU", X86CpuInfo, "/c/root"));
    }

    [Fact]
    public void An_emulated_figure_names_the_emulator_before_its_calibration_profile()
    {
        var e = new PerfLab.Core.Results.EffectiveRealm();
        e.Set("cpu_emulation", "qemu-user: arm64 code emulated on an x86-64 host (AMD EPYC)");
        Assert.Equal("qemu-user: arm64 code emulated on an x86-64 host (AMD EPYC)", PerfLab.Core.Results.EvidenceSource.Of(PerfLab.Core.Suites.Evidence.Emulated, e));
        e.Set("calibration_profile", "kvm-pvm-measured");
        Assert.Equal("qemu-user: arm64 code emulated on an x86-64 host (AMD EPYC); calibration profile kvm-pvm-measured",
            PerfLab.Core.Results.EvidenceSource.Of(PerfLab.Core.Suites.Evidence.Emulated, e));
    }

    [Fact]
    public void An_arm64_host_is_named_by_its_implementer_and_part()
    {
        Assert.Equal("Arm Neoverse V2", HostProbe.CpuModel("processor\t: 0\nFeatures\t: fp asimd sve sve2 i8mm bf16\nCPU implementer\t: 0x41\nCPU part\t: 0xd4f\n"));
        Assert.Equal("Arm Neoverse N1", HostProbe.CpuModel(ArmCpuInfo.Replace("0xd40", "0xd0c")));
        Assert.Equal("implementer 0x61 part 0x000", HostProbe.CpuModel("CPU implementer\t: 0x61\nCPU part\t: 0x000\n"));
        Assert.Equal("AMD EPYC 9R14", HostProbe.CpuModel(X86CpuInfo));
    }
}
