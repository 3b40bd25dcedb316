using System.Diagnostics;

namespace PerfLab.Lab.Tests.Arm64;

/// <summary>What both arm64 tiers run, built once per test run: the lab published for linux-arm64 (self-contained) and
/// wsbench cross-built static for arm64 with Debian's cross compiler.</summary>
internal static class Arm64Build
{
    public static string Repo { get; } = PerfLab.Lab.Os.RepoPaths.FindUpwards("harness", "PerfLab.Cli/PerfLab.Cli.csproj") is { } h
        ? Path.GetDirectoryName(h)! : throw new InvalidOperationException("no repository above the tests");

    private static readonly string Root = Path.Combine(Path.GetTempPath(), $"perflab-arm64-{Environment.ProcessId}");
    private static readonly Lazy<string> Published = new(() =>
    {
        var dir = Path.Combine(Root, "publish");
        var pub = Run("dotnet", Repo, ["publish", Path.Combine(Repo, "harness", "PerfLab.Cli"), "-c", "Release", "-r", "linux-arm64", "--self-contained",
            "-o", dir, "-v", "quiet", "-nologo"], TimeSpan.FromMinutes(15));
        return pub.Code == 0 ? dir : throw new InvalidOperationException("publish for linux-arm64 failed: " + pub.Out);
    });
    private static readonly Lazy<string> CrossWsbench = new(() =>
    {
        var build = Path.Combine(Root, "wsbench");
        var native = Path.Combine(Repo, "native");
        var conf = Run("cmake", Repo, ["-S", native, "-B", build, "-DCMAKE_BUILD_TYPE=Release", "-DCMAKE_EXE_LINKER_FLAGS=-static",
            "-DCMAKE_TOOLCHAIN_FILE=" + Path.Combine(native, "toolchain-aarch64.cmake")], TimeSpan.FromMinutes(5));
        var make = conf.Code == 0 ? Run("cmake", Repo, ["--build", build], TimeSpan.FromMinutes(5)) : conf;
        return make.Code == 0 ? Path.Combine(build, "wsbench") : throw new InvalidOperationException("cross-building wsbench for arm64 failed: " + make.Out);
    });

    /// <summary>The folder of the linux-arm64 publish (its `perflab` is the lab).</summary>
    public static string Publish() => Published.Value;

    /// <summary>wsbench for arm64, statically linked so it runs in any arm64 root.</summary>
    public static string Wsbench() => CrossWsbench.Value;

    /// <summary>The short suite both tiers run: the tiny model and a noop SUT, natively and in the emulated Realm.</summary>
    public static string TinySuite(string name, int agentTimeoutS) => $$"""
        name: {{name}}
        repetitions: 1
        seed: 1
        agent_timeout_s: {{agentTimeoutS}}
        warmup_max_s: 5
        workloads:
          - {name: tiny, kind: llm, preset: tiny, samples: 8, input_tokens_mean: 16, input_tokens_max: 32, output_tokens_mean: 8, output_tokens_max: 16}
          - {name: noop, kind: noop}
        scenarios:
          - {type: offline, min_queries: 16, min_duration_s: 0}
        matrix: {platform: [native, cca-emulated], vcpus: 1}
        """;

    public static (int Code, string Out) Run(string file, string cwd, IEnumerable<string> args, TimeSpan timeout, Dictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = cwd };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? []) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(timeout)) { p.Kill(true); return (-1, "timed out: " + output + err.Result); }
        return (p.ExitCode, output + err.Result);
    }
}
