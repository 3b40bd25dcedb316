using System.CommandLine;
using System.Globalization;
using PerfLab.Core.Measurement;
using PerfLab.Core.Units;

namespace PerfLab.Cli.Commands;

/// <summary>`perflab rim`: the reference Realm Initial Measurement of the Realm the cca backend launches through kvmtool.</summary>
public static class RimCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var kernel = new Option<string>("--kernel") { Description = "the arm64 Linux Image the Realm boots (uncompressed, as kvmtool's -k)", Required = true };
        var initrd = new Option<string?>("--initrd") { Description = "the initramfs (kvmtool's -i)" };
        var dtb = new Option<string>("--dtb")
        {
            Description = "the device tree kvmtool generates for this command, written by `lkvm run --realm ... --dump-dtb FILE`", Required = true,
        };
        var cmdline = new Option<string?>("--cmdline") { Description = "the kernel command line (kvmtool's -p); checked against the device tree's bootargs" };
        var vcpus = new Option<int>("--vcpus") { Description = "vCPUs (kvmtool's -c); checked against the device tree", Required = true };
        var memory = new Option<string>("--memory") { Description = "guest memory (kvmtool's -m), e.g. 512MiB, 2GiB", Required = true };
        var bps = new Option<int>("--num-bps") { Description = "the CCA host's breakpoints (ID_AA64DFR0_EL1.BRPs + 1): the RMM measures them", Required = true };
        var wps = new Option<int>("--num-wps") { Description = "the CCA host's watchpoints (ID_AA64DFR0_EL1.WRPs + 1)", Required = true };
        var hash = new Option<string>("--hash") { Description = "the Realm's measurement algorithm: sha256 (kvmtool's default) or sha512", DefaultValueFactory = _ => "sha256" };
        var cmd = new Command("rim", "The Realm Initial Measurement of a kvmtool Realm, computed as the RMM computes it (DEN0137 1.0\n" +
                                     "A7.1.1: realm parameters, RIPAS of RAM, each DATA granule, the boot REC), so a verifier's reference\n" +
                                     "value can be produced in CI without CCA hardware. SVE and PMU are off, as the cca backend launches.\n" +
                                     "Example: perflab rim --kernel Image --initrd initrd.img --dtb realm.dtb --cmdline 'console=hvc0 quiet' --vcpus 1 --memory 512MiB --num-bps 6 --num-wps 4")
        {
            kernel, initrd, dtb, cmdline, vcpus, memory, bps, wps, hash,
        };
        cmd.SetAction(p => (int)Execute(p.GetValue(kernel)!, p.GetValue(initrd), p.GetValue(dtb)!, p.GetValue(cmdline), p.GetValue(vcpus),
            p.GetValue(memory)!, p.GetValue(bps), p.GetValue(wps), p.GetValue(hash)!, stdout, stderr));
        return cmd;
    }

    public static ExitCode Execute(string kernel, string? initrd, string dtb, string? cmdline, int vcpus, string memory, int bps, int wps,
        string hash, TextWriter stdout, TextWriter stderr)
    {
        RealmHashAlgorithm algorithm;
        switch (hash.ToLowerInvariant())
        {
            case "sha256": algorithm = RealmHashAlgorithm.Sha256; break;
            case "sha512": algorithm = RealmHashAlgorithm.Sha512; break;
            default:
                stderr.WriteLine($"error: --hash {hash}: one of sha256, sha512");
                return ExitCode.BadInput;
        }
        if (!Bytes.TryParse(memory, out var mem))
        {
            stderr.WriteLine($"error: --memory {memory}: a size such as 512MiB or 2GiB");
            return ExitCode.BadInput;
        }
        byte[] Read(string option, string path)
        {
            if (!File.Exists(path)) throw new ArgumentException($"{option} {path}: not found");
            return File.ReadAllBytes(path);
        }
        RimReport r;
        try
        {
            r = KvmtoolRealmLayout.Measure(algorithm, bps, wps, (ulong)mem.Value, vcpus, Read("--kernel", kernel),
                initrd is null ? null : Read("--initrd", initrd), Read("--dtb", dtb), cmdline);
        }
        catch (ArgumentException e)
        {
            stderr.WriteLine("error: " + e.Message);
            return ExitCode.BadInput;
        }
        var p = r.Parameters;
        stdout.WriteLine($"RIM ({(p.Hash == RealmHashAlgorithm.Sha256 ? "SHA-256" : "SHA-512")}): {r.Rim}");
        stdout.WriteLine();
        stdout.WriteLine($"realm params: ipa_bits {p.IpaBits}, {p.Breakpoints} breakpoints, {p.Watchpoints} watchpoints, SVE off, PMU off");
        stdout.WriteLine($"RIPAS: RAM 0x{r.MemoryBase:x}..0x{r.MemoryBase + r.MemoryBytes:x} ({new Bytes((long)r.MemoryBytes)}) in {r.RipasEntries} stage-2 entries");
        foreach (var (blob, granules) in r.Blobs)
            stdout.WriteLine($"DATA: {blob.Name,-7} at 0x{blob.Ipa:x}, {blob.Content.Length.ToString("N0", CultureInfo.InvariantCulture)} bytes, {granules} granules measured");
        stdout.WriteLine($"REC: boot vCPU, pc 0x{r.RecPc:x}, x0 0x{r.RecX0:x} (the device tree); {vcpus - 1} more vCPUs start through PSCI, unmeasured");
        stdout.WriteLine();
        stdout.WriteLine("Evidence: derived (the RMM's measurement rules over kvmtool's layout). Checked against Veraison's published realm-create");
        stdout.WriteLine("vectors; the full kvmtool chain has not been checked against a RIM read on CCA hardware.");
        return ExitCode.Ok;
    }
}
