using System.CommandLine;
using System.Text.Json;
using PerfLab.Lab.Hosts;
using PerfLab.Results.Schema;

namespace PerfLab.Cli.Commands;

/// <summary>`perflab env`: the host environment, as every manifest records it.</summary>
public static class EnvCommand
{
    public static Command Create(TextWriter stdout)
    {
        var json = new Option<bool>("--json") { Description = "print JSON instead of a table" };
        var cmd = new Command("env", "Print the captured host environment (CPU, kernel, THP and hugepages, hypervisor, virtualization).\nExample: perflab env --json") { json };
        cmd.SetAction(p =>
        {
            var env = HostProbe.Capture();
            if (p.GetValue(json)) stdout.WriteLine(JsonSerializer.Serialize(env, RunFiles.Json));
            else
            {
                foreach (var prop in typeof(HostEnvironment).GetProperties().Where(x => x.Name != nameof(HostEnvironment.VirtualizationKind)))
                    stdout.WriteLine($"{prop.Name,-26} {prop.GetValue(env)}");
                stdout.WriteLine($"{"Virtualization",-26} {env.VirtualizationKind}");
                // Which part of a Realm launch this host lacks, in the order a person would fix it (the cca backend's own probe).
                stdout.WriteLine($"{"Arm CCA Realms",-26} {PerfLab.Lab.Backends.Launchers.CcaProbe.Probe().Problem ?? "supported: the cca backend launches QEMU with rme-guest"}");
            }
            return 0;
        });
        return cmd;
    }
}
