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

    /// <summary>A run folder's state (complete, interrupted, incomplete…); null for a baseline file.</summary>
    public string? State { get; init; }

    /// <summary>Where it was read from, for messages.</summary>
    public string Source { get; init; } = "";
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

    /// <summary>
    /// The gateable metrics of every cell whose launches all ended ok, launch by launch; a capacity search is judged on its
    /// capacity, never on its latencies. Launches measured while the host was busy are left out as long as two quiet ones
    /// remain; otherwise the cell is disturbed and never judged.
    /// </summary>
    public static GateSide FromRun(RunData run)
    {
        var m = run.Manifest ?? throw new ResultsFormatException($"{run.Folder}: no readable manifest");
        var requested = m.ExpandedCells.ToDictionary(c => c.Id);
        var cells = new Dictionary<string, IReadOnlyDictionary<string, IReadOnlyList<double[]>>>();
        var disturbed = new Dictionary<string, string>();
        var leftOut = new Dictionary<string, string>();
        foreach (var launches in m.LaunchesByCell)
        {
            var id = launches.Key;
            if (launches.Any(l => l.Status != "ok")) continue;
            if (!requested.TryGetValue(id, out var r) || r.ScenarioSettings?.Search != null || !run.LaunchSamples.TryGetValue(id, out var metrics)) continue;
            var kind = ScenarioNames.All.GetValueOrDefault(r.ScenarioKind);
            var busy = launches.Where(l => l.Disturbed != null).ToList();
            var quiet = launches.Where(l => l.Disturbed == null).Select(l => l.Launch).ToHashSet();
            var n = launches.Count();
            string Named(IEnumerable<CellRecord> ls) => string.Join("; ", ls.Select(l => n == 1 ? l.Disturbed! : $"launch {l.Launch} of {n}: {l.Disturbed}"));
            var keepAll = busy.Count > 0 && quiet.Count < Math.Min(2, n);
            if (busy.Count > 0 && keepAll) disturbed[id] = Named(busy);
            else if (busy.Count > 0) leftOut[id] = Named(busy);
            cells[id] = metrics.Where(kv => Metrics.IsGateable(kind, kv.Key)).ToDictionary(kv => kv.Key,
                kv => (IReadOnlyList<double[]>)kv.Value.Where(l => keepAll || quiet.Contains(l.Key)).Select(l => l.Value).ToList());
        }
        return new GateSide(new GateInput(Path.GetFileName(Path.TrimEndingDirectorySeparator(run.Folder)), cells)
            {
                HostClass = m.Host?.HostClass, Disturbed = disturbed, LeftOut = leftOut,
            },
            m.Suite.Gate, m.Suite.Name) { Host = m.Host, State = run.StateWord, Source = run.Folder };
    }

    /// <summary>A time longer than this (about 2.8 hours) for one query or token, or a rate above 1e12/s, is no measurement.</summary>
    public const double PlausibleMax = 1e13;

    /// <summary>
    /// Why these two sides cannot be judged at all, each problem named (empty when they can): another suite, a partial
    /// candidate, no cell in common, a metric with no values, values that are not finite and positive or are implausible.
    /// </summary>
    public static IReadOnlyList<string> Problems(GateSide baseline, GateSide candidate)
    {
        var p = new List<string>();
        if (baseline.Suite != candidate.Suite)
            p.Add($"the baseline ({baseline.Source}) is of suite '{baseline.Suite}', the candidate ({candidate.Source}) of '{candidate.Suite}': compare runs of one suite");
        foreach (var (side, name) in new[] { (baseline, "baseline"), (candidate, "candidate") })
        {
            if (side.State is { } st && st != "complete")
                p.Add($"the {name} run {side.Source} is {st}: its missing cells would read as regressions; gate a complete run (or resume it)");
            if (side.Input.Cells.Count == 0)
                p.Add($"the {name} ({side.Source}) has no cell with gateable samples");
            foreach (var (cell, metrics) in side.Input.Cells)
                foreach (var (metric, launches) in metrics)
                {
                    var where = $"{name} {side.Source}: cell {cell}, {metric}";
                    if (launches.Count == 0 || launches.All(l => l.Length == 0)) { p.Add($"{where}: no values"); continue; }
                    var bad = launches.SelectMany(l => l).Where(v => !double.IsFinite(v) || v <= 0).ToList();
                    if (bad.Count > 0) p.Add($"{where}: {bad.Count} values are not finite and positive (first: {bad[0].ToString(System.Globalization.CultureInfo.InvariantCulture)})");
                    var huge = launches.SelectMany(l => l).Where(v => double.IsFinite(v) && v > PlausibleMax).ToList();
                    if (huge.Count > 0) p.Add($"{where}: {huge.Count} values above {PlausibleMax:0e0} (first: {huge[0]:0.###e0}), no plausible time in ns or rate per second");
                }
        }
        if (baseline.Input.Cells.Count > 0 && candidate.Input.Cells.Count > 0 && !baseline.Input.Cells.Keys.Intersect(candidate.Input.Cells.Keys).Any())
            p.Add($"the baseline and the candidate have no cell in common (baseline: {string.Join(", ", baseline.Input.Cells.Keys.Take(3))}…)");
        return p;
    }

    /// <summary>A baseline file: cells → metric → each launch's values (schema 3), or one array of values per metric (1 and 2: one launch).</summary>
    private sealed record BaselineFile(int Schema, string Suite, string Source, string CreatedUtc, GateSpec? Gate,
        Dictionary<string, Dictionary<string, JsonElement>> Cells)
    {
        /// <summary>Where the samples were measured; absent in baselines written before it was recorded (then: unknown host).</summary>
        public HostEnvironment? Host { get; init; }
        public Dictionary<string, string>? Disturbed { get; init; }
        public Dictionary<string, string>? LeftOut { get; init; }
    }

    private static GateSide LoadBaseline(string file)
    {
        BaselineFile? b;
        try { b = JsonSerializer.Deserialize<BaselineFile>(File.ReadAllText(file), RunFiles.Json); }
        catch (JsonException e) { throw new ResultsFormatException($"{file}: not a PerfLab baseline ({e.Message})"); }
        if (b is null || b.Cells is null) throw new ResultsFormatException($"{file}: not a PerfLab baseline (no cells)");
        if (!RunFiles.ReadableSchemas.Contains(b.Schema))
            throw new ResultsFormatException($"{file}: baseline schema {b.Schema}, this PerfLab reads {string.Join(" and ", RunFiles.ReadableSchemas.Order())}; write it again with perflab gate --update-baseline");
        var cells = new Dictionary<string, IReadOnlyDictionary<string, IReadOnlyList<double[]>>>();
        foreach (var (cell, metrics) in b.Cells)
        {
            var byMetric = new Dictionary<string, IReadOnlyList<double[]>>();
            foreach (var (metric, values) in metrics)
            {
                try
                {
                    byMetric[metric] = values.ValueKind == JsonValueKind.Array && values.GetArrayLength() > 0 && values[0].ValueKind == JsonValueKind.Array
                        ? values.Deserialize<double[][]>(RunFiles.Json)!
                        : [values.Deserialize<double[]>(RunFiles.Json)!];
                }
                catch (Exception e) when (e is JsonException or InvalidOperationException)
                {
                    throw new ResultsFormatException($"{file}: cells.{cell}.{metric} is neither a list of values nor a list of launches' values ({e.Message.Split('\n')[0]})");
                }
            }
            cells[cell] = byMetric;
        }
        return new GateSide(new GateInput(Path.GetFileName(file), cells)
        {
            HostClass = b.Host?.HostClass, Disturbed = b.Disturbed ?? [], LeftOut = b.LeftOut ?? [],
        }, b.Gate, b.Suite) { Host = b.Host, Source = file };
    }

    /// <summary>Writes a candidate's samples as a baseline file, deliberately (only --update-baseline calls this).</summary>
    public static void WriteBaseline(GateSide candidate, string file, string source)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        var b = new BaselineFile(RunFiles.SchemaVersion, candidate.Suite, source, DateTime.UtcNow.ToString("O"), candidate.Spec,
            candidate.Input.Cells.ToDictionary(kv => kv.Key, kv => kv.Value.ToDictionary(m => m.Key, m => JsonSerializer.SerializeToElement(m.Value, RunFiles.Json))))
        {
            Host = candidate.Host, Disturbed = candidate.Input.Disturbed.ToDictionary(), LeftOut = candidate.Input.LeftOut.ToDictionary(),
        };
        RunFolderWriter.WriteAtomic(file, JsonSerializer.Serialize(b, new JsonSerializerOptions(RunFiles.Json) { WriteIndented = false }));
    }
}
