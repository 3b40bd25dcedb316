using PerfLab.Results;
namespace PerfLab.Report.Tests;

/// <summary>The recorded runs, copied to a fresh folder per test so a test may damage its copy.</summary>
public sealed class RecordedRuns : IDisposable
{
    public const string Overhead = "20261124T222555Z-overhead", Micro = "20261124T215055Z-micro", Quick = "20261124T231821Z-quick";
    /// <summary>A rate sweep of the openai workload (the synthetic engine over HTTP at 20, 80 and 200 QPS).</summary>
    public const string Sweep = "20261129T133645Z-openai-sweep";
    public static readonly string[] All = [Overhead, Micro, Quick, Sweep];
    /// <summary>The default suite (mission.yaml), its report's answer and its Realm counts: kept apart from All, whose charts it would only repeat.</summary>
    public const string Mission = "20261128T220523Z-mission";

    public string Dir { get; } = Path.Combine(Path.GetTempPath(), "perflab-report-tests", Guid.NewGuid().ToString("N")[..12]);

    public RecordedRuns()
    {
        foreach (var run in Directory.GetDirectories(Path.Combine(AppContext.BaseDirectory, "Recorded")))
            Copy(run, Path.Combine(Dir, Path.GetFileName(run)));
    }

    public string Folder(string run) => Path.Combine(Dir, run);

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (var d in Directory.GetDirectories(from)) Copy(d, Path.Combine(to, Path.GetFileName(d)));
    }

    public IReadOnlyList<RunData> Load(params string[] runs) => runs.Select(r => RunFolderReader.Read(Folder(r), ReadMode.Tolerant)).ToList();

    /// <summary>The repository root, for outputs a person should find (screenshots).</summary>
    public static string RepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d != null && !File.Exists(Path.Combine(d.FullName, "PerfLab.sln"))) d = d.Parent;
        return d?.FullName ?? Path.GetTempPath();
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, true); } catch (IOException) { }
    }
}

/// <summary>Runs a program to its end (stdin closed, both outputs read) or kills it at the timeout.</summary>
public static class TestProcess
{
    public static (int Code, string Stdout, string Stderr) Run(string file, IEnumerable<string> args, string? workingDir = null, int timeoutS = 300)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(file)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
            WorkingDirectory = workingDir ?? "",
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutS * 1000))
        {
            p.Kill(true);
            throw new TimeoutException($"{file} did not finish within {timeoutS} s");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
