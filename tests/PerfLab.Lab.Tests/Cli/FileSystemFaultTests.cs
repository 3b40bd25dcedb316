using System.Diagnostics;
using System.Text.Json.Nodes;

namespace PerfLab.Lab.Tests.Cli;

/// <summary>
/// Integration (real perflab processes, real mounts): results written to a read-only disk or a disk that fills up. Each
/// case exits 4 ("could not write results") with the path and the system's reason, prints no stack trace and no verdict
/// it could not keep, and leaves what was already on disk readable. Needs root to mount a tmpfs; skipped (with the
/// reason) where mounting is not allowed.
/// </summary>
public class FileSystemFaultTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>A tmpfs of a given size, mounted for one case, remountable read-only.</summary>
    private sealed class Tmpfs : IDisposable
    {
        public string Path { get; }
        private Tmpfs(string path) => Path = path;

        public static (Tmpfs? Mount, string Why) TryMount(string under, int sizeKiB)
        {
            var path = System.IO.Path.Combine(under, "mnt-" + Guid.NewGuid().ToString("N")[..6]);
            Directory.CreateDirectory(path);
            var (code, err) = Sh("mount", "-t", "tmpfs", "-o", $"size={sizeKiB}k,mode=0777", "perflab-test", path);
            return code == 0 ? (new Tmpfs(path), "") : (null, $"cannot mount a tmpfs here (needs root): {err.Trim()}");
        }

        public void ReadOnly()
        {
            var (code, err) = Sh("mount", "-o", "remount,ro", Path);
            if (code != 0) throw new InvalidOperationException("remount ro failed: " + err);
        }

        public void Dispose()
        {
            Sh("umount", "-l", Path);
            try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
        }

        private static (int, string) Sh(string file, params string[] args)
        {
            var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in args) psi.ArgumentList.Add(a);
            try
            {
                using var p = Process.Start(psi)!;
                var err = p.StandardError.ReadToEnd();
                p.WaitForExit();
                return (p.ExitCode, err);
            }
            catch (System.ComponentModel.Win32Exception e) { return (-1, e.Message); }
        }
    }

    private const string Good = """
        name: corpus
        repetitions: 2
        workloads: [{name: w, kind: synthetic, output_tokens: 4, decode_us_per_token: 50, working_set_mib: 0}]
        scenarios: [{type: single-stream, min_queries: 60, min_duration_s: 0}]
        matrix: {platform: native}
        """;

    /// <summary>A run of <see cref="Good"/> made in <paramref name="runs"/> (real, on a normal disk).</summary>
    private static string MakeRun(Scratch scratch)
    {
        var suite = scratch.Write("good.yaml", Good);
        var (code, _, err) = BadInputCorpusTests.Perflab("run", "--suite", suite, "--results", scratch.Runs, "--plain");
        Assert.True(code == 0, err);
        return Directory.GetDirectories(scratch.Runs).Single();
    }

    private static void CopyDir(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, System.IO.Path.Combine(to, System.IO.Path.GetFileName(f)));
        foreach (var d in Directory.GetDirectories(from)) CopyDir(d, System.IO.Path.Combine(to, System.IO.Path.GetFileName(d)));
    }

    public static IEnumerable<object[]> Cases => new[]
    {
        "run with --results on a read-only disk",
        "run with --results on a disk that fills during the run",
        "report --out on a read-only disk",
        "gate of a candidate on a read-only disk (gate.md)",
        "--update-baseline onto a read-only disk",
        "resume of a run on a read-only disk",
    }.Select(c => new object[] { c });

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void A_write_that_fails_exits_4_names_the_path_and_keeps_what_was_there(string name)
    {
        using var scratch = new Scratch { Repetitions = 1 };
        var needsRun = !name.StartsWith("run with");
        var run = needsRun ? MakeRun(scratch) : null;
        var (mount, why) = Tmpfs.TryMount(scratch.Dir, name.Contains("fills") ? 96 : 4096);
        Skip.If(mount is null, why);
        using var _ = mount;
        var disk = mount!.Path;
        string[] args;
        string? onDisk = null;
        switch (name)
        {
            case "run with --results on a read-only disk":
                mount.ReadOnly();
                args = ["run", "--suite", scratch.Write("g.yaml", Good), "--results", Path.Combine(disk, "runs"), "--plain"];
                break;
            case "run with --results on a disk that fills during the run":
                // 96 KiB: the manifest and the first launch's rows fit, a few thousand queries' rows do not.
                args = ["run", "--suite", scratch.Write("big.yaml", Good.Replace("min_queries: 60", "min_queries: 4000")), "--results", Path.Combine(disk, "runs"), "--plain"];
                break;
            case "report --out on a read-only disk":
                mount.ReadOnly();
                args = ["report", run!, "--out", Path.Combine(disk, "report")];
                break;
            case "gate of a candidate on a read-only disk (gate.md)":
                onDisk = Path.Combine(disk, "run");
                CopyDir(run!, onDisk);
                mount.ReadOnly();
                args = ["gate", "--baseline", run!, "--candidate", onDisk];
                break;
            case "--update-baseline onto a read-only disk":
                mount.ReadOnly();
                args = ["gate", "--update-baseline", "--baseline", Path.Combine(disk, "b.json"), "--candidate", run!];
                break;
            case "resume of a run on a read-only disk":
                onDisk = Path.Combine(disk, "run");
                CopyDir(run!, onDisk);
                var m = JsonNode.Parse(File.ReadAllText(Path.Combine(onDisk, "manifest.json")))!.AsObject();
                m["state"] = "running";
                File.WriteAllText(Path.Combine(onDisk, "manifest.json"), m.ToJsonString());
                mount.ReadOnly();
                args = ["run", "--resume", onDisk, "--plain"];
                break;
            default: throw new ArgumentOutOfRangeException(nameof(name));
        }

        var (code, stdout, stderr) = BadInputCorpusTests.Perflab(args);
        output.WriteLine($"{name}: exit {code}\n{stderr}");
        Assert.Equal(4, code);
        Assert.Contains("could not write results", stderr);
        Assert.Matches("Read-only file system|No space left on device", stderr);
        Assert.DoesNotContain("   at ", stderr + stdout);
        Assert.DoesNotContain("PerfLab gate:", stdout);          // no verdict on screen that its file could not keep
        // What was on the disk stays readable: every manifest there parses, and no half-written .tmp is left.
        foreach (var manifest in Directory.GetFiles(disk, "manifest.json", SearchOption.AllDirectories))
            Assert.NotNull(JsonNode.Parse(File.ReadAllText(manifest)));
        Assert.Empty(Directory.GetFiles(disk, "*.tmp", SearchOption.AllDirectories));
        if (onDisk != null) Assert.Equal(File.ReadAllText(Path.Combine(run!, "samples.csv")), File.ReadAllText(Path.Combine(onDisk, "samples.csv")));
    }
}
