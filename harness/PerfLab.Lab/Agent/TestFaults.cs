using System.Runtime.InteropServices;
using PerfLab.Core.LoadGen;

namespace PerfLab.Lab.Agent;

/// <summary>
/// Test-only fault injection: PERFLAB_TEST_FAULT="crash:N", "hang:N" or "kill:N" makes the agent fail on the query after
/// its N-th, so tests can check that a broken Realm fails its own cell and nothing else. Not a suite setting: no
/// workload parameter reaches it; only a test composes a backend that sets it (see the Lab tests' FaultInjection).
/// </summary>
public sealed class TestFaultSut(ISystemUnderTest inner, string fault, long after) : ISystemUnderTest, ISutStatistics, IDisposable
{
    public const string Variable = "PERFLAB_TEST_FAULT";
    private long _issued;

    /// <summary>The SUT wrapped in the fault the environment asks for, or unchanged when it asks for none.</summary>
    public static ISystemUnderTest Wrap(ISystemUnderTest sut)
    {
        var spec = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrEmpty(spec)) return sut;
        var parts = spec.Split(':');
        return parts.Length == 2 && parts[0] is "crash" or "hang" or "kill" && long.TryParse(parts[1], out var n)
            ? new TestFaultSut(sut, parts[0], n)
            : throw new ArgumentException($"{Variable}='{spec}': give crash:N, hang:N or kill:N");
    }

    public string Name => inner.Name;
    public IReadOnlyDictionary<string, long> Counters => (inner as ISutStatistics)?.Counters ?? new Dictionary<string, long>();

    public void IssueQuery(ReadOnlySpan<QuerySample> samples, IResponseSink sink)
    {
        if (Interlocked.Add(ref _issued, samples.Length) > after) Fail();
        inner.IssueQuery(samples, sink);
    }

    public void FlushQueries() => inner.FlushQueries();

    private void Fail()
    {
        switch (fault)
        {
            case "crash":
                // On a thread of its own, as a SUT worker's bug would: the runtime aborts the process with the message on stderr.
                new Thread(() => throw new InvalidOperationException("fault hook: the agent crashes as the test asked")).Start();
                Thread.Sleep(Timeout.Infinite);
                break;
            case "hang": Thread.Sleep(Timeout.Infinite); break;
            default: kill(getpid(), 9); break;
        }
    }

    [DllImport("libc")] private static extern int kill(int pid, int sig);
    [DllImport("libc")] private static extern int getpid();

    public void Dispose() => (inner as IDisposable)?.Dispose();
}
