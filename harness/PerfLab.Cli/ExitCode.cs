namespace PerfLab.Cli;

/// <summary>The process exit codes; CI jobs branch on these, so each means one thing.</summary>
public enum ExitCode
{
    /// <summary>Everything asked for ran; no regression.</summary>
    Ok = 0,
    /// <summary>The gate found a regression, a cell failed, or an attestation token was refused. Nothing else exits 1.</summary>
    Failed = 1,
    /// <summary>Bad input: a suite, a file, an option, a run folder or baseline that cannot be used. Nothing new was measured.</summary>
    BadInput = 2,
    /// <summary>This host cannot run what was asked (every cell skipped, a missing capability).</summary>
    Environment = 3,
    /// <summary>Results could not be written (read-only or full file system, a path that is a file): what was measured before is kept.</summary>
    CannotWrite = 4,
    /// <summary>A fault of PerfLab itself (a bug): one line says what, --verbose shows the stack trace.</summary>
    Internal = 70,
    /// <summary>Interrupted (Ctrl-C); the run folder is valid and marked interrupted.</summary>
    Interrupted = 130,
}

/// <summary>
/// The edge every command runs behind: an I/O or format error that escaped a command becomes its documented exit code
/// and one line naming the path and the cause; a stack trace reaches the user only with --verbose.
/// </summary>
public static class ErrorBoundary
{
    public static readonly string Codes =
        "Exit codes: 0 ok; 1 regression, failed cells or a refused token; 2 bad input; 3 this host cannot run it; 4 results could not be written; " +
        "70 internal error (a bug; --verbose shows where); 130 interrupted.";

    public static ExitCode Classify(Exception e, bool verbose, TextWriter stderr)
    {
        var (code, what) = e switch
        {
            OperationCanceledException => (ExitCode.Interrupted, "interrupted"),
            Results.ResultsFormatException or Core.Suites.SuiteValidationException or System.Text.Json.JsonException or FormatException
                => (ExitCode.BadInput, e.Message),
            FileNotFoundException f => (ExitCode.BadInput, $"{f.FileName ?? "a file"}: not found"),
            UnauthorizedAccessException or IOException => (ExitCode.CannotWrite, "could not write results: " + e.Message),
            _ => (ExitCode.Internal, $"internal error ({e.GetType().Name}: {e.Message}); this is a PerfLab bug, please report it with --verbose's output"),
        };
        stderr.WriteLine("error: " + what.Split('\n')[0]);
        if (verbose) stderr.WriteLine(e.ToString());
        else if (code == ExitCode.Internal) stderr.WriteLine("(run again with --verbose for the stack trace)");
        return code;
    }
}
