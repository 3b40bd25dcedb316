namespace PerfLab.Core.LoadGen;

/// <summary>Everything known about one query; times are nanoseconds from the scenario's start (-1: never happened).</summary>
public struct QueryRecord
{
    public long Id;
    public int SampleIndex;
    public long ScheduledNs;
    public long IssuedNs;
    public long FirstTokenNs;
    public long CompletedNs;
    public int Tokens;
    public long InsideNs;
    /// <summary>Why the query failed (an HTTP error, a timeout, a stream cut short), or null: a failed query ends, but
    /// never counts as served; its latency is not a sample of the SUT's.</summary>
    public string? Error;

    /// <summary>The query ended, served or failed.</summary>
    public readonly bool IsComplete => CompletedNs >= 0;
    /// <summary>The query ended with its answer: what latency, token and throughput figures are made of.</summary>
    public readonly bool IsServed => CompletedNs >= 0 && Error is null;
    public readonly long LatencyNs => CompletedNs - ScheduledNs;
    public readonly long TtftNs => FirstTokenNs >= 0 ? FirstTokenNs - ScheduledNs : -1;
    /// <summary>Time per output token after the first: MLPerf's TPOT.</summary>
    public readonly long TpotNs => FirstTokenNs >= 0 && Tokens > 1 ? (CompletedNs - FirstTokenNs) / (Tokens - 1) : -1;
    public readonly long IssueLagNs => IssuedNs - ScheduledNs;
}

/// <summary>
/// Append-only store of query records in fixed chunks, so a record's address never moves while completion
/// threads write to it and the issue thread keeps appending. No lock on the completion path.
/// </summary>
public sealed class QueryLog
{
    private const int ChunkBits = 12, ChunkSize = 1 << ChunkBits, MaxChunks = 1 << 15;
    private readonly QueryRecord[]?[] _chunks = new QueryRecord[MaxChunks][];
    private long _count;

    public long Count => Volatile.Read(ref _count);

    /// <summary>Appends a record (issue thread only) and returns its id.</summary>
    public long Add(int sampleIndex, long scheduledNs)
    {
        var id = _count;
        var c = id >> ChunkBits;
        if (c >= MaxChunks) throw new InvalidOperationException($"more than {(long)MaxChunks * ChunkSize} queries in one scenario");
        _chunks[c] ??= new QueryRecord[ChunkSize];
        ref var r = ref _chunks[c]![id & (ChunkSize - 1)];
        r = new QueryRecord { Id = id, SampleIndex = sampleIndex, ScheduledNs = scheduledNs, IssuedNs = -1, FirstTokenNs = -1, CompletedNs = -1 };
        Volatile.Write(ref _count, id + 1);
        return id;
    }

    public ref QueryRecord this[long id]
    {
        get
        {
            if ((ulong)id >= (ulong)Count) throw new ArgumentOutOfRangeException(nameof(id), id, $"no query with this id (0..{Count - 1})");
            return ref _chunks[id >> ChunkBits]![id & (ChunkSize - 1)];
        }
    }

    /// <summary>
    /// A copy of a query's record once it completed, read from any thread while the run goes on: the completion time is
    /// published last (Volatile.Write in the completion path), so a record seen complete is complete. For crash-safe
    /// results: completed queries are written to disk as the scenario runs.
    /// </summary>
    public bool TryReadCompleted(long id, out QueryRecord record)
    {
        ref var r = ref this[id];
        if (Volatile.Read(ref r.CompletedNs) < 0) { record = default; return false; }
        record = r;
        return true;
    }

    public QueryRecord[] ToArray()
    {
        var all = new QueryRecord[Count];
        for (long i = 0; i < all.Length; i++) all[i] = this[i];
        return all;
    }
}
