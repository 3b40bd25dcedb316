using PerfLab.Core.Suites;

namespace PerfLab.Cli.Commands;

/// <summary>A suite file as the commands that take one read it: validated, or every error printed with what was not done.</summary>
public static class SuiteInput
{
    /// <param name="notDone">what did not happen because of it ("nothing was run")</param>
    public static Suite? LoadOrExplain(string path, TextWriter stderr, string notDone)
    {
        try { return SuiteLoader.Load(path); }
        catch (SuiteValidationException e)
        {
            stderr.WriteLine(e.Message);
            stderr.WriteLine($"{notDone}; fix the suite (perflab suite validate checks it without running)");
            return null;
        }
    }
}
