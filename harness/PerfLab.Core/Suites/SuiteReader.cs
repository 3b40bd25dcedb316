using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace PerfLab.Core.Suites;

/// <summary>Typed access to a YAML mapping that records an error (with position) instead of throwing.</summary>
internal sealed class Reader(string file)
{
    public List<SuiteError> Errors { get; } = [];

    public void Error(YamlNode? node, string key, string? value, string message) =>
        Errors.Add(new SuiteError(file, (int)(node?.Start.Line ?? 0), (int)(node?.Start.Column ?? 0), key, value, message));

    private static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    public YamlNode? ValueNode(YamlMappingNode m, string key) =>
        m.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null;

    /// <summary>Reports every key not in <paramref name="allowed"/>; returns false if any was found.</summary>
    public bool CheckKeys(YamlMappingNode m, string path, IReadOnlyCollection<string> allowed)
    {
        var ok = true;
        foreach (var k in m.Children.Keys)
        {
            var key = (k as YamlScalarNode)?.Value ?? "?";
            if (allowed.Contains(key)) continue;
            Error(k, Join(path, key), null, "unknown key; valid keys here: " + string.Join(", ", allowed));
            ok = false;
        }
        return ok;
    }

    private YamlScalarNode? Scalar(YamlMappingNode m, string path, string key, bool required, string what)
    {
        var node = ValueNode(m, key);
        if (node is null)
        {
            if (required) Error(m, Join(path, key), null, $"is required: give {what}");
            return null;
        }
        if (node is YamlScalarNode s && !(s.Style == YamlDotNet.Core.ScalarStyle.Plain && (s.Value is null or "" or "~" or "null")))
            return s;
        Error(node, Join(path, key), null, $"must be a single value: {what}");
        return null;
    }

    /// <summary>The longest text value (a description, a name): a paragraph, not a file pasted into the suite by mistake.</summary>
    public const int MaxTextChars = 4_000;

    public string? String(YamlMappingNode m, string path, string key, bool required = false, Regex? pattern = null, string? patternText = null)
    {
        var s = Scalar(m, path, key, required, "a text value");
        if (s is null) return null;
        if (s.Value!.Length > MaxTextChars)
        {
            // The value itself would be the message's bulk: name its length instead.
            Error(s, Join(path, key), $"{s.Value[..40]}… ({s.Value.Length:N0} characters)", $"may be at most {MaxTextChars:N0} characters");
            return null;
        }
        if (pattern != null && !pattern.IsMatch(s.Value!))
        {
            Error(s, Join(path, key), s.Value, $"may contain only {patternText}");
            return null;
        }
        return s.Value;
    }

    public double? Number(YamlMappingNode m, string path, string key, double min, double max, bool integer = false, bool required = false, bool exclusiveMin = false)
    {
        var range = $"{(integer ? "a whole number" : "a number")} {(exclusiveMin ? "above" : "from")} {F(min)}{(max >= double.MaxValue / 2 ? "" : $" to {F(max)}")}";
        var s = Scalar(m, path, key, required, range);
        if (s is null) return null;
        if (!double.TryParse(s.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || double.IsNaN(v) || double.IsInfinity(v))
        {
            Error(s, Join(path, key), s.Value, $"is not a number; give {range}");
            return null;
        }
        if (v < min || v > max || (exclusiveMin && v <= min) || (integer && v != Math.Floor(v)))
        {
            Error(s, Join(path, key), s.Value, $"is out of range; give {range}");
            return null;
        }
        return v;
    }

    private static string F(double d) => d.ToString(CultureInfo.InvariantCulture);

    public T? Choice<T>(YamlMappingNode m, string path, string key, IReadOnlyDictionary<string, T> choices, bool required = false) where T : struct =>
        ChoiceKey(m, path, key, choices.Keys, required) is { } k ? choices[k] : null;

    /// <summary>The value of <paramref name="key"/> if it is one of <paramref name="choices"/>; null (and an error) otherwise.</summary>
    public string? ChoiceKey(YamlMappingNode m, string path, string key, IEnumerable<string> choices, bool required = false)
    {
        var valid = choices.ToList();
        var s = Scalar(m, path, key, required, "one of " + string.Join(", ", valid));
        if (s is null) return null;
        if (valid.Contains(s.Value!)) return s.Value;
        Error(s, Join(path, key), s.Value, "is not valid; give one of " + string.Join(", ", valid));
        return null;
    }

    public YamlSequenceNode? Sequence(YamlMappingNode m, string path, string key, bool required = false)
    {
        var node = ValueNode(m, key);
        if (node is null) { if (required) Error(m, Join(path, key), null, "is required: give a list"); return null; }
        if (node is YamlSequenceNode seq) return seq;
        Error(node, Join(path, key), null, "must be a list (items starting with '- ')");
        return null;
    }

    public YamlMappingNode? Mapping(YamlMappingNode m, string path, string key, bool required = false)
    {
        var node = ValueNode(m, key);
        if (node is null) { if (required) Error(m, Join(path, key), null, "is required: give a mapping of keys"); return null; }
        if (node is YamlMappingNode map) return map;
        Error(node, Join(path, key), null, "must be a mapping of keys");
        return null;
    }

    /// <summary>An axis of the matrix: one value or a list of them, each parsed; unparseable values are reported.</summary>
    public List<T> Axis<T>(YamlMappingNode m, string key, string? defaultValue, Func<string, object?> parse, string valid)
    {
        var result = new List<T>();
        var node = ValueNode(m, key);
        IEnumerable<YamlNode> items = node switch
        {
            null => [],
            YamlSequenceNode seq => seq.Children,
            _ => [node],
        };
        if (node is YamlSequenceNode { Children.Count: 0 }) Error(node, key, null, "is an empty list; give at least one value: " + valid);
        foreach (var item in items)
        {
            if (item is not YamlScalarNode s || s.Value is null) { Error(item, key, null, "each value must be a single value: " + valid); continue; }
            var v = parse(s.Value.Trim());
            if (v is null) { Error(s, key, s.Value, "is not valid; give " + valid); continue; }
            if (result.Contains((T)v)) { Error(s, key, s.Value, "is listed twice"); continue; }
            result.Add((T)v);
        }
        if (node is null && defaultValue != null) result.Add((T)parse(defaultValue)!);
        return result;
    }

    /// <summary>The mpam axis: 'off' or mappings {cache_pct, bandwidth_pct}, alone or in a list.</summary>
    public List<MpamSetting> MpamAxis(YamlMappingNode m)
    {
        var node = ValueNode(m, "mpam");
        if (node is null) return [MpamSetting.Off];
        IEnumerable<YamlNode> items = node is YamlSequenceNode seq ? seq.Children : [node];
        var result = new List<MpamSetting>();
        foreach (var item in items)
        {
            switch (item)
            {
                case YamlScalarNode { Value: "off" }:
                    result.Add(MpamSetting.Off);
                    break;
                case YamlMappingNode map:
                    CheckKeys(map, "matrix.mpam", ["cache_pct", "bandwidth_pct"]);
                    var c = Number(map, "matrix.mpam", "cache_pct", 1, 100, integer: true);
                    var b = Number(map, "matrix.mpam", "bandwidth_pct", 1, 100, integer: true);
                    if (c is null && b is null) Error(map, "matrix.mpam", null, "give cache_pct and/or bandwidth_pct (1 to 100), or the word off");
                    else result.Add(new MpamSetting((int?)c, (int?)b));
                    break;
                default:
                    Error(item, "matrix.mpam", (item as YamlScalarNode)?.Value, "give off, or a mapping {cache_pct: 1..100, bandwidth_pct: 1..100}");
                    break;
            }
        }
        return result;
    }
}
