using System.Diagnostics;
using System.Globalization;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Statistics;
using PerfLab.Core.Suites;
using PerfLab.Core.Units;
using PerfLab.Lab.Os;

namespace PerfLab.Benchmarks;

/// <summary>
/// How close to its schedule the server-scenario generator issues queries: (actual − scheduled) issue time,
/// p50/p99, at several QPS, for each wait strategy, side by side in one run, against an in-process null SUT
/// (so only the generator is measured). Also the generator's CPU time per query.
/// </summary>
public static class GeneratorAccuracy
{
    private sealed class NullSut : ISystemUnderTest
    {
        public string Name => "null";
        public void IssueQuery(ReadOnlySpan<QuerySample> samples, IResponseSink sink)
        {
            foreach (var q in samples) sink.Complete(q.Id, 1, 0);
        }
        public void FlushQueries() { }
    }

    public static int Run(string[] args, TextWriter output)
    {
        var seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 5;
        int[] rates = args.Length > 1 ? args[1].Split(',').Select(int.Parse).ToArray() : [1_000, 5_000, 20_000, 50_000, 100_000];
        IWaitStrategy[] waits = [new PreciseWait(30_000), new PreciseWait(200_000), new PreciseWait(500_000), new SpinYieldWait()];
        output.WriteLine($"# load generator issue accuracy, in-process null SUT, {seconds} s per point, {Environment.ProcessorCount} CPUs");
        output.WriteLine("| qps | wait | queries | achieved qps | lag p50 | lag p99 | lag p99.9 | max | CPU µs/query |");
        output.WriteLine("|---:|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var qps in rates)
        foreach (var wait in waits)
        {
            var spec = new ScenarioSpec("server", ScenarioKind.Server, qps, Nanoseconds.FromSeconds(seconds), Nanoseconds.FromSeconds(seconds * 4 + 10),
                1, null, null, null, 0.99, 0.99);
            var self = Process.GetCurrentProcess();
            var cpu0 = self.TotalProcessorTime;
            var run = new LoadGenerator(wait).Run(spec, new NullSut(), new CountingSampleLibrary("n", 1), 1);
            self.Refresh();
            var cpuUs = (self.TotalProcessorTime - cpu0).TotalMicroseconds / run.Records.Length;
            var lags = run.Records.Select(r => (double)r.IssueLagNs).Order().ToArray();
            double Q(double p) => lags[(int)Math.Min(lags.Length - 1, p * lags.Length)];
            var achieved = run.Records.Length / (run.Records[^1].IssuedNs / 1e9);
            output.WriteLine($"| {qps} | {wait.Name} | {run.Records.Length} | {achieved:0} | {Nanoseconds.Format(Q(0.5))} | {Nanoseconds.Format(Q(0.99))} | " +
                             $"{Nanoseconds.Format(Q(0.999))} | {Nanoseconds.Format(lags[^1])} | {cpuUs:0.0} |");
        }
        return 0;
    }
}
