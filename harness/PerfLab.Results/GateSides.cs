using System.Text.Json;
using PerfLab.Core.Analysis;
using PerfLab.Core.Gate;
using PerfLab.Core.Suites;
using PerfLab.Results.Schema;

namespace PerfLab.Results;

/// <summary>What the gate needs from one side: metric samples per successful cell, and the suite's gate settings.</summary>
public sealed record GateSide(GateInput Input, GateSpec? Spec, string Suite)
{
    /// <summary>The host the samples were measured on (null for a baseline recorded before baselines named theirs).</summary>
    public HostEnvironment? Host { get; init; }
}

/// <summary>Reads a gate's two sides: run folders (strictly) or baseline files, and writes baseline files deliberately.</summary>
public static class GateSides
{
    /// <summary>A run folder (manifest.json + samples.csv) or a baseline JSON file written by --update-baseline.</summary>
    public static GateSide Load(string path)
    {
        if (Directory.Exists(path)) return FromRun(RunFolderReader.Read(path, ReadMode.Strict));
        if (File.Exists(path)) return LoadBaseline(path);
        throw new ResultsFormatException($"{path}: no such run folder or baseline file; give results/runs/<run-id> or results/baselines/<name>.json");
    }

    /// <summary>The gateable metrics of every ok cell; a capacity search is judged on its capacity, never on its latencies.</summary>
    public static GateSide FromRun(RunData run)
    {
        var m = run.Manifest ?? throw new ResultsFormatException($"{run.Folder}: no readable manifest");
        var requested = m.ExpandedCells.ToDictionary(c => c.Id);
        var cells = new Dictionary<string, IReadOnlyDictionary<string, double[]>>();
        foreach (var c in m.Cells.Where(c => c.Status == "ok"))
        {
            if (!requested.TryGetValue(c.Id, out var r) || r.ScenarioSettings?.Search != null || !run.Samples.TryGetValue(c.Id, out var metrics)) continue;
            var kind = ScenarioNames.All.GetValueOrDefault(r.ScenarioKind);
            cells[c.Id] = metrics.Where(kv => Metrics.IsGateable(kind, kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value);
        }
        var disturbed = m.Cells.Where(c => c.Disturbed != null && cells.ContainsKey(c.Id)).ToDictionary(c => c.Id, c => c.Disturbed!);
        return new GateSide(new GateInput(Path.GetFileName(Path.TrimEndingDirectorySeparator(run.Folder)), cells) { HostClass = m.Host?.HostClass, Disturbed = disturbed },
            m.Suite.Gate, m.Suite.Name) { Host = m.Host };
    }

    private sealed record BaselineFile(int Schema, string Suite, string Source, string CreatedUtc, GateSpec? Gate,
        Dictionary<string, Dictionary<string, double[]>> Cells)
    {
        /// <summary>Where the samples were measured; absent in baselines written before it was recorded (then: unknown host).</summary>
        public HostEnvironment? Host { get; init; }
        public Dictionary<string, string>? Disturbed { get; init; }
    }

    private static GateSide LoadBaseline(string file)
    {
        BaselineFile? b;
        try { b = JsonSerializer.Deserialize<BaselineFile>(File.ReadAllText(file), RunFiles.Json); }
        catch (JsonException e) { throw new ResultsFormatException($"{file}: not a PerfLab baseline ({e.Message})"); }
        if (b is null || b.Cells is null) throw new ResultsFormatException($"{file}: not a PerfLab baseline (no cells)");
        if (!RunFiles.ReadableSchemas.Contains(b.Schema))
            throw new ResultsFormatException($"{file}: baseline schema {b.Schema}, this PerfLab reads {string.Join(" and ", RunFiles.ReadableSchemas.Order())}; write it again with perflab gate --update-baseline");
        var cells = b.Cells.ToDictionary(kv => kv.Key, kv => (IReadOnlyDictionary<string, double[]>)kv.Value);
        return new GateSide(new GateInput(Path.GetFileName(file), cells) { HostClass = b.Host?.HostClass, Disturbed = b.Disturbed ?? [] }, b.Gate, b.Suite) { Host = b.Host };
    }

    /// <summary>Writes a candidate's samples as a baseline file, deliberately (only --update-baseline calls this).</summary>
    public static void WriteBaseline(GateSide candidate, string file, string source)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        var b = new BaselineFile(RunFiles.SchemaVersion, candidate.Suite, source, DateTime.UtcNow.ToString("O"), candidate.Spec,
            candidate.Input.Cells.ToDictionary(kv => kv.Key, kv => kv.Value.ToDictionary(m => m.Key, m => m.Value)))
        {
            Host = candidate.Host, Disturbed = candidate.Input.Disturbed.ToDictionary(),
        };
        RunFolderWriter.WriteAtomic(file, JsonSerializer.Serialize(b, new JsonSerializerOptions(RunFiles.Json) { WriteIndented = false }));
    }
}
