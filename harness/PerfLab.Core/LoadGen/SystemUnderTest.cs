namespace PerfLab.Core.LoadGen;

/// <summary>One query: a unique id within the scenario and the index of the sample it asks about.</summary>
public readonly record struct QuerySample(long Id, int SampleIndex);

/// <summary>
/// The system under test, as MLPerf LoadGen sees it. IssueQuery must not block for the query's duration:
/// it hands the queries over and reports progress through the sink, from any thread.
/// </summary>
public interface ISystemUnderTest
{
    string Name { get; }
    void IssueQuery(ReadOnlySpan<QuerySample> samples, IResponseSink sink);
    /// <summary>No more queries will come for now; a batching SUT should not wait for more.</summary>
    void FlushQueries();
}

/// <summary>
/// A SUT that accounts for itself: the counters the agent reports in its stats (queries served, a digest of the
/// tokens produced, the working set it holds…), read through this interface rather than by knowing the SUT's type.
/// </summary>
public interface ISutStatistics
{
    IReadOnlyDictionary<string, long> Counters { get; }
}

/// <summary>The samples a SUT can be asked about (LoadGen's QSL).</summary>
public interface IQuerySampleLibrary
{
    string Name { get; }
    int TotalSampleCount { get; }
    int PerformanceSampleCount { get; }
    void LoadSamples(IReadOnlyList<int> indices);
    void UnloadSamples(IReadOnlyList<int> indices);
}

/// <summary>
/// Completion calls, thread-safe. The load generator timestamps each call when it arrives, so a remote SUT's
/// figures include the path back to the host. insideNs is the SUT's own account of its service time (0 if none).
/// </summary>
public interface IResponseSink
{
    void FirstToken(long queryId);
    void Complete(long queryId, int tokens, long insideNs);
    /// <summary>This query failed and the SUT goes on (a server's 500, a stream cut short, a timeout): it ends with its
    /// reason and the scenario continues. Tokens already streamed are kept for the record.</summary>
    void QueryFailed(long queryId, string reason, int tokensSoFar = 0);
    /// <summary>The SUT can serve nothing more (its process died, it stopped answering): the scenario ends failed.</summary>
    void Fail(string reason);
}

/// <summary>A library of N indistinguishable samples: for SUTs whose samples are generated, not loaded.</summary>
public sealed class CountingSampleLibrary(string name, int count) : IQuerySampleLibrary
{
    public string Name => name;
    public int TotalSampleCount => count;
    public int PerformanceSampleCount => count;
    public void LoadSamples(IReadOnlyList<int> indices) { }
    public void UnloadSamples(IReadOnlyList<int> indices) { }
}
