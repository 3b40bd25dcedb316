using PerfLab.Core.Suites;
using PerfLab.Core.Time;
using PerfLab.Lab.Backends;
using PerfLab.Lab.Backends.Mechanics;
using PerfLab.Lab.Hosts;
using PerfLab.Lab.Os;
using PerfLab.Lab.Progress;
using PerfLab.Lab.Runner;

namespace PerfLab.Lab.Tests;

/// <summary>Temporary suites and result folders for tests that run real agents.</summary>
public sealed class Scratch : IDisposable
{
    public string Dir { get; } = Path.Combine(Path.GetTempPath(), "perflab-tests", Guid.NewGuid().ToString("N")[..12]);
    public string Runs => Path.Combine(Dir, "runs");

    /// <summary>
    /// Launches per cell (null: the suite's own, default 3). A test of one mechanism (a fault, a page policy) needs one
    /// launch; a test of the figures (the gate) uses the suite's.
    /// </summary>
    public int? Repetitions { get; set; } = 1;

    public Scratch() => Directory.CreateDirectory(Dir);

    public string Write(string name, string yaml)
    {
        var path = Path.Combine(Dir, name);
        File.WriteAllText(path, yaml);
        return path;
    }

    /// <summary>Runs a suite for real (agents, processes, VMs) on every platform; extra mechanics (a test's fault hook) go on each.</summary>
    public RunOutcome Run(string yaml, CancellationToken cancel = default, params IRealmMechanic[] extra)
    {
        var suite = SuiteLoader.Parse(yaml, "test.yaml");
        var runner = new SuiteRunner(Platforms.All(suite.CalibrationProfile, extra),
            new RunContext(HostProbe.Capture(), PackageVersions.Collect(), new PreciseWait(), MonotonicClock.Instance) { Interference = new ProcInterferenceProbe() });
        return runner.Run(suite, Runs, new PlainProgress(TextWriter.Null), cancel, Repetitions);
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, true); } catch (IOException) { }
    }
}

/// <summary>
/// A test's fault hook: makes the agent of the named workloads crash, hang or be killed after N queries (through
/// TestFaultSut's environment variable), so a test can check that a broken Realm fails only its own cell.
/// </summary>
public sealed class FaultInjection(IReadOnlyDictionary<string, string> faultByWorkload) : IRealmMechanic
{
    public IMechanicLaunch Begin(LaunchState state) => new Launch(state, faultByWorkload.GetValueOrDefault(state.Cell.Workload.Name));

    private sealed class Launch(LaunchState s, string? fault) : IMechanicLaunch
    {
        public void BeforeStart()
        {
            if (fault != null) s.Environment[PerfLab.Lab.Agent.TestFaultSut.Variable] = fault;
        }
    }
}
