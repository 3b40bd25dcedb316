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

    /// <summary>
    /// Why arm64 code under this emulator cannot load ONNX Runtime, or null when it can. qemu-user 7.2 (Debian 12's) shows
    /// arm64 code the x86 host's /proc/cpuinfo; ONNX Runtime's CPU detection (pytorch cpuinfo, run when the library
    /// loads) finds processors without an implementer or part there and dereferences null: SIGSEGV before any inference
    /// (seen on an Intel Xeon host: `perflab serve` and every llm cell died at load; with the identification lines below
    /// added it served). qemu-user reads absolute paths under QEMU_LD_PREFIX first, so a copy of the host's cpuinfo with
    /// the emulated CPU's identification added fixes it without hiding the host: its model name stays first.
    /// </summary>
    public static string? CpuInfoProblem(Architecture process, string? emulation, string cpuinfo, string fixRoot) =>
        process != Architecture.Arm64 || emulation is null || !emulation.StartsWith("qemu-user", StringComparison.Ordinal)
        || cpuinfo.Contains("CPU implementer", StringComparison.Ordinal)
            ? null
            : $"this perflab runs under {emulation}, which shows arm64 code the host's x86 /proc/cpuinfo; ONNX Runtime's CPU " +
              $"detection crashes on it (SIGSEGV at load). A copy with the emulated CPU's identification added is at {fixRoot}/proc/cpuinfo: " +
              $"run with QEMU_LD_PREFIX={fixRoot} in the environment (qemu-user reads it instead), or use a qemu-user that emulates /proc/cpuinfo";

    /// <summary>
    /// The host's cpuinfo with, after each processor line, the identification of qemu's default arm64 CPU (`max`: implementer
    /// 0x00, which the architecture reserves for software, part 0x051) and a line saying whose view this is. Features are
    /// left out: ONNX Runtime takes them from the auxiliary vector, which qemu-user emulates.
    /// </summary>
    public static string CpuInfoForArm64Code(string hostCpuinfo) =>
        string.Join('\n', hostCpuinfo.Split('\n').SelectMany(l => l.StartsWith("processor", StringComparison.Ordinal)
            ? new[] { l, "CPU implementer\t: 0x00", "CPU architecture: 8", "CPU variant\t: 0x0", "CPU part\t: 0x051", "CPU revision\t: 0",
                      "emulated by\t: qemu-user (arm64 identification added by perflab; the rest is the x86-64 host's)" }
            : [l]));

    /// <summary>
    /// Refusal text when this process runs arm64 code under qemu-user without an arm64 view of /proc/cpuinfo, after writing
    /// that view under <paramref name="fixRoot"/> so the fix is one variable away; null when nothing is wrong.
    /// </summary>
    public static string? CheckCpuInfo(string fixRoot)
    {
        if (!OperatingSystem.IsLinux()) return null;
        var cpuinfo = ReadCpuInfo();
        if (CpuInfoProblem(RuntimeInformation.ProcessArchitecture, Current, cpuinfo, fixRoot) is not { } problem) return null;
        try
        {
            Directory.CreateDirectory(Path.Combine(fixRoot, "proc"));
            File.WriteAllText(Path.Combine(fixRoot, "proc", "cpuinfo"), CpuInfoForArm64Code(cpuinfo));
            return problem;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return problem.Split(" A copy ")[0] + $". Writing an arm64 view to {fixRoot}/proc/cpuinfo failed ({e.Message}); " +
                   "put the host's cpuinfo there with 'CPU implementer : 0x00' and 'CPU part : 0x051' after each processor line and run with QEMU_LD_PREFIX set to that folder";
        }
    }

    private static string ReadCpuInfo()
    {
        try { return File.ReadAllText("/proc/cpuinfo"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return ""; }
    }
}
