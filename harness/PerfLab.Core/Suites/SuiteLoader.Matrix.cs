using System.Globalization;
using PerfLab.Core.Units;
using YamlDotNet.RepresentationModel;

namespace PerfLab.Core.Suites;

// The matrix half of the loader: axes, exclude and baseline selectors, the gate block, and expansion into cells (see SuiteLoader.cs for the rest).
public static partial class SuiteLoader
{
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
        axes.Pinning.AddRange(r.Axis<Pinning>(m, "pinning", "none", ParsePinning, $"none, auto, or a CPU list such as 0-1 or 0,2 (CPUs 0 to {Pinning.MaxCpu})"));
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
            if (b < a || b > Pinning.MaxCpu) return null;
            for (var c = a; c <= b; c++) cpus.Add(c);
        }
        return Pinning.List(cpus.Distinct().Order().ToList());
    }

    private static GateSpec ReadGate(Reader r, YamlMappingNode root)
    {
        var m = r.Mapping(root, "", "gate");
        if (m is null) return GateSpec.Default;
        r.CheckKeys(m, "gate", ["threshold_pct", "threshold_abs_us", "threshold_abs_per_token_us", "confidence", "metrics", "run_drift"]);
        var abs = r.Number(m, "gate", "threshold_abs_us", 0, 3.6e9) ?? 0;
        var absPerToken = r.Number(m, "gate", "threshold_abs_per_token_us", 0, 3.6e9) ?? 0;
        var threshold = r.Number(m, "gate", "threshold_pct", 0, 100, exclusiveMin: true) ?? GateSpec.Default.ThresholdPct;
        var conf = r.Number(m, "gate", "confidence", 0.5, 0.9999) ?? GateSpec.Default.Confidence;
        var drift = r.Number(m, "gate", "run_drift", 0, 10) ?? GateSpec.DefaultRunDrift;
        var metrics = r.Axis<string>(m, "metrics", null, v => GateSpec.AllMetrics.Contains(v) ? v : null, "one of " + string.Join(", ", GateSpec.AllMetrics));
        return new GateSpec(threshold, conf, metrics.Count == 0 ? GateSpec.AllMetrics : metrics, abs * 1000) { ThresholdAbsPerTokenNs = absPerToken * 1000, RunDrift = drift };
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
