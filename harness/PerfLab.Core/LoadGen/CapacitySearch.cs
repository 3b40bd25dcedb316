using PerfLab.Core.Suites;
using PerfLab.Core.Units;

namespace PerfLab.Core.LoadGen;

/// <summary>
/// How a server scenario with <c>qps: search</c> looks for its capacity: where to start, when the bracket is narrow
/// enough, and how many full-length probes it may spend.
/// </summary>
public sealed record CapacitySearchSpec(double StartQps, double TolerancePct, int MaxProbes)
{
    public static readonly CapacitySearchSpec Default = new(10, 3, 14);

    /// <summary>
    /// Runs of a borderline probe (odd): a probe whose verdict a couple of queries would flip is run again, up to this many
    /// times in all, and the majority decides, so a single hiccup of the host does not move the capacity. MaxProbes counts
    /// the rates decided; these repeats come on top of it.
    /// </summary>
    public int Repeats { get; init; } = 3;

    /// <summary>A probe is borderline when it is VALID or INVALID by at most this many over-limit queries.</summary>
    public int BorderlineQueries { get; init; } = 2;
}

/// <summary>One probe of a capacity search: a full server run at one Poisson rate and whether it stayed VALID.</summary>
public sealed record CapacityProbe(
    int Index, string Phase, double TargetQps, bool Valid, bool Failed, double AchievedQps,
    double? P99TtftNs, double? P99TpotNs, double? P99LatencyNs, string? Reason)
{
    /// <summary>
    /// Over-limit queries the probe had to spare (≥ 0, VALID) or was past the limit by (&lt; 0, INVALID), by LoadGen's rules;
    /// null when its verdict did not turn on over-limit queries (a failure, a short schedule).
    /// </summary>
    public int? Margin { get; init; }

    /// <summary>The slowest judged value against its limit (1 = at the limit; the closest of TTFT, TPOT and latency).</summary>
    public double? PeakToLimit { get; init; }

    /// <summary>
    /// Whether a rerun could well decide the other way: INVALID by at most <paramref name="queries"/> over-limit queries
    /// (a hiccup's worth), or VALID within that many of the boundary with its slowest value near the limit. With few
    /// queries LoadGen allows no over-limit query at all, so a VALID probe's margin alone would call every probe borderline.
    /// </summary>
    public bool IsBorderline(int queries, double nearLimit = 0.8) => !Failed && Margin is { } m && Math.Abs(m) <= queries
        && (!Valid || PeakToLimit is not { } peak || peak >= nearLimit);
}

/// <summary>
/// The outcome: the highest rate that was VALID (null when none was), the lowest that was not, every probe in the order
/// run, and whether the bracket closed to the tolerance within the probe budget.
/// </summary>
public sealed record CapacityResult(double? CapacityQps, double? LowestInvalidQps, bool Converged, IReadOnlyList<CapacityProbe> Probes, string Note);

/// <summary>
/// Finds the highest Poisson QPS that stays VALID: bracketing (doubling up from the start while valid, halving down
/// while not) and then bisection of the bracket. Validity is assumed monotone in the rate, as queueing makes it;
/// a noisy non-monotone probe only narrows the bracket on its side, it never makes the search wander.
/// </summary>
public static class CapacitySearch
{
    /// <summary>Below this rate a SUT that is still INVALID is declared to have no capacity under the limits.</summary>
    public const double FloorQps = 1e-3;

    /// <summary>
    /// The scenario one probe runs: the target rate, and a max duration that covers twice the schedule it plans
    /// (min_queries / qps, at least min_duration). A low-rate probe cut off by the suite's max_duration_s would be
    /// INVALID for the clock, not for its latency, and the search would bracket downwards for nothing.
    /// </summary>
    public static ScenarioSpec ProbeSpec(ScenarioSpec scenario, double qps)
    {
        var plannedS = Math.Max(scenario.MinDuration.Seconds, scenario.MinQueryCount / qps);
        return scenario with { TargetQps = qps, MaxDuration = Nanoseconds.FromSeconds(Math.Max(scenario.MaxDuration.Seconds, 2 * plannedS)) };
    }

    /// <param name="probe">runs one full probe at the given target QPS (index, phase and rate are passed for its record)</param>
    public static CapacityResult Run(CapacitySearchSpec spec, Func<int, string, double, CapacityProbe> probe, CancellationToken cancel = default)
    {
        if (spec.StartQps <= 0 || spec.TolerancePct <= 0 || spec.MaxProbes < 2)
            throw new ArgumentException($"capacity search needs start_qps > 0, tolerance_pct > 0 and max_probes ≥ 2 (got {spec})");
        var probes = new List<CapacityProbe>();
        var decisions = 0; // rates decided: the probe budget; a borderline rate's repeats come on top of it
        double? lo = null, hi = null;

        // One decision at a rate: a borderline probe is repeated and the majority of its runs decides.
        CapacityProbe? Probe(string phase, double qps)
        {
            if (decisions >= spec.MaxProbes || cancel.IsCancellationRequested) return null;
            decisions++;
            var p = probe(probes.Count, phase, qps);
            probes.Add(p);
            if (spec.Repeats <= 1 || !p.IsBorderline(spec.BorderlineQueries)) return p;
            var runs = new List<CapacityProbe> { p };
            var needed = spec.Repeats / 2 + 1;
            while (runs.Count(r => r.Valid) < needed && runs.Count(r => !r.Valid) < needed && runs.Count < spec.Repeats && !cancel.IsCancellationRequested)
            {
                var again = probe(probes.Count, "repeat", qps);
                probes.Add(again);
                runs.Add(again);
                if (again.Failed) return again;
            }
            var valid = runs.Count(r => r.Valid) > runs.Count / 2;
            return p with { Valid = valid, Reason = valid ? null : runs.First(r => !r.Valid).Reason };
        }

        CapacityResult Done(string note) => new(lo, hi, Narrow(), probes, note);
        bool Narrow() => lo is { } l && hi is { } h && (h - l) / l * 100 <= spec.TolerancePct;

        var q = spec.StartQps;
        var first = Probe("bracket", q);
        if (first is null) return Done("no probe ran");
        if (first.Failed) return Done("the first probe failed: " + first.Reason);
        if (first.Valid)
        {
            lo = q;
            while (hi is null)
            {
                q *= 2;
                var p = Probe("bracket", q);
                if (p is null) return Done($"probe budget spent before an INVALID rate was found; capacity is at least {lo:0.###} QPS");
                if (p.Failed) return Done("a probe failed: " + p.Reason);
                if (p.Valid) lo = q; else hi = q;
            }
        }
        else
        {
            hi = q;
            while (lo is null)
            {
                q /= 2;
                if (q < FloorQps) return Done($"INVALID even at {q * 2:0.####} QPS: the limits cannot be met at any rate");
                var p = Probe("bracket", q);
                if (p is null) return Done($"probe budget spent before a VALID rate was found; capacity is below {hi:0.###} QPS");
                if (p.Failed) return Done("a probe failed: " + p.Reason);
                if (p.Valid) lo = q; else hi = q;
            }
        }
        while (!Narrow())
        {
            var mid = (lo!.Value + hi!.Value) / 2;
            var p = Probe("bisect", mid);
            if (p is null) return Done($"probe budget ({spec.MaxProbes}) spent with the bracket at {lo:0.###}–{hi:0.###} QPS");
            if (p.Failed) return Done("a probe failed: " + p.Reason);
            if (p.Valid) lo = mid; else hi = mid;
        }
        return Done($"converged: VALID at {lo:0.###} QPS, INVALID at {hi:0.###} QPS ({(hi - lo) / lo * 100:0.#} % apart)");
    }
}
