using PerfLab.Core.Results;
using PerfLab.Core.Suites;
using PerfLab.Lab.Os;
using PerfLab.Lab.Workloads;

namespace PerfLab.Lab.Backends.Mechanics;

/// <summary>The cell's page size for the agent's whole process (glibc tunables and prctl), refused up front when the host cannot give it.</summary>
public sealed class PagePolicyMechanic : IRealmMechanic
{
    public string? CannotRun(Cell cell) =>
        PagePolicy.CannotProvide(cell.Realm.PageSize, cell.Realm.Backing, WorkloadRegistry.For(cell.Workload.Kind).PageBackedBytes(cell.Workload));

    public IMechanicLaunch Begin(LaunchState state) => new Launch(state);

    private sealed class Launch(LaunchState s) : IMechanicLaunch
    {
        public void BeforeStart()
        {
            foreach (var (k, v) in PagePolicy.LaunchEnvironment(s.Cell.Realm.PageSize, s.Cell.Realm.Backing))
            {
                s.Environment[k] = v;
                s.Effective.Set(SettingSource.Env, k, v);
            }
        }
    }
}
