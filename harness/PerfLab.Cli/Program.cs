using System.CommandLine;
using PerfLab.Cli;
using PerfLab.Cli.Commands;

var root = new RootCommand("PerfLab: what does LLM inference inside a confidential Realm cost, and which settings buy it back?\n" +
                           "Example: perflab run --suite bench/suites/quick.yaml")
{
    RunCommand.Create(Console.Out, Console.Error),
    GateCommand.Create(Console.Out, Console.Error),
    EnvCommand.Create(Console.Out),
    SuiteCommand.Create(Console.Out, Console.Error),
    ModelCommand.Create(Console.Out, Console.Error),
    MicroCommand.Create(Console.Out, Console.Error),
    TcoCommand.Create(Console.Out, Console.Error),
    ReportCommand.Create(Console.Out, Console.Error),
    AgentCommand.Create(),
};
var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    foreach (var e in parse.Errors) Console.Error.WriteLine("error: " + e.Message);
    Console.Error.WriteLine("see: perflab --help");
    return (int)ExitCode.BadInput;
}
return await parse.InvokeAsync();
