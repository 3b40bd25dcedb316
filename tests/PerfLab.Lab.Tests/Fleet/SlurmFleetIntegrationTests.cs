using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using PerfLab.Cli;
using PerfLab.Cli.Commands;
using PerfLab.Results;

namespace PerfLab.Lab.Tests.Fleet;

/// <summary>
/// Integration (real Slurm): the test starts a one-node cluster of its own — munged with its own key, slurmctld and
/// slurmd from Debian's slurm-wlm on free ports, configured in a scratch folder — and `perflab fleet slurm --wait` runs a
/// short suite there in three shards (an sbatch array job), merges them, reports, and gates the merge against a
/// single-host run of the same suite. Needs root (the daemons and their spool) and the packages run-tests.sh installs.
/// </summary>
public class SlurmFleetIntegrationTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static string? Missing()
    {
        if (!OperatingSystem.IsLinux()) return "Slurm runs on Linux";
        if (Environment.UserName != "root") return "starting slurmctld, slurmd and munged needs root";
        foreach (var tool in new[] { "/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/sbin/munged", "/usr/bin/sbatch", "/usr/bin/sinfo" })
            if (!File.Exists(tool)) return $"no {tool} (run-tests.sh installs slurm-wlm and munge as root)";
        return null;
    }

    [SkippableFact]
    public void Three_slurm_shards_on_one_node_merge_report_and_gate_against_a_single_host_run()
    {
        var why = Missing();
        Skip.If(why is not null, why);
        using var scratch = new Scratch();
        using var cluster = OneNodeSlurm.Start(Path.Combine(scratch.Dir, "slurm"));
        var suite = scratch.Write("quick.yaml", FleetSuites.Quick("fleet-quick"));

        var single = Stopwatch.StartNew();
        Assert.Equal(ExitCode.Ok, RunCommand.Execute(suite, Path.Combine(scratch.Dir, "single"), "precise", true, TextWriter.Null, TextWriter.Null, default));
        single.Stop();
        var singleRun = Directory.GetDirectories(Path.Combine(scratch.Dir, "single")).Single();

        var stdout = new StringWriter();
        var err = new StringWriter();
        var fleet = Stopwatch.StartNew();
        var code = FleetCommand.SubmitSlurm(suite, 3, "lab", [], Path.Combine(scratch.Dir, "fleet"), wait: true, exclusive: true, dryRun: false, stdout, err);
        fleet.Stop();
        Assert.True(code == ExitCode.Ok, $"fleet slurm exited {code}: {stdout}{err}\n{cluster.Logs()}");
        var fleetDir = Directory.GetDirectories(Path.Combine(scratch.Dir, "fleet")).Single();
        Assert.True(File.Exists(Path.Combine(fleetDir, FleetCommand.JobFile))); // one script: the suite shards by group
        var merged = Directory.GetDirectories(Path.Combine(fleetDir, "merged")).Single();
        var manifest = RunFolderReader.ReadManifest(merged);
        Assert.Equal(16, manifest.Cells.Count);
        Assert.All(manifest.Cells, c => Assert.Equal("ok", c.Status));
        Assert.Equal(3, manifest.MergedFrom.Count);
        Assert.All(manifest.MergedFrom, s =>
        {
            Assert.Equal("slurm", s.Scheduler);
            Assert.Matches(@"^\d+_[123]$", s.Job);
            Assert.Equal(cluster.NodeName, s.Node);
            Assert.Null(s.Missing);
        });
        Assert.Single(manifest.MergedFrom.Select(s => s.Job!.Split('_')[0]).Distinct()); // one array job

        var report = Path.Combine(scratch.Dir, "report");
        Assert.Equal(ExitCode.Ok, ReportCommand.Execute([merged], report, null, TextWriter.Null, TextWriter.Null));
        Assert.Contains("Shards: which host measured which cells", File.ReadAllText(Path.Combine(report, "report.md")));

        // The gate compares the merged run with the single-host run cell by cell: the same host class, so it judges.
        var gate = new StringWriter();
        var gateCode = GateCommand.Execute(singleRun, merged, null, Path.Combine(scratch.Dir, "gate.md"), false, gate, TextWriter.Null);
        Assert.True(gateCode is ExitCode.Ok or ExitCode.Failed, $"gate exited {gateCode}: {gate}");
        Assert.DoesNotContain("not compared", gate.ToString());
        foreach (var id in manifest.ExpandedCells.Select(c => c.Id))
            Assert.Contains(id, gate.ToString());
        output.WriteLine($"wall time: one host {single.Elapsed.TotalSeconds:0.0} s; three Slurm shards on one node (exclusive, one after another), merged {fleet.Elapsed.TotalSeconds:0.0} s");
    }

    /// <summary>munged, slurmctld and slurmd of the test's own, on free ports, stopped when disposed.</summary>
    private sealed class OneNodeSlurm : IDisposable
    {
        private readonly string _dir;
        private readonly string? _oldConf;
        public string NodeName { get; } = Environment.MachineName;

        private OneNodeSlurm(string dir)
        {
            _dir = dir;
            _oldConf = Environment.GetEnvironmentVariable("SLURM_CONF");
        }

        public static OneNodeSlurm Start(string dir)
        {
            var s = new OneNodeSlurm(dir);
            try { s.Boot(); }
            catch
            {
                s.Dispose();
                throw;
            }
            return s;
        }

        private void Boot()
        {
            foreach (var d in new[] { "state", "spool", "log", "munge" }) Directory.CreateDirectory(Path.Combine(_dir, d));
            var key = Path.Combine(_dir, "munge", "munge.key");
            File.WriteAllBytes(key, System.Security.Cryptography.RandomNumberGenerator.GetBytes(1024));
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(key, UnixFileMode.UserRead); // munged refuses a key others can read
            var socket = Path.Combine(_dir, "munge", "munge.socket");
            Exec("/usr/sbin/munged", "--force", $"--key-file={key}", $"--socket={socket}", $"--pid-file={Path.Combine(_dir, "munge", "munged.pid")}",
                $"--log-file={Path.Combine(_dir, "munge", "munged.log")}", $"--seed-file={Path.Combine(_dir, "munge", "seed")}");
            var conf = Path.Combine(_dir, "slurm.conf");
            File.WriteAllText(conf, $"""
                ClusterName=perflabtest
                SlurmctldHost={NodeName}(127.0.0.1)
                SlurmctldPort={FreePort()}
                SlurmdPort={FreePort()}
                AuthType=auth/munge
                CredType=cred/munge
                AuthInfo=socket={socket}
                SlurmUser=root
                SlurmdUser=root
                StateSaveLocation={Path.Combine(_dir, "state")}
                SlurmdSpoolDir={Path.Combine(_dir, "spool")}
                SlurmctldPidFile={Path.Combine(_dir, "slurmctld.pid")}
                SlurmdPidFile={Path.Combine(_dir, "slurmd.pid")}
                SlurmctldLogFile={Path.Combine(_dir, "log", "slurmctld.log")}
                SlurmdLogFile={Path.Combine(_dir, "log", "slurmd.log")}
                ProctrackType=proctrack/linuxproc
                TaskPlugin=task/none
                JobAcctGatherType=jobacct_gather/none
                AccountingStorageType=accounting_storage/none
                JobCompType=jobcomp/none
                SchedulerType=sched/backfill
                SelectType=select/cons_tres
                SelectTypeParameters=CR_Core
                ReturnToService=2
                MpiDefault=none
                NodeName={NodeName} NodeAddr=127.0.0.1 CPUs={Environment.ProcessorCount} RealMemory=1000 State=UNKNOWN
                PartitionName=lab Nodes={NodeName} Default=YES MaxTime=INFINITE State=UP

                """);
            Environment.SetEnvironmentVariable("SLURM_CONF", conf);
            Exec("/usr/sbin/slurmctld", "-f", conf);
            Exec("/usr/sbin/slurmd", "-f", conf, "-N", NodeName);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                var (code, state) = Run("/usr/bin/sinfo", "-h", "-o", "%T");
                if (code == 0 && state.Trim() == "idle") return;
                if (DateTime.UtcNow > deadline) throw new InvalidOperationException($"the one-node Slurm did not come up in 60 s (sinfo: {state.Trim()})\n{Logs()}");
                Thread.Sleep(500);
            }
        }

        public string Logs() => string.Join("\n", Directory.GetFiles(_dir, "*.log", SearchOption.AllDirectories)
            .Select(f => $"--- {f}\n" + string.Join("\n", File.ReadLines(f).TakeLast(15))));

        private static int FreePort()
        {
            using var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            return ((IPEndPoint)l.LocalEndpoint).Port;
        }

        private static void Exec(string file, params string[] args)
        {
            var (code, text) = Run(file, args);
            if (code != 0) throw new InvalidOperationException($"{file} exited {code}: {text}");
        }

        private static (int, string) Run(string file, params string[] args)
        {
            var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            var text = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, text + err.Result);
        }

        public void Dispose()
        {
            foreach (var pidFile in new[] { "slurmd.pid", "slurmctld.pid", Path.Combine("munge", "munged.pid") })
            {
                var path = Path.Combine(_dir, pidFile);
                if (!File.Exists(path) || !int.TryParse(File.ReadAllText(path).Trim(), out var pid)) continue;
                try
                {
                    using var p = Process.GetProcessById(pid);
                    p.Kill();
                    p.WaitForExit(10_000);
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception) { }
            }
            Environment.SetEnvironmentVariable("SLURM_CONF", _oldConf);
        }
    }
}
