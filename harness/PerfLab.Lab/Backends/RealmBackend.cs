using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using PerfLab.Core.Channel;
using PerfLab.Core.Results;
using PerfLab.Core.Suites;
using PerfLab.Core.Units;
using PerfLab.Lab.Agent;
using PerfLab.Lab.Backends.Launchers;
using PerfLab.Lab.Backends.Mechanics;
using PerfLab.Lab.Os;
using PerfLab.Lab.Workloads;

namespace PerfLab.Lab.Backends;

/// <summary>
/// A backend composed of a launcher (who starts the agent's process) and the Realm mechanics its platform has, applied
/// in order around every launch. <paramref name="measuresOnHost"/>: whether workloads the host measures itself (native
/// microbenchmarks) may run here — only where no Realm mechanic would make their figures mean something else.
/// </summary>
public sealed class RealmBackend(Platform platform, IRealmLauncher launcher, IReadOnlyList<IRealmMechanic> mechanics, Evidence? evidence = null,
    bool measuresOnHost = false) : IRealmBackend
{
    public Platform Platform => platform;
    // Under a user-mode emulator every figure is the emulator's, whatever the platform (its source says which).
    public Evidence EvidenceFor(RealmConfig config) => Hosts.CpuEmulation.Current is not null ? Evidence.Emulated : evidence ?? launcher.Evidence;

    public string? CannotRun(Cell cell)
    {
        if (WorkloadRegistry.For(cell.Workload.Kind) is IHostMeasuredWorkload)
            return measuresOnHost ? launcher.CannotRun(cell)
                : $"a {cell.Workload.Kind.Name} workload measures the host itself; on {platform.Name()} its figures would be native ones under a " +
                  $"{platform.Name()} label, so it runs only on native";
        if (KeyReleaseMechanic.Encrypted(cell) && !mechanics.Any(m => m is KeyReleaseMechanic))
            return $"weights: encrypted needs a Realm that attests to the lab's key broker to get its key (cca-emulated); {platform.Name()} has none " +
                   "(the cca backend would need the real platform's trust anchor, which no host here has)";
        if (WorkloadRegistry.For(cell.Workload.Kind).CannotRunOn(cell.Workload, platform) is { } workloadReason) return workloadReason;
        return launcher.CannotRun(cell) ?? mechanics.Select(m => m.CannotRun(cell)).FirstOrDefault(r => r != null);
    }

    public IRealm Launch(Cell cell, TimeSpan agentTimeout)
    {
        var workload = WorkloadRegistry.For(cell.Workload.Kind);
        var cpus = Affinity.For(cell.Realm);
        if (workload is IHostMeasuredWorkload host)
        {
            var measured = new HostMeasuredRealm(cell, host, cpus);
            if (Hosts.CpuEmulation.Current is { } cpu) measured.Effective.Set("cpu_emulation", cpu);
            return measured;
        }
        workload.PrepareOnHost(cell.Workload);
        var state = new LaunchState(cell, cpus);
        if (Hosts.CpuEmulation.Current is { } emulation) state.Effective.Set("cpu_emulation", emulation);
        // Workstation GC: server GC would start a heap and a GC thread per core beside the SUT's own threads.
        state.Environment["DOTNET_gcServer"] = "0";
        // No Dynamic PGO in the agent: its instrumented tier re-JITs the hot serving methods in the background ~6 s into
        // the agent's life, on the Realm's own vCPU. Measured (synthetic SUT, 1 vCPU, 100 QPS, after a 2 s warm-up): one
        // 30-40 ms stall at the same moment in every run, 5-6 queries over a 25 ms TTFT limit and the capacity search's
        // first probe INVALID; with DOTNET_TieredPGO=0 the largest TTFT was 11 ms and launch time unchanged (168-188 ms
        // against 160-197). The work a Realm serves is the model's, in native code; the agent's own JIT is noise.
        state.Environment["DOTNET_TieredPGO"] = "0";
        // A child process inherits the lab's environment but an agent in a VM does not: the W^X setting the lab needs
        // under an emulator (CpuEmulation) goes with it, since the guest runs on the same emulated CPU.
        if (System.Environment.GetEnvironmentVariable("DOTNET_EnableWriteXorExecute") is { Length: > 0 } wx)
            state.Environment["DOTNET_EnableWriteXorExecute"] = wx;
        var launches = new List<IMechanicLaunch>();
        var realm = new AgentRealm(cell, state, launches);
        try
        {
            foreach (var m in mechanics) launches.Add(m.Begin(state));
            foreach (var l in launches) l.BeforeStart();
            var (file, lead) = PerflabExecutable.Resolve();
            var args = lead.Concat(["agent", "--page-size", cell.Realm.PageSize.ToShort(), "--backing", cell.Realm.Backing.Name()]).ToList();
            var total = Stopwatch.StartNew();
            var sw = Stopwatch.StartNew();
            var agent = launcher.Start(cell, new AgentLaunch(file, args, state.Environment, cpus), agentTimeout, state.Effective);
            realm.Attach(agent);
            agent.OnCall = state.Serve;
            agent.AwaitHello();
            state.Phases[Phase.Launch] = sw.Elapsed.TotalMilliseconds;
            foreach (var l in launches) l.AfterHello(agent);
            var request = launches.Aggregate(LoadRequest.For(cell), (r, l) => l.Decorate(r));
            sw.Restart();
            agent.Send(ChannelProtocol.Load(JsonSerializer.Serialize(request, AgentHost.Json)));
            foreach (var l in launches) l.AfterLoadSent(agent);
            var ready = agent.Next("ready");
            state.Phases[Phase.Load] = sw.Elapsed.TotalMilliseconds;
            state.Phases[Phase.Ready] = total.Elapsed.TotalMilliseconds; // from process creation to a loaded, serving agent
            state.Phases[Phase.LoadInside] = ready.LoadNs / 1e6;
            foreach (var (k, v) in JsonSerializer.Deserialize<Dictionary<string, string>>(ready.Text, AgentHost.Json) ?? [])
            {
                state.Effective.Set(SettingSource.Agent, k, v);
                // Phases only the Realm can time (attestation, key release, decryption) come in its ready message.
                if (k.StartsWith("phase.", StringComparison.Ordinal) && k.EndsWith("_ms", StringComparison.Ordinal)
                    && RealmPhases.Named(k["phase.".Length..^"_ms".Length]) is { } phase
                    && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var ms))
                    state.Phases[phase] = ms;
            }
            state.Effective.Set("pid", agent.Pid.ToString(CultureInfo.InvariantCulture));
            state.Effective.Set("cpus_allowed", Affinity.AllowedList(agent.Pid));
            try { realm.UseClient(workload.HostClient(cell.Workload, state.Effective)); }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException or IOException or UriFormatException)
            {
                throw new RealmFailedException("the host's client could not start: " + e.Message, realm.StderrTail);
            }
            return realm;
        }
        catch
        {
            realm.Dispose();
            throw;
        }
    }
}
