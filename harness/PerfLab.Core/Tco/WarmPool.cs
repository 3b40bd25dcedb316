namespace PerfLab.Core.Tco;

/// <summary>How Realm requests arrive: Poisson, or bursty (a two-state process: bursts at a multiple of the base rate).</summary>
public enum ArrivalPattern { Poisson, Bursty }

/// <summary>
/// A warm-pool question: Realms requested at a rate, each cold-booted in a given time (with jitter), held for a session
/// and then torn down (a Realm's memory is scrubbed, never handed to another tenant). What pool of pre-booted Realms
/// keeps the start latency within the target at the given percentile?
/// </summary>
public sealed record WarmPoolInputs(
    double ArrivalsPerSecond, ArrivalPattern Pattern, double ColdBootS, double TargetStartS, double Percentile = 0.99,
    double BootJitterCv = 0.1, double BurstMultiplier = 5, double BurstFraction = 0.1, double MeanBurstS = 30,
    int Requests = 20_000, int Seed = 1, int MaxPool = 512)
{
    /// <summary>
    /// What a pooled Realm still takes once claimed (its key from cached evidence, its model loaded, the first token):
    /// 0 when the pool keeps Realms fully loaded; a run's warm start (RealmStartTable) when it keeps them attested only.
    /// </summary>
    public double WarmStartS { get; init; }
}

/// <summary>One simulated pool size: the start-latency percentile it gives and the Realms it keeps booted and idle.</summary>
public sealed record WarmPoolPoint(int PoolSize, double StartLatencyAtPercentileS, double MeanStartLatencyS, double FractionWaiting);

public sealed record WarmPoolResult(int? PoolSize, IReadOnlyList<WarmPoolPoint> Curve, string Basis);

/// <summary>Discrete-event simulation of a warm pool, seeded: the same inputs give the same answer.</summary>
public static class WarmPool
{
    public static IReadOnlyList<string> Problems(WarmPoolInputs i)
    {
        var p = new List<string>();
        if (!(i.ArrivalsPerSecond > 0)) p.Add($"arrivals per second {i.ArrivalsPerSecond}: give a rate above 0");
        if (!(i.ColdBootS > 0)) p.Add($"cold boot {i.ColdBootS} s: give a time above 0 (a measured launch-to-ready, e.g. the lifecycle chart's)");
        if (i.TargetStartS < 0) p.Add($"target start latency {i.TargetStartS} s: cannot be negative");
        if (i.Percentile is <= 0 or >= 1) p.Add($"percentile {i.Percentile}: give a fraction between 0 and 1, e.g. 0.99");
        if (i.WarmStartS < 0 || !double.IsFinite(i.WarmStartS)) p.Add($"warm start {i.WarmStartS} s: give a time of 0 or more");
        if (i.WarmStartS >= i.ColdBootS && i.ColdBootS > 0) p.Add($"warm start {i.WarmStartS} s is not shorter than the cold boot {i.ColdBootS} s: a pool would not help");
        if (i.BootJitterCv < 0) p.Add($"boot jitter {i.BootJitterCv}: a coefficient of variation cannot be negative");
        if (i.Pattern == ArrivalPattern.Bursty && (i.BurstMultiplier < 1 || i.BurstFraction is <= 0 or >= 1))
            p.Add("bursty arrivals need a burst multiplier ≥ 1 and a burst fraction between 0 and 1");
        return p;
    }

    /// <summary>The start latency of every request with a pool of <paramref name="pool"/> Realms kept booted and unclaimed.</summary>
    public static double[] StartLatencies(WarmPoolInputs i, int pool)
    {
        var rng = new Random(i.Seed);
        var arrivals = Arrivals(i, new Random(unchecked(i.Seed * 7919 + 1)));
        // Realms of the pool: the time each is (or will be) ready. Every claim starts a replacement boot at once.
        var ready = new PriorityQueue<double, double>();
        for (var k = 0; k < pool; k++) ready.Enqueue(0, 0);
        var sigma = Math.Sqrt(Math.Log(1 + i.BootJitterCv * i.BootJitterCv));
        double Boot() => i.ColdBootS * Math.Exp(sigma * Normal(rng) - sigma * sigma / 2); // log-normal, mean = ColdBootS
        var latencies = new double[arrivals.Length];
        for (var n = 0; n < arrivals.Length; n++)
        {
            var now = arrivals[n];
            var own = Boot();
            if (pool > 0 && ready.Peek() is var first && Math.Max(0, first - now) + i.WarmStartS < own)
            {
                ready.Dequeue();
                latencies[n] = Math.Max(0, first - now) + i.WarmStartS;
                ready.Enqueue(now + Boot(), now); // its replacement boots from now
            }
            else latencies[n] = own;                // no pooled Realm would be sooner: boot one
        }
        return latencies;
    }

    public static WarmPoolResult Size(WarmPoolInputs i)
    {
        var problems = Problems(i);
        if (problems.Count > 0) throw new ArgumentException(string.Join("; ", problems));
        var curve = new List<WarmPoolPoint>();
        int? found = null;
        // Grow the pool until the target is met (exact steps to 16, then by a quarter), then walk back over the last step.
        for (var w = 0; w <= i.MaxPool; w = w < 16 ? w + 1 : (int)Math.Ceiling(w * 1.25))
        {
            curve.Add(Point(i, w));
            if (curve[^1].StartLatencyAtPercentileS <= i.TargetStartS) { found = w; break; }
        }
        if (found is { } f && f > 16)
            for (var w = curve[^2].PoolSize + 1; w < f; w++)
            {
                var p = Point(i, w);
                if (p.StartLatencyAtPercentileS > i.TargetStartS) continue;
                curve.Add(p);
                found = w;
                break;
            }
        var basis = $"{i.Requests} simulated requests, {i.Pattern.ToString().ToLowerInvariant()} arrivals at {i.ArrivalsPerSecond:0.###}/s" +
                    (i.Pattern == ArrivalPattern.Bursty ? $" (bursts ×{i.BurstMultiplier} for {i.BurstFraction:P0} of the time)" : "") +
                    $", cold boot {i.ColdBootS:0.###} s ±{i.BootJitterCv:P0} (log-normal), a pooled Realm's start {i.WarmStartS:0.###} s, p{i.Percentile * 100:0.#} start ≤ {i.TargetStartS:0.###} s, seed {i.Seed}";
        return new WarmPoolResult(found, curve.OrderBy(c => c.PoolSize).ToList(), basis);
    }

    private static WarmPoolPoint Point(WarmPoolInputs i, int pool)
    {
        var lat = StartLatencies(i, pool);
        Array.Sort(lat);
        var q = lat[Math.Min(lat.Length - 1, (int)Math.Ceiling(i.Percentile * lat.Length) - 1)];
        return new WarmPoolPoint(pool, q, lat.Average(), lat.Count(x => x > 0) / (double)lat.Length);
    }

    private static double[] Arrivals(WarmPoolInputs i, Random rng)
    {
        var t = new double[i.Requests];
        double now = 0;
        // Bursty: rates chosen so the long-run mean is the given rate; state durations exponential.
        var burst = false;
        var baseRate = i.Pattern == ArrivalPattern.Bursty ? i.ArrivalsPerSecond / (1 - i.BurstFraction + i.BurstFraction * i.BurstMultiplier) : i.ArrivalsPerSecond;
        var meanQuietS = i.MeanBurstS * (1 - i.BurstFraction) / i.BurstFraction;
        var switchAt = i.Pattern == ArrivalPattern.Bursty ? Exp(rng, 1 / meanQuietS) : double.PositiveInfinity;
        for (var n = 0; n < t.Length; n++)
        {
            while (true)
            {
                var rate = burst ? baseRate * i.BurstMultiplier : baseRate;
                var next = now + Exp(rng, rate);
                if (next < switchAt) { now = next; break; }
                // Memoryless: restart the draw from the switch in the new state's rate.
                now = switchAt;
                burst = !burst;
                switchAt = now + Exp(rng, 1 / (burst ? i.MeanBurstS : meanQuietS));
            }
            t[n] = now;
        }
        return t;
    }

    private static double Exp(Random rng, double rate) => -Math.Log(1 - rng.NextDouble()) / rate;

    private static double Normal(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
