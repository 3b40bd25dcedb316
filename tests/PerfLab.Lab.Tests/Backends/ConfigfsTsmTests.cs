using PerfLab.Lab.Agent;

namespace PerfLab.Lab.Tests.Backends;

/// <summary>
/// The Realm's token from configfs-tsm, against a fake report directory (a plain folder laid out as the kernel's, named as
/// a fake: no kernel here offers the interface). What is tested is our side of the protocol: the challenge written to
/// inblob, the token read from outblob, another provider or a missing interface refused by name.
/// </summary>
public class ConfigfsTsmTests
{
    [Fact]
    public void The_challenge_goes_to_inblob_and_the_token_comes_from_outblob()
    {
        using var scratch = new Scratch();
        var entry = Path.Combine(scratch.Dir, "e1");
        Directory.CreateDirectory(entry);
        File.WriteAllText(Path.Combine(entry, "provider"), "arm_cca_guest\n");
        File.WriteAllBytes(Path.Combine(entry, "outblob"), [0xd9, 0x01, 0x8f]); // a CCA token's tag, as far as the fake goes
        var challenge = Enumerable.Range(0, 64).Select(i => (byte)i).ToArray();
        Assert.Equal([0xd9, 0x01, 0x8f], ConfigfsTsm.Report(scratch.Dir, challenge, "e1"));
        Assert.Equal(challenge, File.ReadAllBytes(Path.Combine(entry, "inblob")));
    }

    [Fact]
    public void A_fake_tree_serving_the_TF_RMM_token_gives_the_agent_a_token_the_verifier_accepts()
    {
        // The published token (Veraison's ccatoken test vector, produced by TF-RMM on the FVP with its test platform key).
        var vectors = Path.Combine(AppContext.BaseDirectory, "Attestation", "vectors");
        using var scratch = new Scratch();
        var entry = Path.Combine(scratch.Dir, "realm");
        Directory.CreateDirectory(entry);
        File.WriteAllText(Path.Combine(entry, "provider"), "arm_cca_guest\n");
        File.Copy(Path.Combine(vectors, "cca_token.cbor"), Path.Combine(entry, "outblob"));
        var token = ConfigfsTsm.Report(scratch.Dir, new byte[64], "realm");
        using var platformKey = System.Security.Cryptography.ECDsa.Create();
        platformKey.ImportFromPem(File.ReadAllText(Path.Combine(vectors, "cca_platform.pub")));
        var appraisal = PerfLab.Core.Attestation.CcaVerifier.Verify(token, platformKey, new PerfLab.Core.Attestation.AppraisalPolicy { RequireSecuredLifecycle = false });
        Assert.Contains(appraisal.Checked, c => c.StartsWith("binding", StringComparison.Ordinal));
    }

    [Fact]
    public void Another_provider_an_empty_token_and_a_kernel_without_the_interface_are_refused_by_name()
    {
        using var scratch = new Scratch();
        var tdx = Path.Combine(scratch.Dir, "tdx");
        Directory.CreateDirectory(tdx);
        File.WriteAllText(Path.Combine(tdx, "provider"), "tdx_guest\n");
        Assert.Contains("'tdx_guest': this is not a CCA Realm's", Assert.Throws<KeyReleaseException>(() => ConfigfsTsm.Report(scratch.Dir, new byte[64], "tdx")).Message);
        var empty = Path.Combine(scratch.Dir, "empty");
        Directory.CreateDirectory(empty);
        File.WriteAllBytes(Path.Combine(empty, "outblob"), []);
        Assert.Contains("outblob: empty", Assert.Throws<KeyReleaseException>(() => ConfigfsTsm.Report(scratch.Dir, new byte[64], "empty")).Message);
        var none = Path.Combine(scratch.Dir, "no-such-configfs");
        Assert.Contains("no configfs-tsm report interface", Assert.Throws<KeyReleaseException>(() => ConfigfsTsm.Report(none, new byte[64])).Message);
    }
}
