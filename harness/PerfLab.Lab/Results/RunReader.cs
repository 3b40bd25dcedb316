using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using CsvHelper;
using PerfLab.Core.Analysis;
using PerfLab.Core.Gate;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Suites;

namespace PerfLab.Lab.Results;

/// <summary>A run folder or baseline file that cannot be read: names the file and what is wrong with it.</summary>
public sealed class ResultsFormatException(string message) : Exception(message);

/// <summary>What the gate needs from one side: metric samples per successful cell, and the suite's gate settings.</summary>
public sealed record GateSide(GateInput Input, GateSpec? Spec, string Suite);

/// <summary>Reads run folders and baseline files back for the gate.</summary>
public static class RunReader
{
    /// <summary>A run folder (manifest.json + samples.csv) or a baseline JSON file written by --update-baseline.</summary>
    public static GateSide Load(string path)
    {
        if (Directory.Exists(path)) return LoadRun(path);
        if (File.Exists(path)) return LoadBaseline(path);
        throw new ResultsFormatException($"{path}: no such run folder or baseline file; give results/runs/<run-id> or results/baselines/<name>.json");
    }

    private static JsonNode ReadJson(string file)
    {
        if (!File.Exists(file)) throw new ResultsFormatException($"{file}: missing; a run folder must have {RunFolder.ManifestFile} and {RunFolder.SamplesFile}");
        try { return JsonNode.Parse(File.ReadAllText(file)) ?? throw new ResultsFormatException($"{file}: empty"); }
        catch (JsonException e) { throw new ResultsFormatException($"{file}: not valid JSON ({e.Message})"); }
    }

    private static GateSide LoadRun(string dir)
    {
        var manifestPath = Path.Combine(dir, RunFolder.ManifestFile);
        var manifest = ReadJson(manifestPath);
        var suite = manifest["suite"]?["name"]?.GetValue<string>() ?? throw new ResultsFormatException($"{manifestPath}: no suite.name");
        var spec = manifest["suite"]?["gate"].Deserialize<GateSpec>(RunFolder.Json);
        var kinds = new Dictionary<string, ScenarioKind>();
        var searched = new HashSet<string>();
        foreach (var c in manifest["expanded_cells"]?.AsArray() ?? [])
        {
            kinds[c!["id"]!.GetValue<string>()] = ScenarioNames.All[c["scenario_kind"]!.GetValue<string>()];
            if (c["scenario_settings"]?["search"] is JsonObject) searched.Add(c["id"]!.GetValue<string>());
        }
        // A capacity-search cell's samples are at the rate it ended on, which differs between runs: not gated on latency.
        var ok = (manifest["cells"]?.AsArray() ?? []).Where(c => c!["status"]?.GetValue<string>() == "ok").Select(c => c!["id"]!.GetValue<string>())
            .Where(id => !searched.Contains(id)).ToHashSet();

        var samplesPath = Path.Combine(dir, RunFolder.SamplesFile);
        if (!File.Exists(samplesPath)) throw new ResultsFormatException($"{samplesPath}: missing; the run recorded no queries");
        var byCell = new Dictionary<string, List<QueryRecord>>();
        try
        {
            using var reader = CsvReader.FromFile(samplesPath, new CsvReaderOptions { FormatProvider = CultureInfo.InvariantCulture });
            foreach (var row in reader.GetRecords<SampleRow>())
            {
                if (!ok.Contains(row.Cell)) continue;
                if (!byCell.TryGetValue(row.Cell, out var list)) byCell[row.Cell] = list = [];
                list.Add(new QueryRecord
                {
                    Id = row.QueryId, SampleIndex = row.SampleIndex, ScheduledNs = row.ScheduledNs, IssuedNs = row.IssuedNs,
                    FirstTokenNs = row.FirstTokenNs, CompletedNs = row.CompletedNs, Tokens = row.Tokens, InsideNs = row.InsideNs,
                });
            }
        }
        catch (Exception e) when (e is not ResultsFormatException and not OutOfMemoryException)
        {
            throw new ResultsFormatException($"{samplesPath}: cannot be read as PerfLab samples ({e.Message})");
        }
        var cells = byCell.ToDictionary(kv => kv.Key, kv =>
        {
            var kind = kinds.GetValueOrDefault(kv.Key);
            return (IReadOnlyDictionary<string, double[]>)Metrics.FromRecords(kv.Value, kind)
                .Where(m => Metrics.IsGateable(kind, m.Key)).ToDictionary(m => m.Key, m => m.Value);
        });
        foreach (var (cell, metrics) in ReadMicro(Path.Combine(dir, RunFolder.MicroSamplesFile), ok)) cells[cell] = metrics;
        return new GateSide(new GateInput(Path.GetFileName(Path.TrimEndingDirectorySeparator(dir)), cells), spec, suite);
    }

    private static Dictionary<string, IReadOnlyDictionary<string, double[]>> ReadMicro(string path, HashSet<string> ok)
    {
        var result = new Dictionary<string, IReadOnlyDictionary<string, double[]>>();
        if (!File.Exists(path)) return result;
        try
        {
            using var reader = CsvReader.FromFile(path, new CsvReaderOptions { FormatProvider = CultureInfo.InvariantCulture });
            foreach (var g in reader.GetRecords<MicroSampleRow>().Where(r => ok.Contains(r.Cell)).ToList().GroupBy(r => r.Cell))
                result[g.Key] = g.GroupBy(r => r.Metric).ToDictionary(m => m.Key, m => m.Select(r => r.Value).ToArray());
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ResultsFormatException($"{path}: cannot be read as PerfLab microbenchmark samples ({e.Message})");
        }
        return result;
    }

    private sealed record BaselineFile(int Schema, string Suite, string Source, string CreatedUtc, GateSpec? Gate,
        Dictionary<string, Dictionary<string, double[]>> Cells);

    private static GateSide LoadBaseline(string file)
    {
        BaselineFile? b;
        try { b = JsonSerializer.Deserialize<BaselineFile>(File.ReadAllText(file), RunFolder.Json); }
        catch (JsonException e) { throw new ResultsFormatException($"{file}: not a PerfLab baseline ({e.Message})"); }
        if (b is null || b.Cells is null) throw new ResultsFormatException($"{file}: not a PerfLab baseline (no cells)");
        if (b.Schema != RunFolder.SchemaVersion) throw new ResultsFormatException($"{file}: baseline schema {b.Schema}, this PerfLab reads {RunFolder.SchemaVersion}; write it again with perflab gate --update-baseline");
        var cells = b.Cells.ToDictionary(kv => kv.Key, kv => (IReadOnlyDictionary<string, double[]>)kv.Value);
        return new GateSide(new GateInput(Path.GetFileName(file), cells), b.Gate, b.Suite);
    }

    /// <summary>Writes a candidate's samples as a baseline file, deliberately (only --update-baseline calls this).</summary>
    public static void WriteBaseline(GateSide candidate, string file, string source)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        var b = new BaselineFile(RunFolder.SchemaVersion, candidate.Suite, source, DateTime.UtcNow.ToString("O"), candidate.Spec,
            candidate.Input.Cells.ToDictionary(kv => kv.Key, kv => kv.Value.ToDictionary(m => m.Key, m => m.Value)));
        RunFolder.WriteAtomic(file, JsonSerializer.Serialize(b, new JsonSerializerOptions(RunFolder.Json) { WriteIndented = false }));
    }
}
