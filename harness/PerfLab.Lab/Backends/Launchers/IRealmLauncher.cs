using PerfLab.Core.Results;
using PerfLab.Core.Suites;

namespace PerfLab.Lab.Backends.Launchers;

/// <summary>What a launcher starts: the agent's executable, its arguments and environment, and the host CPUs it may use.</summary>
public sealed record AgentLaunch(string File, IReadOnlyList<string> Args, IReadOnlyDictionary<string, string> Environment, IReadOnlyList<int> Cpus);

/// <summary>
/// Starts the process a Realm's agent runs in (a child process, a QEMU guest, a kvmtool Realm) and connects its channel.
/// Realm behaviour (page policy, RSI streaming, costs, MPAM) is not its business: that is the mechanics'.
/// </summary>
public interface IRealmLauncher
{
    /// <summary>How a figure from this launcher counts (a TCG guest is emulated, never a timing).</summary>
    Evidence Evidence { get; }
    string? CannotRun(Cell cell);
    AgentProcess Start(Cell cell, AgentLaunch launch, TimeSpan timeout, EffectiveRealm effective);
}
