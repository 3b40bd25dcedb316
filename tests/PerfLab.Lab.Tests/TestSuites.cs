using PerfLab.Core.Suites;
using PerfLab.Lab.Os;
using PerfLab.Lab.Progress;
using PerfLab.Lab.Runner;

namespace PerfLab.Lab.Tests;

/// <summary>Temporary suites and result folders for tests that run real agents.</summary>
public sealed class Scratch : IDisposable
{
    public string Dir { get; } = Path.Combine(Path.GetTempPath(), "perflab-tests", Guid.NewGuid().ToString("N")[..12]);
    public string Runs => Path.Combine(Dir, "runs");

    public Scratch() => Directory.CreateDirectory(Dir);

    public string Write(string name, string yaml)
    {
        var path = Path.Combine(Dir, name);
        File.WriteAllText(path, yaml);
        return path;
    }

    public RunOutcome Run(string yaml, CancellationToken cancel = default)
    {
        var suite = SuiteLoader.Parse(yaml, "test.yaml");
        var runner = new SuiteRunner([new PerfLab.Lab.Backends.NativeBackend(), new PerfLab.Lab.Backends.CcaEmulatedBackend(suite.CalibrationProfile),
            new PerfLab.Lab.Backends.CcaBackend(), new PerfLab.Lab.Backends.VmBackend()],
            new PreciseWait());
        return runner.Run(suite, Runs, new PlainProgress(TextWriter.Null), cancel);
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, true); } catch (IOException) { }
    }
}
