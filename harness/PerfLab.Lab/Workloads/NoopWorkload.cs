using PerfLab.Core.LoadGen;
using PerfLab.Core.Suites;

namespace PerfLab.Lab.Workloads;

/// <summary>The null workload: answers at once, so what is measured is the load generator and the channel.</summary>
public sealed class NoopWorkload : IWorkload
{
    public WorkloadKind Kind => WorkloadKinds.Noop;
    public ISystemUnderTest CreateSut(WorkloadSpec spec, SutContext context) => new NullSut();
}

/// <summary>Answers every query at once with one token: measures the load generator and the channel.</summary>
public sealed class NullSut : ISystemUnderTest
{
    public string Name => "null";
    public void IssueQuery(ReadOnlySpan<QuerySample> samples, IResponseSink sink)
    {
        foreach (var q in samples) sink.Complete(q.Id, 1, 0);
    }
    public void FlushQueries() { }
}
