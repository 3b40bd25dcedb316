using System.Reflection;

namespace PerfLab.Lab.Hosts;

/// <summary>The versions of the packages whose code made a run's figures, for its manifest.</summary>
public static class PackageVersions
{
    public static Dictionary<string, string> Collect()
    {
        string V(Assembly a) => a.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? a.GetName().Version?.ToString() ?? "?";
        // Named by a type of each, so an assembly not loaded yet is still reported.
        Assembly[] ours = [typeof(Perfolizer.Mathematics.QuantileEstimators.HarrellDavisQuantileEstimator).Assembly, typeof(Pragmastat.Sample).Assembly,
            typeof(YamlDotNet.RepresentationModel.YamlStream).Assembly, typeof(CsvHelper.CsvWriter).Assembly, typeof(Spectre.Console.AnsiConsole).Assembly];
        var result = ours.ToDictionary(a => a.GetName().Name!, V);
        if (AppDomain.CurrentDomain.GetAssemblies().FirstOrDefault(a => a.GetName().Name == "System.CommandLine") is { } cl) result[cl.GetName().Name!] = V(cl);
        result["PerfLab"] = V(typeof(PackageVersions).Assembly);
        result[".NET"] = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription;
        return result;
    }
}
