using PerfLab.Core.Results;
using PerfLab.Core.Suites;
using PerfLab.Core.Units;
using Spectre.Console;

namespace PerfLab.Lab.Progress;

/// <summary>Progress of a suite run as it happens. Only presentation: the runner never prints.</summary>
public interface IRunProgress
{
    void CellStarted(int index, int count, Cell cell);
    void CellProgress(double fraction);
    void CellFinished(CellResult result);
    void Note(string text);
}

/// <summary>Plain lines, for logs and CI (Spectre's bar prints nothing when output is redirected).</summary>
public sealed class PlainProgress(TextWriter output) : IRunProgress
{
    private int _lastDecile = -1;
    private string _prefix = "";

    public void CellStarted(int index, int count, Cell cell)
    {
        _prefix = $"[{index}/{count}]";
        _lastDecile = -1;
        output.WriteLine($"{_prefix} {cell.Id} ...");
    }

    public void CellProgress(double fraction)
    {
        var d = (int)(Math.Clamp(fraction, 0, 1) * 10);
        if (d <= _lastDecile || d == 10) return;
        _lastDecile = d;
        if (d > 0) output.WriteLine($"{_prefix} {d * 10}%");
    }

    public void CellFinished(CellResult r) => output.WriteLine($"{_prefix} {Describe(r)}");
    public void Note(string text) => output.WriteLine(text);

    public static string Describe(CellResult r)
    {
        if (r.Analysis is not { } a) return $"{r.StatusWord.ToUpperInvariant()} {r.Cell.Id}: {r.Reason}";
        if (r.Cell.Workload.Kind.Placement == WorkloadPlacement.Host)
        {
            var (metric, d) = a.Distributions.First();
            string F(double v) => metric == "bandwidth" ? $"{v / 1e9:0.##} GB/s" : PerfLab.Core.Units.Nanoseconds.Format(v);
            return $"{r.StatusWord} {r.Cell.Id}: {metric} p50 {F(d.Median.Value)} p99 {F(d.P99.Value)} (n {d.N}, {r.Evidence.Name()})";
        }
        var lat = a.Distributions.GetValueOrDefault("latency");
        var p50 = lat is null ? "–" : PerfLab.Core.Units.Nanoseconds.Format(lat.Median.Value);
        var p99 = lat is null ? "–" : PerfLab.Core.Units.Nanoseconds.Format(lat.P99.Value);
        return $"{r.StatusWord} {a.Validity.Word} {r.Cell.Id}: {a.QueriesCompleted} queries, latency p50 {p50} p99 {p99}, " +
               $"{a.QueriesPerSecond:0.#} q/s, {a.TokensPerSecond:0.#} tok/s ({r.Evidence.Name()})" +
               (r.Reason is { } why ? $" — {why}" : "") + (a.Validity.Valid ? "" : " — " + string.Join("; ", a.Validity.Reasons)) +
               (a.ScheduleNote is { } late ? " — " + late : "") + (r.Disturbed is { } busy ? $" — DISTURBED, {busy}" : "");
    }
}

/// <summary>A live Spectre.Console bar per cell, for a person at a terminal.</summary>
public sealed class SpectreProgress(ProgressContext context) : IRunProgress
{
    private ProgressTask? _task;

    public void CellStarted(int index, int count, Cell cell) =>
        _task = context.AddTask(Markup.Escape($"[{index}/{count}] {cell.Id}"), maxValue: 1.0);

    public void CellProgress(double fraction)
    {
        if (_task != null) _task.Value = Math.Clamp(fraction, 0, 1);
    }

    public void CellFinished(CellResult r)
    {
        if (_task != null) { _task.Value = 1; _task.StopTask(); }
        AnsiConsole.MarkupLine(Markup.Escape(PlainProgress.Describe(r)));
    }

    public void Note(string text) => AnsiConsole.MarkupLine(Markup.Escape(text));
}
