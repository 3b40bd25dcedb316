using System.Runtime.InteropServices;

namespace PerfLab.Lab.Hosts;

/// <summary>
/// Whether this process's code runs on a CPU of its own architecture or under a user-mode emulator (qemu-user through
/// binfmt: arm64 code on an x86-64 host, or the reverse) or in a system emulator. The user-mode emulator passes the
/// host's /proc/cpuinfo through, so the process architecture and the CPU it describes disagree. QEMU's system emulator
/// (TCG) with `-cpu max` gives its CPU the implementer code 0x00, which the architecture reserves for software: no
/// silicon reports it. Every figure measured under an emulator is the emulator's, not the architecture's: evidence
/// `emulated`, with this description as its source.
/// </summary>
public static class CpuEmulation
{
    private static readonly Lazy<string?> Detected = new(() =>
        OperatingSystem.IsLinux() ? Describe(RuntimeInformation.ProcessArchitecture, ReadCpuInfo()) : null);

    /// <summary>Null on a CPU of the process's own architecture; else what emulates what (and the host CPU's model).</summary>
    public static string? Current => Detected.Value;

    public static string? Describe(Architecture process, string cpuinfo)
    {
        var lines = cpuinfo.Split('\n');
        string? Field(string key) => lines.FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal) && l.Contains(':'))?.Split(':', 2)[1].Trim();
        var x86Host = Field("vendor_id") is not null;
        var armHost = Field("CPU implementer") is not null;
        if (process == Architecture.Arm64 && x86Host)
            return $"qemu-user: arm64 code emulated on an x86-64 host ({Field("model name") ?? "unknown CPU"})";
        if (process == Architecture.X64 && armHost)
            return "qemu-user: x86-64 code emulated on an arm64 host";
        if (process == Architecture.Arm64 && Field("CPU implementer") is "0x00")
            return $"qemu-system TCG: an emulated arm64 CPU (QEMU's max model, part {Field("CPU part") ?? "?"}; implementer 0x00 is software's)";
        return null;
    }

    /// <summary>
    /// Why a .NET process cannot run correctly under an emulator with the runtime's default W^X code mapping, or null when
    /// it can. qemu-user invalidates its translations when a guest writes to a code page through that page's address;
    /// .NET's JIT writes code through a second, writable mapping of the same memory, so qemu keeps running the old
    /// translation of reused code memory (bench/repro/qemu-user-wx: 2,687 of 3,000 compiled lambdas returned another's
    /// value with W^X on, none with it off). QEMU's system emulator ran stale code as well (the arm64 VM tier: an
    /// unhandled NullReferenceException inside a reflection stub, a segfault at a freshly compiled method).
    /// </summary>
    public static string? WriteXorExecuteProblem(string? emulation, string? wxVariable) =>
        emulation is null || wxVariable == "0" ? null
            : $"this perflab runs under {emulation}, where .NET's W^X code mapping makes the emulator run stale code (wrong results, " +
              "NullReferenceExceptions, crashes); run it with DOTNET_EnableWriteXorExecute=0 in the environment";

    private static string ReadCpuInfo()
    {
        try { return File.ReadAllText("/proc/cpuinfo"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return ""; }
    }
}
