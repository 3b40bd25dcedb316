using PerfLab.Lab.Os;

namespace PerfLab.Lab.Micro;

/// <summary>This host cannot build or run the native microbenchmarks (no compiler, no CMake, no native/ folder).</summary>
public sealed class NativeUnavailableException(string message) : Exception(message);

/// <summary>Finds native/ and builds wsbench with CMake when it is missing or older than its sources.</summary>
public static class NativeBuild
{
    public static string NativeDirectory()
    {
        if (Environment.GetEnvironmentVariable("PERFLAB_NATIVE_DIR") is { Length: > 0 } d) return d;
        return RepoPaths.FindUpwards("native", "CMakeLists.txt") ?? throw new NativeUnavailableException("cannot find native/CMakeLists.txt above the perflab binary or the current folder; set PERFLAB_NATIVE_DIR");
    }

    /// <summary>The path of a wsbench binary built from the current sources.</summary>
    public static string EnsureWsbench()
    {
        var native = NativeDirectory();
        var build = Path.Combine(native, "build");
        var exe = Path.Combine(build, "wsbench");
        var newestSource = Directory.GetFiles(native, "*", SearchOption.AllDirectories)
            .Where(f => !f.StartsWith(build + Path.DirectorySeparatorChar) && (f.EndsWith(".c") || f.EndsWith(".h") || f.EndsWith(".S") || f.EndsWith("CMakeLists.txt")))
            .Max(File.GetLastWriteTimeUtc);
        if (File.Exists(exe) && File.GetLastWriteTimeUtc(exe) >= newestSource) return exe;
        Run("cmake", ["-S", native, "-B", build, "-DCMAKE_BUILD_TYPE=Release"]);
        Run("cmake", ["--build", build, "--target", "wsbench", "-j", Environment.ProcessorCount.ToString()]);
        if (!File.Exists(exe)) throw new NativeUnavailableException($"the build finished without {exe}");
        return exe;
    }

    private static void Run(string file, string[] args)
    {
        var r = ProcessRunner.TryRun(file, args, TimeSpan.FromMinutes(10))
                ?? throw new NativeUnavailableException($"{file} is not installed; the native microbenchmarks need cmake and a C compiler (apt-get install cmake gcc)");
        if (!r.Ok) throw new NativeUnavailableException($"{file} {string.Join(' ', args)} failed (exit {r.ExitCode}): {r.Output}");
    }
}
