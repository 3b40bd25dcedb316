using System.Globalization;

namespace PerfLab.Core.Suites;

/// <summary>One part of a run spread over several hosts: shard <see cref="Index"/> of <see cref="Count"/>, counted from 1.</summary>
public readonly record struct Shard(int Index, int Count)
{
    public const int MaxCount = 1000;

    public override string ToString() => $"{Index}/{Count}";

    /// <summary>Parses "i/N"; the error says what would be valid.</summary>
    public static Shard Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var i)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            && n is >= 1 and <= MaxCount && i >= 1 && i <= n)
            return new Shard(i, n);
        throw new FormatException($"--shard {text}: give i/N, shard i of N, with 1 ≤ i ≤ N ≤ {MaxCount} (e.g. 2/3)");
    }
}

/// <summary>What a suite's shards hold (suite key shard_by).</summary>
public enum ShardBy
{
    /// <summary>Whole comparison groups: a baseline with the cells compared with it, so every overhead is measured on one host.</summary>
    Group,
    /// <summary>
    /// One platform's cells per shard, so a scheduler can send each to hosts of its kind (CCA cells to a CCA host, VM
    /// cells to a KVM host). A group's cells of different platforms then run on different hosts: a merged run computes
    /// no overhead between two hosts unless asked to (perflab merge --cross-host), and says which it left out.
    /// </summary>
    Platform,
}

/// <summary>A shard count a suite's plan cannot use (shard_by: platform with fewer shards than platforms).</summary>
public sealed class ShardPlanException(string message) : Exception(message);

/// <summary>
/// Which cells each shard of a run runs. The unit is a comparison group: a baseline cell with every cell compared with
/// it (a cell without a baseline is a group alone), so every overhead is measured on one host, between launches
/// interleaved on it — never across two machines. With shard_by: platform, each group is cut by platform and every
/// shard holds one platform. Groups go to shards longest first, each to the least-loaded shard (ties to the lowest
/// index), by planned seconds: the same suite and shard count give the same plan on every host.
/// </summary>
public static class ShardPlan
{
    /// <summary>
    /// A launch's planned wall time: the scenario's minimum duration (or its maximum if it has no minimum) plus the
    /// warm-up and a fixed allowance for start, load and teardown. A planning weight, not a prediction of any figure.
    /// </summary>
    public static double PlannedLaunchSeconds(Suite suite, Cell cell)
    {
        var serve = cell.Scenario.MinDuration.Seconds > 0 ? cell.Scenario.MinDuration.Seconds : Math.Min(cell.Scenario.MaxDuration.Seconds, 60);
        if (cell.Scenario.Search is not null) serve *= 8; // a capacity search serves several probes
        return serve + suite.Warmup.Seconds + LaunchAllowanceSeconds;
    }

    /// <summary>Start, model load and teardown of one launch, allowed for in the plan (the tiny model's launches took 1–3 s here).</summary>
    public const double LaunchAllowanceSeconds = 5;

    public static double PlannedSeconds(Suite suite, IEnumerable<Cell> cells, int repetitions) =>
        cells.Sum(c => PlannedLaunchSeconds(suite, c)) * repetitions;

    /// <summary>The comparison groups of a suite's cells, each in suite order, the groups in the order their first cell comes.</summary>
    public static IReadOnlyList<IReadOnlyList<Cell>> Groups(IReadOnlyList<Cell> cells)
    {
        var byId = cells.ToDictionary(c => c.Id);
        string Root(Cell c)
        {
            var seen = new HashSet<string>();
            while (c.BaselineId is { } b && byId.TryGetValue(b, out var baseline) && seen.Add(c.Id)) c = baseline;
            return c.Id;
        }
        return cells.GroupBy(Root).Select(g => (IReadOnlyList<Cell>)g.ToList()).ToList();
    }

    /// <summary>The cells of every shard, in suite order within each: index 0 is shard 1.</summary>
    /// <exception cref="ShardPlanException">shard_by: platform with fewer shards than the suite has platforms</exception>
    public static IReadOnlyList<IReadOnlyList<Cell>> Assign(Suite suite, int count)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), "a run has at least one shard");
        var order = suite.Cells.Select((c, i) => (c.Id, i)).ToDictionary(x => x.Id, x => x.i);
        var groups = Groups(suite.Cells);
        if (suite.ShardBy == ShardBy.Group) return Balance(suite, groups, count, order);

        // One platform per shard: each platform gets a shard, the rest go one at a time to the platform whose shards
        // would otherwise carry the most planned time each.
        var platforms = suite.Cells.Select(c => c.Realm.Platform).Distinct().ToList();
        if (count < platforms.Count)
            throw new ShardPlanException($"shard_by: platform puts each platform's cells on hosts of their own: {platforms.Count} platforms " +
                                         $"({string.Join(", ", platforms.Select(p => p.Name()))}) need at least {platforms.Count} shards, {count} given");
        var parts = platforms.ToDictionary(p => p, p => groups.Select(g => (IReadOnlyList<Cell>)g.Where(c => c.Realm.Platform == p).ToList())
            .Where(g => g.Count > 0).ToList());
        var seconds = platforms.ToDictionary(p => p, p => parts[p].Sum(g => PlannedSeconds(suite, g, 1)));
        var shardsOf = platforms.ToDictionary(p => p, _ => 1);
        for (var extra = count - platforms.Count; extra > 0; extra--)
        {
            var busiest = platforms.OrderByDescending(p => seconds[p] / shardsOf[p]).First();
            shardsOf[busiest]++;
        }
        return platforms.SelectMany(p => Balance(suite, parts[p], shardsOf[p], order)).ToList();
    }

    /// <summary>Longest group first, each to the least-loaded shard (ties to the lowest index); cells in suite order.</summary>
    private static IReadOnlyList<IReadOnlyList<Cell>> Balance(Suite suite, IReadOnlyList<IReadOnlyList<Cell>> groups, int count, Dictionary<string, int> order)
    {
        var load = new double[count];
        var shards = Enumerable.Range(0, count).Select(_ => new List<Cell>()).ToArray();
        foreach (var g in groups.Select(g => (Cells: g, Seconds: PlannedSeconds(suite, g, 1)))
                     .OrderByDescending(g => g.Seconds).ThenBy(g => order[g.Cells[0].Id]))
        {
            var target = 0;
            for (var s = 1; s < count; s++) if (load[s] < load[target]) target = s;
            load[target] += g.Seconds;
            shards[target].AddRange(g.Cells);
        }
        return shards.Select(s => (IReadOnlyList<Cell>)s.OrderBy(c => order[c.Id]).ToList()).ToList();
    }

    /// <summary>The suite as one shard runs it: the same suite, its cells those of the shard.</summary>
    public static Suite For(Suite suite, Shard shard)
    {
        if (shard.Count == 1 && suite.ShardBy == ShardBy.Group) return suite;
        return suite with { Cells = Assign(suite, shard.Count)[shard.Index - 1] };
    }
}
