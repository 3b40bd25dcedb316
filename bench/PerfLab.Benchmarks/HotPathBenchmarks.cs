using BenchmarkDotNet.Attributes;
using PerfLab.Core.Channel;
using PerfLab.Core.Gate;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Statistics;
using PerfLab.Core.Suites;
using PerfLab.Core.Units;

namespace PerfLab.Benchmarks;

/// <summary>The channel's hot messages: what the host's reader thread does per token.</summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 3, iterationCount: 10)]
public class ChannelBenchmarks
{
    private const string CompleteLine = "complete 123456 16 3500000";

    [Benchmark]
    public long ParseComplete() => ChannelProtocol.TryParse(CompleteLine, out var m, out _) ? m.Id : -1;

    [Benchmark]
    public string FormatQuery() => ChannelProtocol.Query(123456, 77);
}

/// <summary>Statistics and the gate on run-sized samples: what a summary and a gate cost per cell and metric.</summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 2, iterationCount: 8)]
public class StatisticsBenchmarks
{
    private double[] _a = [], _b = [];

    [Params(1000, 10000)]
    public int N;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        double Draw() => 1e6 * Math.Exp(0.3 * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        _a = Enumerable.Range(0, N).Select(_ => Draw()).ToArray();
        _b = Enumerable.Range(0, N).Select(_ => Draw() * 1.05).ToArray();
    }

    [Benchmark]
    public double Summary() => DistributionSummary.Of(_a)!.P99.Value;

    [Benchmark]
    public double GateComparison() => SampleComparer.Compare(_a, _b, false, 5, 0.99).Ratio;

    /// <summary>LoadGen's server check on the samples of a long run: h(t) for the queries over the bound.</summary>
    [Benchmark]
    public long EarlyStoppingServer() => EarlyStopping.Server(_a, _a.Length, _a[_a.Length / 2] * 1.5, 0.99).NeedQueries;

    /// <summary>Single-stream's estimate: a bisection over t, each step a search for h(t).</summary>
    [Benchmark]
    public double? EarlyStoppingSingleStream() => EarlyStopping.SingleStream(_a, _a.Length, 0.90).EstimateNs;
}

/// <summary>The generator's own cost per query, against a SUT that answers inline (no channel, no threads).</summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 2, iterationCount: 8)]
public class LoadGeneratorBenchmarks
{
    private sealed class InlineNullSut : ISystemUnderTest
    {
        public string Name => "inline-null";
        public void IssueQuery(ReadOnlySpan<QuerySample> samples, IResponseSink sink)
        {
            foreach (var q in samples) { sink.FirstToken(q.Id); sink.Complete(q.Id, 1, 0); }
        }
        public void FlushQueries() { }
    }

    private readonly ScenarioSpec _offline = new("offline", ScenarioKind.Offline, null, Nanoseconds.Zero, Nanoseconds.FromSeconds(60), 10_000, null, null, null, 0.99, 0.99);
    private readonly ScenarioSpec _single = new("ss", ScenarioKind.SingleStream, null, Nanoseconds.Zero, Nanoseconds.FromSeconds(60), 10_000, null, null, null, 0.9, 0.99);
    private readonly IQuerySampleLibrary _qsl = new CountingSampleLibrary("b", 1024);

    [Benchmark(OperationsPerInvoke = 10_000)]
    public int Offline10k() => new LoadGenerator().Run(_offline, new InlineNullSut(), _qsl, 1).Records.Length;

    [Benchmark(OperationsPerInvoke = 10_000)]
    public int SingleStream10k() => new LoadGenerator().Run(_single, new InlineNullSut(), _qsl, 1).Records.Length;
}
