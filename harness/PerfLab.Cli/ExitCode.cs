namespace PerfLab.Cli;

/// <summary>The process exit codes; CI jobs branch on these.</summary>
public enum ExitCode
{
    /// <summary>Everything asked for ran; no regression.</summary>
    Ok = 0,
    /// <summary>The gate found a regression, or a cell failed.</summary>
    Failed = 1,
    /// <summary>Bad input: a suite, a file, an option. Nothing was measured.</summary>
    BadInput = 2,
    /// <summary>This host cannot run what was asked (every cell skipped, a missing capability).</summary>
    Environment = 3,
    /// <summary>Interrupted (Ctrl-C); the run folder is valid and marked interrupted.</summary>
    Interrupted = 130,
}
