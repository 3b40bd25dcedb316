using System.Diagnostics;
using System.Globalization;
using PerfLab.Core.Suites;
using PerfLab.Lab.Micro;
using PerfLab.Lab.Os;

namespace PerfLab.Lab.Backends.Mechanics;

/// <summary>
/// MPAM: a resctrl partition for the agent's process where the host has resctrl; where it does not, a bandwidth share
/// emulated by a throttled noisy neighbour (co_tenant: stream). <paramref name="partitionAgent"/> is false where the
/// agent's pid is not a host process (a guest's agent), so only the neighbour applies.
/// </summary>
public sealed class MpamMechanic(bool partitionAgent) : IRealmMechanic
{
    public string? CannotRun(Cell cell)
    {
        if (!cell.Realm.Mpam.IsOff && cell.Realm.CoTenant == CoTenant.None && !Resctrl.Available)
            return "MPAM: this host has no /sys/fs/resctrl; set co_tenant: stream to emulate the bandwidth share with a throttled neighbour";
        if (cell.Realm.Mpam.CachePortionPct is not null && !Resctrl.Available)
            return "MPAM cache portions need resctrl (L3 schemata); the interference mode emulates only bandwidth shares";
        return null;
    }

    public IMechanicLaunch Begin(LaunchState state) => new Launch(state, partitionAgent);

    private sealed class Launch(LaunchState s, bool partitionAgent) : IMechanicLaunch
    {
        private Process? _neighbour;
        private string? _group;

        /// <summary>
        /// The noisy neighbour: wsbench streaming memory on a CPU the agent does not use, busy for the share of each 10 ms
        /// the other partition would be allowed — 100 % with MPAM off, 100 − N % when the cell reserves N % of the
        /// bandwidth for the Realm. The bandwidth split is emulated; its effect is measured.
        /// </summary>
        public void BeforeStart()
        {
            if (s.Cell.Realm.CoTenant != CoTenant.Stream) return;
            var mpam = s.Cell.Realm.Mpam;
            var duty = mpam.BandwidthPct is { } b ? 100 - b : 100;
            var cpu = Enumerable.Range(0, Environment.ProcessorCount).FirstOrDefault(c => !s.Cpus.Contains(c), 0);
            _neighbour = ProcessRunner.StartBackground(NativeBuild.EnsureWsbench(),
                ["--cotenant-duty", duty.ToString(CultureInfo.InvariantCulture), "--cpu", cpu.ToString(CultureInfo.InvariantCulture)]);
            s.Effective.Set("co_tenant", $"stream (wsbench triad) on CPU {cpu}, busy {duty} % of every 10 ms");
            s.Effective.Set("mpam_mode", mpam.IsOff
                ? "no partitioning: the neighbour streams unthrottled"
                : $"emulated bandwidth reservation of {mpam.BandwidthPct} %: the neighbour is throttled to {duty} % (no resctrl on this host)");
            Thread.Sleep(200); // let the neighbour reach its stride before the Realm starts
        }

        public void AfterHello(AgentProcess agent)
        {
            // Before the load, so every thread the workload starts inherits the partition.
            if (!partitionAgent || s.Cell.Realm.Mpam.IsOff || !Resctrl.Available) return;
            _group = $"perflab-{agent.Pid}";
            s.Effective.Set("mpam_mode", "resctrl (measured): " + Resctrl.Apply(_group, s.Cell.Realm.Mpam, agent.Pid));
        }

        public void Dispose()
        {
            if (_group != null) Resctrl.Remove(_group);
            if (_neighbour is { } p)
            {
                try { p.Kill(); p.WaitForExit(2000); } catch (InvalidOperationException) { }
                p.Dispose();
            }
        }
    }
}
