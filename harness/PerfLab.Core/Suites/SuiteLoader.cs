using System.Globalization;
using System.Text.RegularExpressions;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Units;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace PerfLab.Core.Suites;

/// <summary>
/// Reads a suite YAML file, validates every key before anything runs, and expands the matrix into cells.
/// All errors are collected (file, line, key, value, what is valid) so a user fixes them in one pass.
/// </summary>
public static partial class SuiteLoader
{
    /// <summary>A suite is a few KB; one this large is a mistake (a data file given as the suite) that a manifest would copy after every launch.</summary>
    public const long MaxSuiteBytes = 1 << 20;

    public static Suite Load(string path)
    {
        if (Directory.Exists(path))
            throw new SuiteValidationException([new SuiteError(path, 0, 0, "(file)", null, "is a directory; give the path of a suite YAML such as bench/suites/mission.yaml")]);
        if (File.Exists(path) && new FileInfo(path).Length > MaxSuiteBytes)
            throw new SuiteValidationException([new SuiteError(path, 0, 0, "(file)", null, $"is {new FileInfo(path).Length / 1024} KiB; a suite is at most {MaxSuiteBytes / 1024} KiB")]);
        if (!File.Exists(path))
            throw new SuiteValidationException([new SuiteError(path, 0, 0, "(file)", null, "file not found; give the path of a suite YAML such as bench/suites/mission.yaml")]);
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>
    /// The innermost [ or { left open at the end of the text (1-based line and column), outside quotes and comments;
    /// (0, 0, null) when every bracket closes.
    /// </summary>
    internal static (int Line, int Column, char? Bracket) UnclosedBracket(string text)
    {
        var open = new Stack<(int Line, int Column, char Bracket)>();
        int line = 1, col = 0;
        char? quote = null;
        var comment = false;
        for (var i = 0; i < text.Length; i++)
        {
            var ch = text[i];
            if (ch == '\n') { line++; col = 0; comment = false; continue; }
            col++;
            if (comment) continue;
            if (quote != null)
            {
                if (ch == quote) quote = null;
                continue;
            }
            switch (ch)
            {
                case '#' when i == 0 || char.IsWhiteSpace(text[i - 1]): comment = true; break;
                case '"' or '\'': quote = ch; break;
                case '[' or '{': open.Push((line, col, ch)); break;
                case ']' or '}' when open.Count > 0: open.Pop(); break;
            }
        }
        return open.Count == 0 ? (0, 0, null) : open.Peek();
    }

    public static Suite Parse(string text, string file)
    {
        var r = new Reader(file);
        YamlMappingNode? root = null;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            if (stream.Documents.Count == 0)
                r.Error(null, "(document)", null, "the suite is empty; it needs at least name, workloads, scenarios and matrix");
            else if (stream.Documents[0].RootNode is YamlMappingNode m) root = m;
            else r.Error(stream.Documents[0].RootNode, "(document)", null, "the top level must be a mapping of keys (name, workloads, scenarios, matrix, ...)");
        }
        catch (YamlException e)
        {
            var (line, col, bracket) = UnclosedBracket(text);
            r.Errors.Add(new SuiteError(file, (int)e.Start.Line, (int)e.Start.Column, "(yaml)", null, "not valid YAML: " + e.Message +
                (bracket is { } b ? $" (the '{b}' at {line}:{col} is never closed)" : "")));
        }
        catch (InvalidOperationException e)
        {
            // YamlDotNet's scanner gives up this way on some unterminated flow collections, without a position: find the
            // bracket left open ourselves, so the message points at a line.
            var (line, col, bracket) = UnclosedBracket(text);
            r.Errors.Add(new SuiteError(file, line, col, "(yaml)", null, bracket is { } b
                ? $"not valid YAML: this '{b}' is never closed"
                : "not valid YAML (look for an unclosed [ or {): " + e.Message));
        }
        if (root is null) throw new SuiteValidationException(r.Errors);

        r.CheckKeys(root, "", ["name", "description", "seed", "profile", "agent_timeout_s", "calibration_profile", "repetitions", "warmup_s", "warmup_max_s", "shard_by", "workloads", "scenarios", "matrix", "exclude", "baseline", "gate"]);
        var calibration = r.String(root, "", "calibration_profile", pattern: NamePattern(), patternText: "letters, digits, '-' and '_'") ?? "kvm-pvm-measured";
        var name = r.String(root, "", "name", required: true, pattern: NamePattern(), patternText: "letters, digits, '-' and '_'") ?? "suite";
        var description = r.String(root, "", "description") ?? "";
        var seed = (int)(r.Number(root, "", "seed", 0, int.MaxValue, integer: true) ?? 42);
        var profile = r.Choice(root, "", "profile", new Dictionary<string, RunProfile> { ["ci"] = RunProfile.Ci, ["full"] = RunProfile.Full }) ?? RunProfile.Ci;
        var timeout = Nanoseconds.FromSeconds(r.Number(root, "", "agent_timeout_s", 0.1, 86_400) ?? 30);
        var repetitions = (int)(r.Number(root, "", "repetitions", 1, Suite.MaxRepetitions, integer: true) ?? Suite.DefaultRepetitions);
        var shardBy = r.Choice(root, "", "shard_by", new Dictionary<string, ShardBy> { ["group"] = ShardBy.Group, ["platform"] = ShardBy.Platform }) ?? ShardBy.Group;
        var warmup = r.Number(root, "", "warmup_s", 0, 3600) is { } w ? Nanoseconds.FromSeconds(w) : Suite.DefaultWarmup;
        var warmupMax = r.Number(root, "", "warmup_max_s", 0, 3600) is { } wm ? Nanoseconds.FromSeconds(wm) : warmup;
        if (warmupMax.Value < warmup.Value)
            r.Error(r.ValueNode(root, "warmup_max_s"), "warmup_max_s", warmupMax.Seconds.ToString(CultureInfo.InvariantCulture),
                $"must be at least warmup_s ({warmup.Seconds.ToString(CultureInfo.InvariantCulture)}); equal: no rounds until memory is steady");

        var workloads = ReadWorkloads(r, root);
        var scenarios = ReadScenarios(r, root, profile);
        var axes = ReadMatrix(r, root);
        var gate = ReadGate(r, root);

        var cells = new List<Cell>();
        var warnings = new List<string>();
        if (r.Errors.Count == 0)
        {
            var excludes = ReadSelectors(r, root, "exclude", axes, workloads, scenarios);
            var baseline = ReadBaseline(r, root, axes);
            if (r.Errors.Count == 0)
            {
                cells = Expand(workloads, scenarios, axes, excludes, baseline);
                if (cells.Count == 0)
                    r.Error(root, "exclude", null, "the exclude rules remove every cell of the matrix; nothing would run");
                // A cell the baseline selector should cover but cannot (its baseline excluded, or none matches) runs with no
                // overhead: said before anything runs. A warning, not an error: a cell may have no native counterpart on purpose.
                var orphans = baseline is null ? [] : cells.Where(c => !c.IsBaseline && c.BaselineId is null).Select(c => c.Id).ToList();
                if (orphans.Count > 0)
                    warnings.Add($"{file}: baseline: {orphans.Count} cell(s) have no baseline cell to be compared with (their baseline is excluded, " +
                        $"or no cell matches), so no overhead: {string.Join(", ", orphans.Take(3))}{(orphans.Count > 3 ? ", …" : "")}");
                var dup = cells.GroupBy(c => c.Id).FirstOrDefault(g => g.Count() > 1);
                if (dup != null)
                    r.Error(root, "scenarios", dup.Key, "two cells would share this id; give the scenarios distinct names");
            }
        }
        if (r.Errors.Count > 0) throw new SuiteValidationException(r.Errors);
        return new Suite(name, file, text, description, seed, profile, timeout, workloads, scenarios, cells, gate) { CalibrationProfile = calibration, Repetitions = repetitions, ShardBy = shardBy, Warmup = warmup, WarmupMax = warmupMax, Warnings = warnings };
    }

    [GeneratedRegex("^[A-Za-z0-9_-]+$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex CaseNamePattern();

    private static List<WorkloadSpec> ReadWorkloads(Reader r, YamlMappingNode root)
    {
        var list = new List<WorkloadSpec>();
        var seq = r.Sequence(root, "", "workloads", required: true);
        if (seq is null) return list;
        if (seq.Children.Count == 0) r.Error(seq, "workloads", null, "needs at least one workload");
        for (var i = 0; i < seq.Children.Count; i++)
        {
            var path = $"workloads[{i}]";
            if (seq.Children[i] is not YamlMappingNode m) { r.Error(seq.Children[i], path, null, "each workload is a mapping with name, kind and its parameters"); continue; }
            var wname = r.String(m, path, "name", required: true, pattern: NamePattern(), patternText: "letters, digits, '-' and '_'");
            var kind = r.String(m, path, "kind", required: true);
            if (kind is null || wname is null) continue;
            if (!WorkloadKinds.All.TryGetValue(kind, out var workloadKind))
            {
                r.Error(r.ValueNode(m, "kind"), path + ".kind", kind, "unknown workload kind; valid kinds: " + string.Join(", ", WorkloadKinds.All.Keys));
                continue;
            }
            var specs = workloadKind.Parameters;
            r.CheckKeys(m, path, ["name", "kind", .. specs.Select(s => s.Name)]);
            var values = new Dictionary<string, string>();
            foreach (var spec in specs)
            {
                if (spec.Free != FreeForm.None)
                    values[spec.Name] = FreeText(r, m, path, spec);
                else if (spec.Text)
                    values[spec.Name] = r.String(m, path, spec.Name, required: true, pattern: CaseNamePattern(), patternText: "letters, digits, '.', '-' and '_'") ?? "";
                else if (spec.Choices is { } choices)
                    values[spec.Name] = r.ChoiceKey(m, path, spec.Name, choices) ?? spec.Default;
                else
                    values[spec.Name] = (r.Number(m, path, spec.Name, spec.Min, spec.Max, spec.Integer)
                        ?? double.Parse(spec.Default, CultureInfo.InvariantCulture)).ToString(CultureInfo.InvariantCulture);
            }
            if (workloadKind == WorkloadKinds.OpenAi && (values["prompts"] == "file") != (values["prompts_file"].Length > 0))
                r.Error(r.ValueNode(m, "prompts_file") ?? r.ValueNode(m, "prompts") ?? m, path + ".prompts_file", values["prompts_file"],
                    "prompts: file and prompts_file go together: name the JSONL file and set prompts: file");
            if ((workloadKind == WorkloadKinds.Llm || workloadKind == WorkloadKinds.OpenAi && values["serve"] == "llm") &&
                WorkloadKinds.LlmProblem(values) is { } llm)
                r.Error(r.ValueNode(m, llm.Parameter) ?? m, path + "." + llm.Parameter, values[llm.Parameter], llm.Why);
            if (list.Any(w => w.Name == wname)) r.Error(r.ValueNode(m, "name"), path + ".name", wname, "a workload with this name is already defined; names must be unique");
            list.Add(new WorkloadSpec(wname, workloadKind, values));
        }
        return list;
    }

    private static string FreeText(Reader r, YamlMappingNode m, string path, ParameterSpec spec)
    {
        var v = r.String(m, path, spec.Name) ?? spec.Default;
        if (v.Length == 0) return v;
        var ok = spec.Free switch
        {
            FreeForm.Url => Uri.TryCreate(v, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttp || u.Scheme == Uri.UriSchemeHttps) && string.IsNullOrEmpty(u.Query),
            FreeForm.EnvName => EnvNamePattern().IsMatch(v),
            FreeForm.Model => !v.Any(char.IsWhiteSpace),
            _ => !v.Contains('\0'),
        };
        if (!ok) r.Error(r.ValueNode(m, spec.Name), path + "." + spec.Name, v, "not valid; expected " + spec.ValidText);
        return v;
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex EnvNamePattern();

    private static List<ScenarioSpec> ReadScenarios(Reader r, YamlMappingNode root, RunProfile profile)
    {
        var list = new List<ScenarioSpec>();
        var seq = r.Sequence(root, "", "scenarios", required: true);
        if (seq is null) return list;
        if (seq.Children.Count == 0) r.Error(seq, "scenarios", null, "needs at least one scenario (single-stream, server or offline)");
        string[] common = ["type", "name", "min_duration_s", "max_duration_s", "min_queries", "percentile", "early_stopping_confidence"];
        for (var i = 0; i < seq.Children.Count; i++)
        {
            var path = $"scenarios[{i}]";
            if (seq.Children[i] is not YamlMappingNode m) { r.Error(seq.Children[i], path, null, "each scenario is a mapping with a type (single-stream, server, offline)"); continue; }
            // type: sweep is the lab's own: a server scenario at each of a list of rates, expanded here into one scenario each.
            var isSweep = (r.ValueNode(m, "type") as YamlScalarNode)?.Value == "sweep";
            var kind = isSweep ? ScenarioKind.Server : r.Choice(m, path, "type", new Dictionary<string, ScenarioKind>(ScenarioNames.All) { ["sweep"] = ScenarioKind.Server }, required: true);
            if (kind is null) continue;
            string[] allowed = kind switch
            {
                ScenarioKind.Server => [.. common, "qps", "latency_limit_ms", "ttft_limit_ms", "tpot_limit_ms", "search_start_qps", "search_tolerance_pct", "search_max_probes", "search_repeats"],
                ScenarioKind.Offline => [.. common, "qps"],
                _ => common,
            };
            r.CheckKeys(m, path, allowed);
            var sname = r.String(m, path, "name", pattern: NamePattern(), patternText: "letters, digits, '-' and '_'") ?? (isSweep ? "sweep" : kind.Value.Name());
            // qps: search (server only) asks for the highest rate that stays VALID instead of one fixed rate.
            var search = !isSweep && kind == ScenarioKind.Server && (r.ValueNode(m, "qps") as YamlScalarNode)?.Value == "search";
            var rates = isSweep ? SweepRates(r, m, path) : null;
            double? qps = kind == ScenarioKind.SingleStream || search || isSweep ? null : r.Number(m, path, "qps", 1e-6, 10_000_000, required: kind == ScenarioKind.Server, exclusiveMin: true);
            CapacitySearchSpec? searchSpec = null;
            if (search)
            {
                var d = CapacitySearchSpec.Default;
                searchSpec = new CapacitySearchSpec(
                    r.Number(m, path, "search_start_qps", 1e-3, 10_000_000, exclusiveMin: true) ?? d.StartQps,
                    r.Number(m, path, "search_tolerance_pct", 0.1, 50) ?? d.TolerancePct,
                    (int)(r.Number(m, path, "search_max_probes", 2, 64, integer: true) ?? d.MaxProbes))
                {
                    Repeats = (int)(r.Number(m, path, "search_repeats", 1, 9, integer: true) ?? d.Repeats),
                };
                if (!m.Children.Keys.OfType<YamlScalarNode>().Any(k => k.Value is "latency_limit_ms" or "ttft_limit_ms" or "tpot_limit_ms"))
                    r.Error(r.ValueNode(m, "qps"), path + ".qps", "search", "a capacity search needs a limit to stay within: set latency_limit_ms, ttft_limit_ms or tpot_limit_ms");
            }
            else
                foreach (var key in new[] { "search_start_qps", "search_tolerance_pct", "search_max_probes", "search_repeats" })
                    if (r.ValueNode(m, key) is { } n) r.Error(n, path + "." + key, null, "applies only with qps: search");
            var minDurS = r.Number(m, path, "min_duration_s", 0, 86_400) ?? (profile == RunProfile.Full ? 600 : 5);
            if (profile == RunProfile.Full && minDurS < 600)
                r.Error(r.ValueNode(m, "min_duration_s"), path + ".min_duration_s", minDurS.ToString(CultureInfo.InvariantCulture),
                    "profile full requires at least 600 s (MLPerf's minimum); use profile: ci for shorter, non-compliant runs");
            var maxDurS = r.Number(m, path, "max_duration_s", 0.001, 7 * 86_400) ?? Math.Max(60, minDurS * 4);
            if (maxDurS < minDurS)
                r.Error(r.ValueNode(m, "max_duration_s"), path + ".max_duration_s", maxDurS.ToString(CultureInfo.InvariantCulture), $"must be at least min_duration_s ({minDurS})");
            var minQueries = (int)(r.Number(m, path, "min_queries", 1, 100_000_000, integer: true) ?? (kind == ScenarioKind.SingleStream ? 64 : 256));
            var pct = r.Number(m, path, "percentile", 50, 99.99) ?? (kind == ScenarioKind.SingleStream ? 90 : 99);
            var conf = r.Number(m, path, "early_stopping_confidence", 0.5, 0.9999) ?? 0.99;
            Nanoseconds? Ms(string key) => r.Number(m, path, key, 1e-6, 86_400_000, exclusiveMin: true) is { } v ? Nanoseconds.FromMilliseconds(v) : null;
            var one = new ScenarioSpec(sname, kind.Value, qps, Nanoseconds.FromSeconds(minDurS), Nanoseconds.FromSeconds(maxDurS), minQueries,
                Ms("latency_limit_ms"), Ms("ttft_limit_ms"), Ms("tpot_limit_ms"), pct / 100.0, conf) { Search = searchSpec };
            if (rates is null) list.Add(one);
            else foreach (var q in rates)
                list.Add(one with { Name = $"{sname}-{q.ToString("0.###", CultureInfo.InvariantCulture)}qps", TargetQps = q, Sweep = sname });
        }
        return list;
    }

    /// <summary>A sweep's rates: a list (qps: [1, 2, 4]) or a geometric range (qps: {from: 1, to: 64, steps: 7}).</summary>
    private static List<double>? SweepRates(Reader r, YamlMappingNode m, string path)
    {
        const string valid = "a list of rates (qps: [1, 2, 4]) or a range (qps: {from: 1, to: 64, steps: 7}), each above 0";
        var node = r.ValueNode(m, "qps");
        var rates = new List<double>();
        if (node is YamlSequenceNode seq)
        {
            foreach (var item in seq.Children)
                if (item is YamlScalarNode sc && double.TryParse(sc.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var q) && q > 0 && q <= 10_000_000) rates.Add(q);
                else { r.Error(item, path + ".qps", (item as YamlScalarNode)?.Value, "not a rate; a sweep's qps is " + valid); return null; }
        }
        else if (node is YamlMappingNode range)
        {
            r.CheckKeys(range, path + ".qps", ["from", "to", "steps"]);
            var from = r.Number(range, path + ".qps", "from", 1e-6, 10_000_000, required: true, exclusiveMin: true);
            var to = r.Number(range, path + ".qps", "to", 1e-6, 10_000_000, required: true, exclusiveMin: true);
            var steps = (int)(r.Number(range, path + ".qps", "steps", 2, 64, integer: true) ?? 5);
            if (from is null || to is null) return null;
            if (to <= from) { r.Error(r.ValueNode(range, "to"), path + ".qps.to", to.Value.ToString(CultureInfo.InvariantCulture), $"must be above from ({from})"); return null; }
            // Geometric: a server's knee is found by doubling, and equal ratios give equal room on a log axis.
            for (var i = 0; i < steps; i++) rates.Add(Math.Round(from.Value * Math.Pow(to.Value / from.Value, (double)i / (steps - 1)), 3));
        }
        else { r.Error(node ?? m, path + ".qps", (node as YamlScalarNode)?.Value, "a sweep needs " + valid); return null; }
        if (rates.Count == 0) { r.Error(node, path + ".qps", null, "a sweep needs at least one rate"); return null; }
        if (rates.Distinct().Count() != rates.Count) { r.Error(node, path + ".qps", null, "a sweep's rates must differ"); return null; }
        return rates;
    }
}
