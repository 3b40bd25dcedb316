using PerfLab.Core.LoadGen;
using PerfLab.Core.Results;
using PerfLab.Core.Suites;
using PerfLab.Core.Time;
using PerfLab.Lab.Backends;
using PerfLab.Results.Schema;

namespace PerfLab.Lab.Tests.Fakes;

/// <summary>
/// A fake backend for runner tests: no process, no agent, no real time. Its SUT answers each query at once and moves
/// a virtual clock by a service time drawn (seeded) around the cell's mean, so the runner, the run folder and the
/// overheads are exercised end to end in milliseconds. Named a fake: it measures nothing.
/// </summary>
public sealed class FakeRealmBackend(Platform platform, VirtualClock clock, double meanServiceNs) : IRealmBackend
{
    /// <summary>Cells (by workload name) whose launch fails, and whose SUT fails after this many queries.</summary>
    public HashSet<string> FailLaunch { get; } = [];
    public Dictionary<string, int> FailAfterQueries { get; } = [];
    public List<string> Launched { get; } = [];
    /// <summary>The fake agent's peak memory in KiB at its n-th asking (null: the fake cannot say, as before).</summary>
    public Func<int, long>? PeakKb { get; set; }

    public Platform Platform => platform;
    public Evidence EvidenceFor(RealmConfig config) => platform == Platform.Native ? Evidence.Measured : Evidence.Emulated;
    public string? CannotRun(Cell cell) => null;

    public IRealm Launch(Cell cell, TimeSpan agentTimeout)
    {
        Launched.Add(cell.Id);
        if (FailLaunch.Contains(cell.Workload.Name)) throw new RealmFailedException("the fake Realm refused to start", "fake stderr");
        return new FakeRealm(cell, clock, meanServiceNs, FailAfterQueries.GetValueOrDefault(cell.Workload.Name, int.MaxValue), PeakKb);
    }

    /// <summary>A host record for manifests written by fake runs: it says it is one.</summary>
    public static HostEnvironment FakeHost() => new("fake-host", "fake CPU (virtual time)", 2, 1L << 34, "0.0-fake", "fake", "x64", "madvise", "madvise",
        0, 0, 0, false, "none", "none", "no /dev/kvm", "none loaded", false, "fake", "", "n/a", "fake", false);

    private sealed class FakeRealm(Cell cell, VirtualClock clock, double meanNs, int failAfter, Func<int, long>? peakKb) : IServingRealm, ISystemUnderTest
    {
        private readonly Random _rng = new(cell.Id.GetHashCode(StringComparison.Ordinal) & 0xffff);
        private int _served, _servedBeforeWindow;
        private bool _inWindow;

        public ISystemUnderTest Sut => this;
        public IQuerySampleLibrary Library { get; } = new CountingSampleLibrary("fake", 16);
        public RealmPhases Phases { get; } = new() { [Phase.Launch] = 1, [Phase.Load] = 2 };
        public EffectiveRealm Effective { get; } = new();
        public string StderrTail => "";
        public string Name => "fake";

        public void IssueQuery(ReadOnlySpan<QuerySample> samples, IResponseSink sink)
        {
            foreach (var q in samples)
            {
                // failAfter counts the measured window's queries (the warm-up's are served first and not counted).
                if (++_served - _servedBeforeWindow > failAfter && _inWindow) { sink.Fail("the fake SUT went away"); return; }
                // Log-normal jitter around the mean, so the statistics have a distribution to work on.
                var ns = (long)(meanNs * Math.Exp(0.1 * Normal()));
                clock.Advance(ns / 4);
                sink.FirstToken(q.Id);
                clock.Advance(ns - ns / 4);
                sink.Complete(q.Id, 4, ns);
            }
        }

        private double Normal() => Math.Sqrt(-2 * Math.Log(1 - _rng.NextDouble())) * Math.Cos(2 * Math.PI * _rng.NextDouble());

        public void FlushQueries() { }
        private int _asked;
        public long? PeakResidentKb() => peakKb?.Invoke(_asked++);
        public void BeginMeasuredWindow() => (_servedBeforeWindow, _inWindow) = (_served, true);
        public void CollectStats() => Effective.Set(SettingSource.Agent, "queries_served", (_served - _servedBeforeWindow).ToString());
        public void Teardown() => Phases[Phase.Teardown] = 1;
        public void Dispose() { }
    }
}
