using PerfLab.Lab.Os;
using System.Text.Json;

namespace PerfLab.Lab.Micro;

/// <summary>One case's line of wsbench output: its status, raw samples with their unit and counter frequency.</summary>
public sealed record WsbenchCase(string Name, string Status, string? Reason, string Unit, double TickHz, double EmptyTicks,
    double[] Samples, IReadOnlyDictionary<string, JsonElement> Extra, string RawJson)
{
    /// <summary>Samples in nanoseconds for tick units; unchanged for rates.</summary>
    public double[] Values => Unit == "ticks" ? Samples.Select(t => t / TickHz * 1e9).ToArray() : Samples;

    public static WsbenchCase Parse(string line)
    {
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        string Str(string k) => root.TryGetProperty(k, out var v) ? v.GetString() ?? "" : "";
        double Num(string k) => root.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : 0;
        var samples = root.TryGetProperty("samples", out var s) ? s.EnumerateArray().Select(x => x.GetDouble()).ToArray() : [];
        string[] known = ["case", "status", "reason", "unit", "tick_hz", "empty_ticks", "samples", "what"];
        var extra = root.EnumerateObject().Where(p => !known.Contains(p.Name)).ToDictionary(p => p.Name, p => p.Value.Clone());
        return new WsbenchCase(Str("case"), Str("status"), root.TryGetProperty("reason", out _) ? Str("reason") : null, Str("unit"),
            Num("tick_hz"), Num("empty_ticks"), samples, extra, line);
    }
}

/// <summary>Runs wsbench for one case and reads its line back.</summary>
public static class Wsbench
{
    public static IReadOnlyList<string> ListCases(string exe)
    {
        var (code, output, err) = Run(exe, ["--list"], TimeSpan.FromSeconds(30));
        if (code != 0) throw new NativeUnavailableException($"{exe} --list failed: {err}");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', 2)[0]).ToList();
    }

    public static WsbenchCase RunCase(string exe, string name, IReadOnlyList<int> cpus, TimeSpan timeout, double timeGoalMs)
    {
        var args = new List<string> { "--case", name, "--time-goal-ms", timeGoalMs.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (cpus.Count > 0) args.AddRange(["--cpu", cpus[0].ToString()]);
        var (code, output, err) = Run(exe, args, timeout);
        var line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(l => l.StartsWith('{'));
        if (line is null)
            return new WsbenchCase(name, "error", $"wsbench exited with code {code} and no result: {err.Trim()}", "", 0, 0, [], new Dictionary<string, JsonElement>(), "");
        return WsbenchCase.Parse(line);
    }

    private static (int, string, string) Run(string exe, IEnumerable<string> args, TimeSpan timeout)
    {
        var r = ProcessRunner.TryRun(exe, args, timeout) ?? throw new NativeUnavailableException($"{exe} cannot be started");
        return (r.ExitCode, r.Stdout, r.Stderr);
    }
}
