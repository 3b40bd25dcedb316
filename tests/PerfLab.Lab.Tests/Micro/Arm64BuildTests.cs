using System.Diagnostics;

namespace PerfLab.Lab.Tests.Micro;

/// <summary>wsbench also builds for arm64 (its hvc exit case and Realm probe), checked with Debian's cross compiler.</summary>
public class Arm64BuildTests
{
    [SkippableFact]
    public void Wsbench_cross_compiles_for_arm64()
    {
        var compiler = new[] { "/usr/bin/aarch64-linux-gnu-gcc", "/usr/local/bin/aarch64-linux-gnu-gcc" }.FirstOrDefault(File.Exists);
        Skip.If(compiler is null, "no aarch64-linux-gnu-gcc here (run-tests.sh installs gcc-aarch64-linux-gnu when run as root)");
        var native = PerfLab.Lab.Micro.NativeBuild.NativeDirectory();
        var build = Path.Combine(Path.GetTempPath(), "perflab-arm64-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            Run("cmake", "-S", native, "-B", build, "-DCMAKE_BUILD_TYPE=Release", $"-DCMAKE_TOOLCHAIN_FILE={Path.Combine(native, "toolchain-aarch64.cmake")}");
            Run("cmake", "--build", build, "--target", "wsbench");
            var elf = File.ReadAllBytes(Path.Combine(build, "wsbench"));
            Assert.Equal("\u007fELF", System.Text.Encoding.ASCII.GetString(elf, 0, 4));
            Assert.Equal(183, BitConverter.ToUInt16(elf, 18)); // e_machine: EM_AARCH64
        }
        finally
        {
            try { Directory.Delete(build, true); } catch (IOException) { }
        }
    }

    private static void Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', args)} failed: {err.Result}{output}");
    }
}
