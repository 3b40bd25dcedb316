using PerfLab.Lab.Agent;

namespace PerfLab.Lab.Tests.Backends;

/// <summary>
/// The Realm's token from configfs-tsm, against a fake report directory (a plain folder laid out as the kernel's, named as
/// a fake: no kernel here offers the interface). What is tested is our side of the protocol: the challenge written to
/// inblob, the token read from outblob, another provider or a missing interface refused by name.
/// </summary>
public class ConfigfsTsmTests
{
    /// <summary>A fake report entry: its provider and, when given, the token its outblob serves.</summary>
    private static string FakeEntry(string root, string name, string provider, byte[]? outblob)
    {
        var entry = Path.Combine(root, name);
        Directory.CreateDirectory(entry);
        File.WriteAllText(Path.Combine(entry, "provider"), provider + "\n");
        if (outblob is not null) File.WriteAllBytes(Path.Combine(entry, "outblob"), outblob);
        return entry;
    }

    [Fact]
    public void The_challenge_goes_to_inblob_and_the_token_comes_from_outblob()
    {
        using var scratch = new Scratch();
        var entry = FakeEntry(scratch.Dir, "e1", "arm_cca_guest", [0xd9, 0x01, 0x8f]); // a CCA token's tag, as far as the fake goes
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
        FakeEntry(scratch.Dir, "realm", "arm_cca_guest", File.ReadAllBytes(Path.Combine(vectors, "cca_token.cbor")));
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
        FakeEntry(scratch.Dir, "tdx", "tdx_guest", null);
        Assert.Contains("'tdx_guest': this is not a CCA Realm's", Assert.Throws<KeyReleaseException>(() => ConfigfsTsm.Report(scratch.Dir, new byte[64], "tdx")).Message);
        FakeEntry(scratch.Dir, "empty", "arm_cca_guest", []);
        Assert.Contains("outblob: empty", Assert.Throws<KeyReleaseException>(() => ConfigfsTsm.Report(scratch.Dir, new byte[64], "empty")).Message);
        var none = Path.Combine(scratch.Dir, "no-such-configfs");
        Assert.Contains("no configfs-tsm report interface", Assert.Throws<KeyReleaseException>(() => ConfigfsTsm.Report(none, new byte[64])).Message);
    }
}
