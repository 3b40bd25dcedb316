using System.CommandLine;
using PerfLab.Core.Channel;
using PerfLab.Core.Suites;
using PerfLab.Core.Units;
using PerfLab.Lab.Agent;

namespace PerfLab.Cli.Commands;

/// <summary>`perflab agent`: the in-Realm side of the channel. Started by backends, not by users.</summary>
public static class AgentCommand
{
    public static Command Create()
    {
        var page = new Option<string>("--page-size") { Description = "page size policy for this process: 4k, 64k, 2m, 1g", DefaultValueFactory = _ => "4k" };
        var backing = new Option<string>("--backing") { Description = "huge page backing: thp or hugetlb", DefaultValueFactory = _ => "thp" };
        backing.AcceptOnlyFromAmong("thp", "hugetlb");
        var cpus = new Option<string?>("--cpus") { Description = "comma-separated CPUs to pin every thread to" };
        var cmd = new Command("agent", "The agent inside a Realm: speaks the perflab channel protocol on stdin/stdout. Started by backends.\n" +
                                       "Example (by hand, to see the protocol): perflab agent --page-size 2m   then type: load {...}")
        {
            page, backing, cpus,
        };
        cmd.SetAction(p =>
        {
            if (!PageSizes.TryParse(p.GetValue(page)!, out var size))
            {
                Console.Error.WriteLine($"--page-size '{p.GetValue(page)}': give one of {string.Join(", ", PageSizes.ValidNames)}");
                return (int)ExitCode.BadInput;
            }
            var cpuList = new List<int>();
            foreach (var part in (p.GetValue(cpus) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                if (!int.TryParse(part, out var c) || c < 0)
                {
                    Console.Error.WriteLine($"--cpus '{p.GetValue(cpus)}': give CPU numbers separated by commas, e.g. 1 or 0,1");
                    return (int)ExitCode.BadInput;
                }
                cpuList.Add(c);
            }
            var options = new AgentOptions(size, p.GetValue(backing) == "hugetlb" ? HugePageBacking.Hugetlb : HugePageBacking.Thp, cpuList);
            using var stdout = Console.OpenStandardOutput();
            return new AgentHost(Console.In, stdout, options).Run();
        });
        return cmd;
    }
}
