using System.CommandLine;
using PerfLab.Cli;
using PerfLab.Cli.Commands;

// Under an emulator (qemu-user, QEMU TCG) the runtime's W^X code mapping makes the emulator run stale code: refuse with the fix, before anything
// runs (the variable is read when the runtime starts, so it cannot be set from here).
if (PerfLab.Lab.Hosts.CpuEmulation.WriteXorExecuteProblem(PerfLab.Lab.Hosts.CpuEmulation.Current,
        Environment.GetEnvironmentVariable("DOTNET_EnableWriteXorExecute")) is { } wx)
{
    Console.Error.WriteLine("error: " + wx);
    return (int)ExitCode.Environment;
}
// Under qemu-user 7.2 arm64 code sees the x86 host's /proc/cpuinfo and ONNX Runtime's CPU detection segfaults on it when
// the library loads: refuse with the fix (an arm64 view written for it), as above, before a cell dies of it.
if (PerfLab.Lab.Hosts.CpuEmulation.CheckCpuInfo(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile),
        ".cache", "perflab", "qemu-user-root")) is { } cpuinfo)
{
    Console.Error.WriteLine("error: " + cpuinfo);
    return (int)ExitCode.Environment;
}

var verbose = new Option<bool>("--verbose") { Description = "show the stack trace of an error", Recursive = true };
var root = new RootCommand("PerfLab: what does LLM inference inside a confidential Realm cost, and which settings buy it back?\n" +
                           "Example: perflab run --suite bench/suites/mission.yaml\n" + ErrorBoundary.Codes)
{
    RunCommand.Create(Console.Out, Console.Error),
    GateCommand.Create(Console.Out, Console.Error),
    DriftCommand.Create(Console.Out, Console.Error),
    ProjectCommand.Create(Console.Out, Console.Error),
    RimCommand.Create(Console.Out, Console.Error),
    AttestCommand.Create(Console.Out, Console.Error),
    AuditCommand.Create(Console.Out, Console.Error),
    ClaimsCommand.Create(Console.Out, Console.Error),
    EnvCommand.Create(Console.Out),
    SuiteCommand.Create(Console.Out, Console.Error),
    ModelCommand.Create(Console.Out, Console.Error),
    MicroCommand.Create(Console.Out, Console.Error),
    TcoCommand.Create(Console.Out, Console.Error),
    ReportCommand.Create(Console.Out, Console.Error),
    MergeCommand.Create(Console.Out, Console.Error),
    FleetCommand.Create(Console.Out, Console.Error),
    ServeCommand.Create(Console.Out, Console.Error),
    AgentCommand.Create(),
};
root.Options.Add(verbose);
var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    foreach (var e in parse.Errors) Console.Error.WriteLine("error: " + e.Message);
    Console.Error.WriteLine("see: perflab --help");
    return (int)ExitCode.BadInput;
}
// Errors that escape a command are classified here, once, instead of System.CommandLine's handler printing a stack trace
// under exit code 1 (which CI reads as "regression").
try { return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }); }
catch (Exception e) { return (int)ErrorBoundary.Classify(e, parse.GetValue(verbose), Console.Error); }
