using PerfLab.Core.Tco;

namespace PerfLab.Core.Analysis;

/// <summary>One term of a Realm's TPOT overhead scaled to another model and host, with the formula it came from.</summary>
public sealed record ScaledTerm(string Term, string Formula, double TpotUs);

/// <summary>
/// A Realm's per-token overhead projected to another model on another host: the native TPOT from the batch-1 bandwidth
/// roofline, and each term re-derived for that TPOT. Every figure is projected; the inputs are all here.
/// </summary>
public sealed record RealmScaling(string Model, string Dtype, double BandwidthGBps, double ContextTokens, string Profile, double NativeTpotUs,
    IReadOnlyList<ScaledTerm> Terms)
{
    public double OverheadUs => Terms.Sum(t => t.TpotUs);
    public double OverheadPct => NativeTpotUs > 0 ? 100 * OverheadUs / NativeTpotUs : double.NaN;
}

/// <summary>
/// Scales a run's measured counts to a model it did not run. Decode at batch 1 is memory-bound: the native TPOT is at
/// least (weights + the sequence's KV cache) ÷ bandwidth, which this takes as the TPOT (the roofline: real kernels are
/// slower, which shrinks every relative term here). Per token the Realm then pays
///   timer ticks: TPOT × tick rate exits (a tick every 1/Hz of busy time, as the emulated Realm counts them);
///   answer exits: the run's own answer exits per decode token (one a query, over its output length);
///   stage-2 faults: the KV cache's growth per token (2 · layers · KV heads · head size · bytes) in granules — a lower
///     bound: runtimes also grow buffers, and the run's own faults per token against its own KV growth say by how much.
/// </summary>
public static class RealmScalingModel
{
    public static RealmScaling Project(RealmCounts run, RealmPrices p, ModelDescription model, string dtype, double bandwidthGBps, double contextTokens)
    {
        if (!ModelDescription.BytesPerWeight.ContainsKey(dtype))
            throw new ArgumentException($"dtype '{dtype}': one of {string.Join(", ", ModelDescription.BytesPerWeight.Keys)}");
        if (!(bandwidthGBps > 0 && bandwidthGBps < 1e6)) throw new ArgumentException($"bandwidth {bandwidthGBps} GB/s: give a bandwidth above 0 and below 1e6");
        if (!(contextTokens >= 0 && contextTokens <= model.MaxContext)) throw new ArgumentException($"context {contextTokens} tokens: give 0 to {model.MaxContext} for {model.Name}");
        var nativeUs = (model.WeightsGB(dtype) + model.KvCacheGB(dtype, contextTokens)) / bandwidthGBps * 1e6;
        var kvBytesPerToken = model.KvCacheGB(dtype, 1) * 1e9;
        var answerPerToken = run.DecodeTokens > 0 ? (double)run.AnswerExits / run.DecodeTokens : 0;
        var ci = System.Globalization.CultureInfo.InvariantCulture;
        return new RealmScaling(model.Name, dtype, bandwidthGBps, contextTokens, p.Profile, nativeUs,
        [
            new("exits: timer ticks", string.Create(ci, $"{nativeUs:0.#} µs × {p.TickHz:0.#} Hz × {p.ExitUs:0.###} µs"), nativeUs * 1e-6 * p.TickHz * p.ExitUs),
            new("exits: answer out", string.Create(ci, $"{answerPerToken:0.####} a token (this run's) × {p.ExitUs:0.###} µs"), answerPerToken * p.ExitUs),
            new("stage-2 faults: KV growth (lower bound)", string.Create(ci, $"{kvBytesPerToken:0} B a token ÷ {p.GranuleBytes} B × {p.FaultUs:0.###} µs"),
                kvBytesPerToken / p.GranuleBytes * p.FaultUs),
        ]);
    }
}
