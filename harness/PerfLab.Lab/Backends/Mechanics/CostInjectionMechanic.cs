using PerfLab.Core.Results;
using PerfLab.Core.Suites;

namespace PerfLab.Lab.Backends.Mechanics;

/// <summary>
/// World-switch costs from a named calibration profile, paid inside the agent as busy time at every crossing (see the
/// agent's RealmCostInjector). Every cell records the profile, its source and its prices.
/// </summary>
public sealed class CostInjectionMechanic(string profileName) : IRealmMechanic
{
    private CalibrationProfile? _profile;
    private string? _problem;

    private CalibrationProfile? Profile
    {
        get
        {
            if (_profile != null || _problem != null) return _profile;
            try { return _profile = CalibrationProfile.Load(profileName); }
            catch (Exception e) when (e is IOException or InvalidDataException or InvalidCastException or YamlDotNet.Core.YamlException)
            {
                _problem = e.Message;
                return null;
            }
        }
    }

    public string? CannotRun(Cell cell) => Profile is null ? "calibration profile: " + _problem : null;

    public IMechanicLaunch Begin(LaunchState state) => new Launch(state, Profile!);

    private sealed class Launch(LaunchState s, CalibrationProfile p) : IMechanicLaunch
    {
        public void BeforeStart()
        {
            s.Environment["PERFLAB_REALM_COSTS"] = p.ToEnvironment();
            s.Effective.Set("calibration_profile", p.Name);
            s.Effective.Set("calibration_source", p.Source);
            s.Effective.Set("calibration_costs", p.ToEnvironment());
        }
    }
}
