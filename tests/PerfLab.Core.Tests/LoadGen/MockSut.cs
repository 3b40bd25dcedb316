using PerfLab.Core.LoadGen;
using PerfLab.Core.Time;

namespace PerfLab.Core.Tests.LoadGen;

/// <summary>
/// Mock SUT for unit tests of the load generator's logic: serves queries on one thread, each taking a fixed
/// time (busy wait) and streaming a fixed token count. Not a measurement of anything.
/// </summary>
public sealed class MockSut : ISystemUnderTest, IDisposable
{
    private readonly System.Collections.Concurrent.BlockingCollection<(QuerySample, IResponseSink)> _q = new();
    private readonly Thread _worker;
    public long ServiceNs { get; init; }
    public int Tokens { get; init; } = 4;
    public int? FailAfter { get; init; }
    public bool Silent { get; init; }
    public List<long> IssuedIds { get; } = [];
    private int _served;

    public MockSut()
    {
        _worker = new Thread(() =>
        {
            foreach (var (q, sink) in _q.GetConsumingEnumerable())
            {
                if (FailAfter is { } f && ++_served > f) { sink.Fail("mock failure"); continue; }
                if (Silent) continue;
                var end = MonotonicClock.NowNs() + ServiceNs;
                sink.FirstToken(q.Id);
                while (MonotonicClock.NowNs() < end) Thread.SpinWait(10);
                sink.Complete(q.Id, Tokens, ServiceNs);
            }
        }) { IsBackground = true };
        _worker.Start();
    }

    public string Name => "mock";
    public void IssueQuery(ReadOnlySpan<QuerySample> samples, IResponseSink sink)
    {
        foreach (var s in samples)
        {
            lock (IssuedIds) IssuedIds.Add(s.Id);
            _q.Add((s, sink));
        }
    }
    public void FlushQueries() { }
    public void Dispose() => _q.CompleteAdding();
}
