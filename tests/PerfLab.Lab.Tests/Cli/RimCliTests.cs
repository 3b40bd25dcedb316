using PerfLab.Cli;
using PerfLab.Cli.Commands;
using PerfLab.Tests.Shared;

namespace PerfLab.Lab.Tests.Cli;

public class RimCliTests
{
    private const ulong Mib = 1024 * 1024;

    [Fact]
    public void Rim_prints_the_reference_value_and_what_it_measured()
    {
        using var scratch = new Scratch();
        var (k, i, d) = Images(scratch, cpus: 2);
        var stdout = new StringWriter();
        var code = RimCommand.Execute(k, i, d, "console=hvc0 quiet", 2, "512MiB", 6, 4, "sha512", stdout, TextWriter.Null);
        Assert.Equal(ExitCode.Ok, code);
        var text = stdout.ToString();
        Assert.Matches(@"RIM \(SHA-512\): [0-9a-f]{128}\r?\n", text);
        Assert.Contains("ipa_bits 33, 6 breakpoints, 4 watchpoints", text);
        Assert.Contains("in 256 stage-2 entries", text);
        Assert.Contains("x0 0x8fe00000", text);
        Assert.Contains("1 more vCPUs start through PSCI", text);
        // The same inputs give the same value: a reference a verifier can be provisioned with.
        var again = new StringWriter();
        RimCommand.Execute(k, i, d, "console=hvc0 quiet", 2, "512MiB", 6, 4, "sha512", again, TextWriter.Null);
        Assert.Equal(text, again.ToString());
    }

    [Theory]
    [InlineData("kernel", "--kernel")]
    [InlineData("hash", "--hash md5")]
    [InlineData("memory", "--memory lots")]
    [InlineData("vcpus", "describes 2 CPUs")]
    [InlineData("cmdline", "bootargs")]
    public void Bad_input_exits_2_and_names_the_option(string what, string named)
    {
        using var scratch = new Scratch();
        var (k, i, d) = Images(scratch, cpus: 2);
        var err = new StringWriter();
        var code = what switch
        {
            "kernel" => RimCommand.Execute(Path.Combine(scratch.Dir, "missing"), i, d, null, 2, "512MiB", 6, 4, "sha256", TextWriter.Null, err),
            "hash" => RimCommand.Execute(k, i, d, null, 2, "512MiB", 6, 4, "md5", TextWriter.Null, err),
            "memory" => RimCommand.Execute(k, i, d, null, 2, "lots", 6, 4, "sha256", TextWriter.Null, err),
            "vcpus" => RimCommand.Execute(k, i, d, null, 1, "512MiB", 6, 4, "sha256", TextWriter.Null, err),
            _ => RimCommand.Execute(k, i, d, "console=ttyS0", 2, "512MiB", 6, 4, "sha256", TextWriter.Null, err),
        };
        Assert.Equal(ExitCode.BadInput, code);
        Assert.Contains(named, err.ToString());
        Assert.DoesNotContain("   at ", err.ToString()); // no stack trace
    }

    private static (string Kernel, string Initrd, string Dtb) Images(Scratch scratch, int cpus)
    {
        var k = Path.Combine(scratch.Dir, "Image");
        var i = Path.Combine(scratch.Dir, "initrd");
        var d = Path.Combine(scratch.Dir, "realm.dtb");
        File.WriteAllBytes(k, TestImages.Image(10_000));
        File.WriteAllBytes(i, [.. Enumerable.Range(0, 3000).Select(x => (byte)x)]);
        File.WriteAllBytes(d, TestImages.Dtb(cpus, "console=hvc0 root=/dev/vda rw  console=hvc0 quiet", 512 * Mib));
        return (k, i, d);
    }
}
