using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using PerfLab.Core.Channel;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Suites;
using PerfLab.Core.Units;
using PerfLab.Lab.Agent;
using PerfLab.Lab.Os;

namespace PerfLab.Lab.Backends;

/// <summary>
/// The non-confidential baseline: the agent runs as a child process of the host, with the cell's page policy
/// applied to the whole process and its CPUs pinned. Evidence: measured.
/// </summary>
public class NativeBackend : IRealmBackend
{
    public virtual Platform Platform => Platform.Native;
    public virtual Evidence EvidenceFor(RealmConfig config) => Evidence.Measured;

    /// <summary>Environment the agent starts with beyond the page policy (emulated Realms add their costs).</summary>
    protected virtual IReadOnlyDictionary<string, string> ExtraEnvironment(Cell cell) => new Dictionary<string, string>();

    /// <summary>The load request as sent; emulated Realms ask the agent to take its payload over the shared buffer.</summary>
    protected virtual LoadRequest Decorate(Cell cell, LoadRequest request) => request;

    /// <summary>Runs after the load request is sent and before ready is awaited: an emulated Realm is populated here.</summary>
    protected virtual void Populate(Cell cell, AgentProcess agent, IDictionary<string, double> phasesMs, IDictionary<string, string> effective) { }

    /// <summary>Starts the process the agent runs in: the agent itself here; a VM elsewhere.</summary>
    protected virtual AgentProcess StartAgent(Cell cell, string file, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> env,
        TimeSpan timeout, IDictionary<string, string> effective) => new(file, args, env, timeout);

    public virtual string? CannotRun(Cell cell)
    {
        if (!OperatingSystem.IsLinux()) return "the native backend needs Linux (prctl, /proc smaps)";
        if (!cell.Realm.Mpam.IsOff && cell.Realm.CoTenant == "none" && !Resctrl.Available)
            return "MPAM: this host has no /sys/fs/resctrl; set co_tenant: stream to emulate the bandwidth share with a throttled neighbour";
        if (cell.Realm.Mpam.CachePortionPct is not null && !Resctrl.Available)
            return "MPAM cache portions need resctrl (L3 schemata); the interference mode emulates only bandwidth shares";
        var bytes = cell.Workload.Kind == "synthetic" ? cell.Workload.GetInt("working_set_mib") * Bytes.MiB : 0;
        if (PagePolicy.CannotProvide(cell.Realm.PageSize, cell.Realm.Backing, bytes) is { } why) return why;
        var cpus = Cpus(cell.Realm);
        if (cpus.FirstOrDefault(c => c >= Environment.ProcessorCount, -1) is var bad and >= 0)
            return $"pinning asks for CPU {bad}, this host has CPUs 0..{Environment.ProcessorCount - 1}";
        return null;
    }

    public static IReadOnlyList<int> Cpus(RealmConfig c) => c.Pinning.Kind switch
    {
        "auto" => Affinity.Auto(c.Vcpus),
        "list" => c.Pinning.Cpus,
        _ => [],
    };

    public IRealm Launch(Cell cell, TimeSpan agentTimeout)
    {
        var (file, lead) = PerflabExecutable.Resolve();
        var cpus = Cpus(cell.Realm);
        var args = lead.Concat(["agent", "--page-size", cell.Realm.PageSize.ToShort(), "--backing", cell.Realm.Backing.Name()]).ToList();
        if (cpus.Count > 0) args.AddRange(["--cpus", string.Join(",", cpus)]);
        var env = new Dictionary<string, string>(PagePolicy.LaunchEnvironment(cell.Realm.PageSize, cell.Realm.Backing))
        {
            // Workstation GC: server GC would start a heap and a GC thread per core beside the SUT's own threads.
            ["DOTNET_gcServer"] = "0",
        };
        foreach (var (k, v) in ExtraEnvironment(cell)) env[k] = v;
        var realm = new NativeRealm(cell);
        if (cell.Realm.CoTenant == "stream") StartCoTenant(cell, cpus, realm);
        var total = Stopwatch.StartNew();
        var sw = Stopwatch.StartNew();
        var agent = StartAgent(cell, file, args, env, agentTimeout, realm.EffectiveMutable);
        realm.Attach(agent);
        try
        {
            agent.AwaitHello();
            realm.Phase("launch", sw);
            if (!cell.Realm.Mpam.IsOff && Resctrl.Available && Platform != Platform.Vm)
            {
                // Before the load, so every thread the workload starts inherits the partition.
                realm.ResctrlGroup = $"perflab-{agent.Pid}";
                realm.EffectiveMutable["mpam_mode"] = "resctrl (measured): " + Resctrl.Apply(realm.ResctrlGroup, cell.Realm.Mpam, agent.Pid);
            }
            var req = Decorate(cell, new LoadRequest(cell.Workload.Name, cell.Workload.Kind, cell.Workload.Parameters.ToDictionary(),
                cell.Realm.PageSize.ToShort(), cell.Realm.Backing.Name()));
            sw.Restart();
            agent.Send(ChannelProtocol.Load(JsonSerializer.Serialize(req, AgentHost.Json)));
            Populate(cell, agent, realm.PhasesMsMutable, realm.EffectiveMutable);
            var ready = agent.Next("ready");
            realm.Phase("load", sw);
            realm.Phase("ready", total); // from process creation to a loaded, serving agent
            realm.PhasesMsMutable["load_inside"] = ready.A / 1e6;
            foreach (var (k, v) in JsonSerializer.Deserialize<Dictionary<string, string>>(ready.Text, AgentHost.Json) ?? [])
                realm.EffectiveMutable["agent." + k] = v;
            realm.EffectiveMutable["pid"] = agent.Pid.ToString(CultureInfo.InvariantCulture);
            realm.EffectiveMutable["cpus_allowed"] = Affinity.AllowedList(agent.Pid);
            foreach (var (k, v) in PagePolicy.LaunchEnvironment(cell.Realm.PageSize, cell.Realm.Backing)) realm.EffectiveMutable["env." + k] = v;
            return realm;
        }
        catch
        {
            realm.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The noisy neighbour (no resctrl here): wsbench streaming memory on a CPU the agent does not use, busy
    /// for the share of each 10 ms the other partition would be allowed — 100 % with MPAM off, 100 − N % when the
    /// cell reserves N % of the bandwidth for the Realm. The bandwidth split is emulated; its effect is measured.
    /// </summary>
    private static void StartCoTenant(Cell cell, IReadOnlyList<int> agentCpus, NativeRealm realm)
    {
        var exe = PerfLab.Lab.Micro.NativeBuild.EnsureWsbench();
        var duty = cell.Realm.Mpam.BandwidthPct is { } b ? 100 - b : 100;
        var cpu = Enumerable.Range(0, Environment.ProcessorCount).FirstOrDefault(c => !agentCpus.Contains(c), 0);
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--cotenant-duty", duty.ToString(CultureInfo.InvariantCulture), "--cpu", cpu.ToString(CultureInfo.InvariantCulture) })
            psi.ArgumentList.Add(a);
        realm.CoTenant = Process.Start(psi);
        realm.EffectiveMutable["co_tenant"] = $"stream (wsbench triad) on CPU {cpu}, busy {duty} % of every 10 ms";
        realm.EffectiveMutable["mpam_mode"] = cell.Realm.Mpam.IsOff
            ? "no partitioning: the neighbour streams unthrottled"
            : $"emulated bandwidth reservation of {cell.Realm.Mpam.BandwidthPct} %: the neighbour is throttled to {duty} % (no resctrl on this host)";
        Thread.Sleep(200); // let the neighbour reach its stride before the Realm starts
    }

    protected sealed class NativeRealm(Cell cell) : IRealm, ISystemUnderTest
    {
        private AgentProcess? _agent;
        public Process? CoTenant { get; set; }
        public string? ResctrlGroup { get; set; }
        public readonly Dictionary<string, double> PhasesMsMutable = new();
        public readonly Dictionary<string, string> EffectiveMutable = new();

        public void Attach(AgentProcess a) => _agent = a;
        public void Phase(string name, Stopwatch sw) => PhasesMsMutable[name] = sw.Elapsed.TotalMilliseconds;

        public ISystemUnderTest Sut => this;
        public IQuerySampleLibrary Library { get; } = new CountingSampleLibrary(cell.Workload.Name, cell.Workload.GetInt("samples"));
        public IReadOnlyDictionary<string, double> PhasesMs => PhasesMsMutable;
        public IReadOnlyDictionary<string, string> Effective => EffectiveMutable;
        public string StderrTail => _agent?.StderrTail ?? "";
        public string Name => $"agent:{cell.Workload.Kind}";

        public void IssueQuery(ReadOnlySpan<QuerySample> samples, IResponseSink sink) => _agent!.Issue(samples, sink);
        public void FlushQueries() { }

        public void CollectStats()
        {
            var stats = _agent!.Request(ChannelProtocol.StatsRequest(), "stats");
            foreach (var (k, v) in JsonSerializer.Deserialize<Dictionary<string, long>>(stats.Text, AgentHost.Json) ?? [])
                EffectiveMutable["agent." + k] = v.ToString(CultureInfo.InvariantCulture);
            // The host checks the page sizes itself as well, from the kernel's view of the agent process.
            var smaps = PagePolicy.SmapsRollup(_agent.Pid);
            EffectiveMutable["smaps.AnonHugePages_kb"] = smaps.GetValueOrDefault("AnonHugePages").ToString(CultureInfo.InvariantCulture);
            EffectiveMutable["smaps.Hugetlb_kb"] = (smaps.GetValueOrDefault("Private_Hugetlb") + smaps.GetValueOrDefault("Shared_Hugetlb")).ToString(CultureInfo.InvariantCulture);
            EffectiveMutable["smaps.Rss_kb"] = smaps.GetValueOrDefault("Rss").ToString(CultureInfo.InvariantCulture);
            EffectiveMutable["smaps.Anonymous_kb"] = smaps.GetValueOrDefault("Anonymous").ToString(CultureInfo.InvariantCulture);
            EffectiveMutable["page_size_obtained"] = smaps.GetValueOrDefault("Private_Hugetlb") + smaps.GetValueOrDefault("Shared_Hugetlb") > 0 ? "hugetlb"
                : smaps.GetValueOrDefault("AnonHugePages") > 0 ? "thp-2m" : "4k";
        }

        public void Teardown()
        {
            if (_agent is null) return;
            var sw = Stopwatch.StartNew();
            try
            {
                if (_agent.Failure is null) _agent.Request(ChannelProtocol.Bye(), "bye");
                _agent.WaitForExit(TimeSpan.FromSeconds(5));
            }
            catch (RealmFailedException) { _agent.Kill(); }
            PhasesMsMutable["teardown"] = sw.Elapsed.TotalMilliseconds;
        }

        public void Dispose()
        {
            _agent?.Dispose();
            if (ResctrlGroup != null) Resctrl.Remove(ResctrlGroup);
            if (CoTenant is { } p)
            {
                try { p.Kill(); p.WaitForExit(2000); } catch (InvalidOperationException) { }
                p.Dispose();
            }
        }
    }
}
