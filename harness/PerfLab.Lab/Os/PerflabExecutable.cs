namespace PerfLab.Lab.Os;

/// <summary>Finds how to start `perflab` (its agent, its model builder) from wherever we run: the CLI, a test, a benchmark.</summary>
public static class PerflabExecutable
{
    /// <summary>Executable and the arguments that come before the subcommand; PERFLAB_AGENT overrides (a path to a perflab executable).</summary>
    public static (string File, string[] Args) Resolve()
    {
        if (Environment.GetEnvironmentVariable("PERFLAB_AGENT") is { Length: > 0 } custom) return (custom, []);
        var dir = AppContext.BaseDirectory;
        var apphost = Path.Combine(dir, "perflab");
        if (File.Exists(apphost)) return (apphost, []);
        var dll = Path.Combine(dir, "perflab.dll");
        if (File.Exists(dll)) return ("dotnet", [dll]);
        throw new FileNotFoundException($"cannot find the perflab agent next to {dir} (looked for perflab and perflab.dll); build harness/PerfLab.Cli or set PERFLAB_AGENT");
    }
}
