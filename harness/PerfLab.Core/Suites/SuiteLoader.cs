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
    public static Suite Load(string path)
    {
        if (!File.Exists(path))
            throw new SuiteValidationException([new SuiteError(path, 0, 0, "(file)", null, "file not found; give the path of a suite YAML such as bench/suites/quick.yaml")]);
        return Parse(File.ReadAllText(path), path);
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
            r.Errors.Add(new SuiteError(file, (int)e.Start.Line, (int)e.Start.Column, "(yaml)", null, "not valid YAML: " + e.Message));
        }
        catch (InvalidOperationException e)
        {
            // YamlDotNet's scanner gives up this way on some unterminated flow collections, without a position.
            r.Errors.Add(new SuiteError(file, 0, 0, "(yaml)", null, "not valid YAML (look for an unclosed [ or {): " + e.Message));
        }
        if (root is null) throw new SuiteValidationException(r.Errors);

        r.CheckKeys(root, "", ["name", "description", "seed", "profile", "agent_timeout_s", "calibration_profile", "workloads", "scenarios", "matrix", "exclude", "baseline", "gate"]);
        var calibration = r.String(root, "", "calibration_profile", pattern: NamePattern(), patternText: "letters, digits, '-' and '_'") ?? "kvm-pvm-measured";
        var name = r.String(root, "", "name", required: true, pattern: NamePattern(), patternText: "letters, digits, '-' and '_'") ?? "suite";
        var description = r.String(root, "", "description") ?? "";
        var seed = (int)(r.Number(root, "", "seed", 0, int.MaxValue, integer: true) ?? 42);
        var profile = r.Choice(root, "", "profile", new Dictionary<string, RunProfile> { ["ci"] = RunProfile.Ci, ["full"] = RunProfile.Full }) ?? RunProfile.Ci;
        var timeout = Nanoseconds.FromSeconds(r.Number(root, "", "agent_timeout_s", 0.1, 86_400) ?? 30);

        var workloads = ReadWorkloads(r, root);
        var scenarios = ReadScenarios(r, root, profile);
        var axes = ReadMatrix(r, root);
        var gate = ReadGate(r, root);

        var cells = new List<Cell>();
        if (r.Errors.Count == 0)
        {
            var excludes = ReadSelectors(r, root, "exclude", axes, workloads, scenarios);
            var baseline = ReadBaseline(r, root, axes);
            if (r.Errors.Count == 0)
            {
                cells = Expand(workloads, scenarios, axes, excludes, baseline);
                if (cells.Count == 0)
                    r.Error(root, "exclude", null, "the exclude rules remove every cell of the matrix; nothing would run");
                var dup = cells.GroupBy(c => c.Id).FirstOrDefault(g => g.Count() > 1);
                if (dup != null)
                    r.Error(root, "scenarios", dup.Key, "two cells would share this id; give the scenarios distinct names");
            }
        }
        if (r.Errors.Count > 0) throw new SuiteValidationException(r.Errors);
        return new Suite(name, file, text, description, seed, profile, timeout, workloads, scenarios, cells, gate) { CalibrationProfile = calibration };
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
                if (spec.Text)
                    values[spec.Name] = r.String(m, path, spec.Name, required: true, pattern: CaseNamePattern(), patternText: "letters, digits, '.', '-' and '_'") ?? "";
                else if (spec.Choices is { } choices)
                    values[spec.Name] = r.ChoiceKey(m, path, spec.Name, choices) ?? spec.Default;
                else
                    values[spec.Name] = (r.Number(m, path, spec.Name, spec.Min, spec.Max, spec.Integer)
                        ?? double.Parse(spec.Default, CultureInfo.InvariantCulture)).ToString(CultureInfo.InvariantCulture);
            }
            if (list.Any(w => w.Name == wname)) r.Error(r.ValueNode(m, "name"), path + ".name", wname, "a workload with this name is already defined; names must be unique");
            list.Add(new WorkloadSpec(wname, workloadKind, values));
        }
        return list;
    }

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
            var kind = r.Choice(m, path, "type", ScenarioNames.All, required: true);
            if (kind is null) continue;
            string[] allowed = kind switch
            {
                ScenarioKind.Server => [.. common, "qps", "latency_limit_ms", "ttft_limit_ms", "tpot_limit_ms", "search_start_qps", "search_tolerance_pct", "search_max_probes"],
                ScenarioKind.Offline => [.. common, "qps"],
                _ => common,
            };
            r.CheckKeys(m, path, allowed);
            var sname = r.String(m, path, "name", pattern: NamePattern(), patternText: "letters, digits, '-' and '_'") ?? kind.Value.Name();
            // qps: search (server only) asks for the highest rate that stays VALID instead of one fixed rate.
            var search = kind == ScenarioKind.Server && (r.ValueNode(m, "qps") as YamlScalarNode)?.Value == "search";
            double? qps = kind == ScenarioKind.SingleStream || search ? null : r.Number(m, path, "qps", 1e-6, 10_000_000, required: kind == ScenarioKind.Server, exclusiveMin: true);
            CapacitySearchSpec? searchSpec = null;
            if (search)
            {
                var d = CapacitySearchSpec.Default;
                searchSpec = new CapacitySearchSpec(
                    r.Number(m, path, "search_start_qps", 1e-3, 10_000_000, exclusiveMin: true) ?? d.StartQps,
                    r.Number(m, path, "search_tolerance_pct", 0.1, 50) ?? d.TolerancePct,
                    (int)(r.Number(m, path, "search_max_probes", 2, 64, integer: true) ?? d.MaxProbes));
                if (!m.Children.Keys.OfType<YamlScalarNode>().Any(k => k.Value is "latency_limit_ms" or "ttft_limit_ms" or "tpot_limit_ms"))
                    r.Error(r.ValueNode(m, "qps"), path + ".qps", "search", "a capacity search needs a limit to stay within: set latency_limit_ms, ttft_limit_ms or tpot_limit_ms");
            }
            else
                foreach (var key in new[] { "search_start_qps", "search_tolerance_pct", "search_max_probes" })
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
            list.Add(new ScenarioSpec(sname, kind.Value, qps, Nanoseconds.FromSeconds(minDurS), Nanoseconds.FromSeconds(maxDurS), minQueries,
                Ms("latency_limit_ms"), Ms("ttft_limit_ms"), Ms("tpot_limit_ms"), pct / 100.0, conf) { Search = searchSpec });
        }
        return list;
    }

    /// <summary>The matrix axes, each with the node where its values were given (for error positions).</summary>
    private sealed record Axes(
        List<Platform> Platform, List<PageSize> PageSize, List<HugePageBacking> Backing, List<Bytes> RsiBatch,
        List<MpamSetting> Mpam, List<int> Vcpus, List<Bytes> Memory, List<Pinning> Pinning, List<CoTenant> CoTenant);

    private static readonly string[] AxisNames = ["platform", "page_size", "huge_backing", "rsi_batch", "mpam", "vcpus", "memory", "pinning", "co_tenant"];

    private static Axes ReadMatrix(Reader r, YamlMappingNode root)
    {
        var axes = new Axes([], [], [], [], [], [], [], [], []);
        var m = r.Mapping(root, "", "matrix", required: true);
        if (m is null) return axes;
        r.CheckKeys(m, "matrix", AxisNames);
        axes.Platform.AddRange(r.Axis<Platform>(m, "platform", "native", v => Names.Platforms.TryGetValue(v, out var p) ? p : null, "one of " + string.Join(", ", Names.Platforms.Keys)));
        axes.PageSize.AddRange(r.Axis<PageSize>(m, "page_size", "4k", v => PageSizes.TryParse(v, out var p) ? p : null, "one of " + string.Join(", ", PageSizes.ValidNames)));
        axes.Backing.AddRange(r.Axis<HugePageBacking>(m, "huge_backing", "thp", v => v switch { "thp" => HugePageBacking.Thp, "hugetlb" => HugePageBacking.Hugetlb, _ => (object?)null }, "one of thp, hugetlb"));
        axes.RsiBatch.AddRange(r.Axis<Bytes>(m, "rsi_batch", "2m", v => Bytes.TryParse(v, out var b) && b.Value >= 4 * Bytes.KiB && b.Value <= 64 * Bytes.GiB && b.Value % (4 * Bytes.KiB) == 0 ? b : null,
            "a size from 4k to 64g in whole 4 KiB granules, e.g. 4k, 64k, 2m, 1g"));
        axes.Mpam.AddRange(r.MpamAxis(m));
        axes.Vcpus.AddRange(r.Axis<int>(m, "vcpus", "1", v => int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 1024 ? n : null, "a whole number from 1 to 1024"));
        axes.Memory.AddRange(r.Axis<Bytes>(m, "memory", "4g", v => Bytes.TryParse(v, out var b) && b.Value >= 64 * Bytes.MiB ? b : null, "a size of at least 64m, e.g. 2g"));
        axes.Pinning.AddRange(r.Axis<Pinning>(m, "pinning", "none", ParsePinning, "none, auto, or a CPU list such as 0-1 or 0,2"));
        axes.CoTenant.AddRange(r.Axis<CoTenant>(m, "co_tenant", "none", v => Names.CoTenants.TryGetValue(v, out var c) ? (object)c : null,
            string.Join(" or ", Names.CoTenants.Keys)));
        return axes;
    }

    private static Pinning? ParsePinning(string v)
    {
        if (v == "none") return Pinning.None;
        if (v == "auto") return Pinning.Auto;
        var cpus = new List<int>();
        foreach (var part in v.Split(','))
        {
            var ends = part.Split('-');
            if (ends.Length is < 1 or > 2) return null;
            if (!int.TryParse(ends[0], NumberStyles.None, CultureInfo.InvariantCulture, out var a)) return null;
            var b = a;
            if (ends.Length == 2 && !int.TryParse(ends[1], NumberStyles.None, CultureInfo.InvariantCulture, out b)) return null;
            if (b < a || b - a > 4096) return null;
            for (var c = a; c <= b; c++) cpus.Add(c);
        }
        return Pinning.List(cpus);
    }

    private static GateSpec ReadGate(Reader r, YamlMappingNode root)
    {
        var m = r.Mapping(root, "", "gate");
        if (m is null) return GateSpec.Default;
        r.CheckKeys(m, "gate", ["threshold_pct", "threshold_abs_us", "confidence", "metrics"]);
        var abs = r.Number(m, "gate", "threshold_abs_us", 0, 3.6e9) ?? 0;
        var threshold = r.Number(m, "gate", "threshold_pct", 0, 100, exclusiveMin: true) ?? GateSpec.Default.ThresholdPct;
        var conf = r.Number(m, "gate", "confidence", 0.5, 0.9999) ?? GateSpec.Default.Confidence;
        var metrics = r.Axis<string>(m, "metrics", null, v => GateSpec.AllMetrics.Contains(v) ? v : null, "one of " + string.Join(", ", GateSpec.AllMetrics));
        return new GateSpec(threshold, conf, metrics.Count == 0 ? GateSpec.AllMetrics : metrics, abs * 1000);
    }

    /// <summary>A partial assignment of axis values (plus workload and scenario names) used by exclude and baseline.</summary>
    private sealed record Selector(Dictionary<string, string> Values)
    {
        public bool Matches(string workload, string scenario, RealmConfig c) => Values.All(kv => kv.Key switch
        {
            "workload" => kv.Value == workload,
            "scenario" => kv.Value == scenario,
            _ => kv.Value == AxisValue(c, kv.Key),
        });
    }

    private static string AxisValue(RealmConfig c, string axis) => axis switch
    {
        "platform" => c.Platform.Name(),
        "page_size" => c.PageSize.ToShort(),
        "huge_backing" => c.Backing.Name(),
        "rsi_batch" => c.RsiBatch.ToShort(),
        "mpam" => c.Mpam.ToShort(),
        "vcpus" => c.Vcpus.ToString(CultureInfo.InvariantCulture),
        "memory" => c.Memory.ToShort(),
        "pinning" => c.Pinning.ToShort(),
        "co_tenant" => c.CoTenant.Name(),
        _ => throw new ArgumentOutOfRangeException(nameof(axis)),
    };

    private static List<string> AxisValues(Axes a, string axis) => axis switch
    {
        "platform" => a.Platform.Select(p => p.Name()).ToList(),
        "page_size" => a.PageSize.Select(p => p.ToShort()).ToList(),
        "huge_backing" => a.Backing.Select(b => b.Name()).ToList(),
        "rsi_batch" => a.RsiBatch.Select(b => b.ToShort()).ToList(),
        "mpam" => a.Mpam.Select(m => m.ToShort()).ToList(),
        "vcpus" => a.Vcpus.Select(v => v.ToString(CultureInfo.InvariantCulture)).ToList(),
        "memory" => a.Memory.Select(b => b.ToShort()).ToList(),
        "pinning" => a.Pinning.Select(p => p.ToShort()).ToList(),
        "co_tenant" => a.CoTenant.Select(c => c.Name()).ToList(),
        _ => [],
    };

    /// <summary>Canonical form of a selector value as the user wrote it, so "2M" matches the axis value "2m".</summary>
    private static string Canonical(string axis, string v) => axis switch
    {
        "page_size" when PageSizes.TryParse(v, out var p) => p.ToShort(),
        "rsi_batch" or "memory" when Bytes.TryParse(v, out var b) => b.ToShort(),
        "pinning" => ParsePinning(v)?.ToShort() ?? v,
        _ => v,
    };

    private static List<Selector> ReadSelectors(Reader r, YamlMappingNode root, string key, Axes axes, List<WorkloadSpec> w, List<ScenarioSpec> s)
    {
        var list = new List<Selector>();
        var seq = r.Sequence(root, "", key);
        if (seq is null) return list;
        for (var i = 0; i < seq.Children.Count; i++)
        {
            var path = $"{key}[{i}]";
            if (seq.Children[i] is not YamlMappingNode m) { r.Error(seq.Children[i], path, null, "each rule is a mapping of axis: value, e.g. {page_size: 2m, scenario: offline}"); continue; }
            var sel = ReadSelector(r, m, path, axes, allowNames: true, w, s);
            if (sel != null) list.Add(sel);
        }
        return list;
    }

    private static Selector? ReadSelector(Reader r, YamlMappingNode m, string path, Axes axes, bool allowNames, List<WorkloadSpec>? w = null, List<ScenarioSpec>? s = null)
    {
        string[] keys = allowNames ? [.. AxisNames, "workload", "scenario"] : AxisNames;
        if (!r.CheckKeys(m, path, keys)) return null;
        var values = new Dictionary<string, string>();
        foreach (var (k, v) in m.Children)
        {
            var key = ((YamlScalarNode)k).Value!;
            if (v is not YamlScalarNode sv) { r.Error(v, $"{path}.{key}", null, "must be a single value"); continue; }
            var value = Canonical(key, sv.Value ?? "");
            var valid = key switch
            {
                "workload" => w!.Select(x => x.Name).ToList(),
                "scenario" => s!.Select(x => x.Name).ToList(),
                _ => AxisValues(axes, key),
            };
            if (!valid.Contains(value))
                r.Error(v, $"{path}.{key}", sv.Value, "is not a value the matrix has; valid: " + string.Join(", ", valid));
            values[key] = value;
        }
        return new Selector(values);
    }

    private static Selector? ReadBaseline(Reader r, YamlMappingNode root, Axes axes)
    {
        var m = r.Mapping(root, "", "baseline");
        return m is null ? null : ReadSelector(r, m, "baseline", axes, allowNames: false);
    }

    private static List<Cell> Expand(List<WorkloadSpec> workloads, List<ScenarioSpec> scenarios, Axes a, List<Selector> excludes, Selector? baseline)
    {
        var configs =
            from p in a.Platform from ps in a.PageSize from hb in a.Backing from rb in a.RsiBatch
            from mp in a.Mpam from vc in a.Vcpus from me in a.Memory from pin in a.Pinning from co in a.CoTenant
            // The huge-page backing is meaningless at 4 KiB: keep one 4 KiB cell, not one per backing.
            where ps != PageSize.Kib4 || hb == a.Backing[0]
            select new RealmConfig(p, ps, ps == PageSize.Kib4 ? HugePageBacking.Thp : hb, rb, mp, vc, me, pin) { CoTenant = co };
        var cells = new List<Cell>();
        foreach (var wl in workloads)
        foreach (var sc in scenarios)
        foreach (var rc in configs)
        {
            if (excludes.Any(e => e.Matches(wl.Name, sc.Name, rc))) continue;
            cells.Add(new Cell($"{wl.Name}.{sc.Name}.{rc.Id}", wl, sc, rc, baseline?.Matches(wl.Name, sc.Name, rc) ?? false));
        }
        if (baseline is null) return cells;
        // A cell's baseline shares everything with it except the axes the baseline selector names.
        return cells.Select(c =>
        {
            if (c.IsBaseline) return c;
            var b = cells.FirstOrDefault(o => o.IsBaseline && o.Workload == c.Workload && o.Scenario == c.Scenario &&
                AxisNames.All(ax => baseline.Values.ContainsKey(ax) || AxisValue(o.Realm, ax) == AxisValue(c.Realm, ax)
                    || (ax == "huge_backing" && o.Realm.PageSize == PageSize.Kib4)));
            return c with { BaselineId = b?.Id };
        }).ToList();
    }
}
