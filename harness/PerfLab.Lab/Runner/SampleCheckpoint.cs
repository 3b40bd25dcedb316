using PerfLab.Core.LoadGen;
using PerfLab.Core.Suites;
using PerfLab.Results;

namespace PerfLab.Lab.Runner;

/// <summary>
/// Writes a running launch's completed queries to samples.csv once a second, so a crash or kill -9 of perflab loses at
/// most the last second of a cell that may run for ten minutes. The launch's end writes the rest (Stop gives the ids
/// already written). A write that fails here is rethrown by Stop, on the runner's thread, not lost on the timer's.
/// </summary>
internal sealed class SampleCheckpoint(RunFolderWriter folder, Cell cell, int launch) : IDisposable
{
    private static readonly TimeSpan Every = TimeSpan.FromSeconds(1);
    private readonly object _gate = new();
    private readonly HashSet<long> _written = [];
    private long _lowWater;
    private QueryLog? _log;
    private Timer? _timer;
    private Exception? _failure;
    private bool _stopped;

    /// <summary>Hands the live log of the scenario that just started (LoadGenerator.Run's watch hook).</summary>
    public void Watch(QueryLog log)
    {
        lock (_gate)
        {
            _log = log;
            _written.Clear();
            _lowWater = 0;
            _timer ??= new Timer(_ => Tick(), null, Every, Every);
        }
    }

    private void Tick()
    {
        lock (_gate)
        {
            if (_stopped || _log is null || _failure != null) return;
            try { folder.AppendCompleted(cell, launch, _log, _written, ref _lowWater); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { _failure = e; }
        }
    }

    /// <summary>Stops writing; the ids already on disk, which the launch's final write leaves out.</summary>
    public IReadOnlySet<long> Stop()
    {
        lock (_gate)
        {
            _stopped = true;
            _timer?.Dispose();
            if (_failure != null) throw new IOException(_failure.Message, _failure);
            return _written;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _stopped = true;
            _timer?.Dispose();
        }
    }
}
