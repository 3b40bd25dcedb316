using System.CommandLine;
using PerfLab.Core.Attestation;
using PerfLab.Results.Schema;

namespace PerfLab.Cli.Commands;

/// <summary>`perflab audit verify`: a run's audit log checked line by line against its hash chain and its head.</summary>
public static class AuditCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var path = new Argument<string>("log") { Description = "a run folder or its audit.jsonl" };
        var head = new Option<string?>("--head") { Description = "the head hash to hold the log to (default: audit.head beside it)" };
        var verify = new Command("verify", "Check a run's audit log: every line's hash, the sequence and the chain, and the head kept beside it\n" +
                                           "(so lines cut from the end show). Exit 0 intact, 1 with the first line that breaks it, 2 bad input.\n" +
                                           "Example: perflab audit verify results/runs/20261129T010000Z-mission")
        {
            path, head,
        };
        verify.SetAction(p => (int)Verify(p.GetValue(path)!, p.GetValue(head), stdout, stderr));
        return new Command("audit", "The run's append-only audit log (attestations, verifications, model loads, Realm lifecycles).") { verify };
    }

    public static ExitCode Verify(string path, string? head, TextWriter stdout, TextWriter stderr)
    {
        var log = Directory.Exists(path) ? Path.Combine(path, RunFiles.Audit) : path;
        if (!File.Exists(log))
        {
            stderr.WriteLine($"error: {log}: not found (a run folder written by this version has {RunFiles.Audit})");
            return ExitCode.BadInput;
        }
        var headFile = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(log))!, RunFiles.AuditHead);
        head ??= File.Exists(headFile) ? File.ReadAllText(headFile).Trim() : null;
        var check = AuditLog.Verify(File.ReadAllLines(log), head);
        if (!check.Intact)
        {
            stdout.WriteLine($"BROKEN at line {check.BadLine}: {check.Why}");
            return ExitCode.Failed;
        }
        stdout.WriteLine($"intact: {check.Lines} entries, head {check.Head}{(head is null ? " (no head to hold it to: a cut tail would not show)" : "")}");
        return ExitCode.Ok;
    }
}
