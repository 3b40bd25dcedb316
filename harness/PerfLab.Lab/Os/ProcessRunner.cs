using System.ComponentModel;
using System.Diagnostics;

namespace PerfLab.Lab.Os;

/// <summary>How a program run to completion ended: its exit code and both outputs, or that it ran out of time.</summary>
public sealed record ProcessResult(int ExitCode, string Stdout, string Stderr, bool TimedOut)
{
    public bool Ok => ExitCode == 0 && !TimedOut;
    /// <summary>Both outputs, for messages that quote what the program said.</summary>
    public string Output => (Stdout + Stderr).Trim();
}

/// <summary>
/// The one way the lab runs a helper program to completion (cmake, wsbench, git, a launcher's --help, the model
/// builder): both outputs read concurrently so neither pipe fills, bounded in time, killed with its children when late.
/// Long-lived processes with a channel (the agent) are AgentProcess's business, not this.
/// </summary>
public static class ProcessRunner
{
    /// <summary>Runs <paramref name="file"/>; null when it is not installed (the caller says what to install).</summary>
    public static ProcessResult? TryRun(string file, IEnumerable<string> args, TimeSpan timeout, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (workingDirectory != null) psi.WorkingDirectory = workingDirectory;
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (Win32Exception) { return null; }
        using (p)
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(timeout))
            {
                try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                p.WaitForExit();
                return new ProcessResult(-1, stdout.Result, stderr.Result + $"\n(timed out after {timeout.TotalSeconds:0.#} s)", true);
            }
            p.WaitForExit(); // drains both outputs
            return new ProcessResult(p.ExitCode, stdout.Result, stderr.Result, false);
        }
    }

    /// <summary>Starts a helper that runs beside a cell (a co-tenant) and is killed by the caller; its outputs are discarded.</summary>
    public static Process StartBackground(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }
}

/// <summary>Finds the lab's own folders (native/, bench/profiles/) above the binary or the current folder.</summary>
public static class RepoPaths
{
    /// <summary>The first folder named <paramref name="relative"/> found walking up from the binary, then from the current folder.</summary>
    public static string? FindUpwards(string relative, string? marker = null)
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, relative);
                if (marker is null ? Directory.Exists(candidate) : File.Exists(Path.Combine(candidate, marker))) return candidate;
            }
        return null;
    }
}
