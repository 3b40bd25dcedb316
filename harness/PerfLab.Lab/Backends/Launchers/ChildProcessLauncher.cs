using PerfLab.Core.Results;
using PerfLab.Core.Suites;
using PerfLab.Lab.Os;

namespace PerfLab.Lab.Backends.Launchers;

/// <summary>The agent as a child process of the host, pinned to the cell's CPUs: the native baseline and the emulated Realm.</summary>
public sealed class ChildProcessLauncher : IRealmLauncher
{
    public Evidence Evidence => Evidence.Measured;

    public string? CannotRun(Cell cell)
    {
        if (!OperatingSystem.IsLinux()) return "the agent needs Linux (prctl, /proc smaps)";
        var cpus = Affinity.For(cell.Realm);
        if (cpus.FirstOrDefault(c => c >= Environment.ProcessorCount, -1) is var bad and >= 0)
            return $"pinning asks for CPU {bad}, this host has CPUs 0..{Environment.ProcessorCount - 1}";
        return null;
    }

    public AgentProcess Start(Cell cell, AgentLaunch launch, TimeSpan timeout, EffectiveRealm effective)
    {
        var args = launch.Cpus.Count > 0 ? [.. launch.Args, "--cpus", string.Join(",", launch.Cpus)] : launch.Args.ToList();
        return new AgentProcess(launch.File, args, launch.Environment, timeout);
    }
}
