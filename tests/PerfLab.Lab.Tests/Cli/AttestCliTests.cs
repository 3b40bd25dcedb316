using PerfLab.Cli;
using PerfLab.Cli.Commands;

namespace PerfLab.Lab.Tests.Cli;

/// <summary>`perflab attest verify` on Veraison's published TF-RMM token (a test platform's key, named as such).</summary>
public class AttestCliTests
{
    private static string Vector(string name) => Path.Combine(AppContext.BaseDirectory, "Attestation", "vectors", name);

    [Fact]
    public void The_published_token_verifies_and_prints_its_claims()
    {
        var stdout = new StringWriter();
        var code = AttestCommand.Verify(Vector("cca_token.cbor"), Vector("cca_platform.pub"), [], null, null, [], anyLifecycle: true, stdout, TextWriter.Null);
        Assert.Equal(ExitCode.Ok, code);
        Assert.Contains("verified: encoding; platform signature (trust anchor); Realm signature", stdout.ToString());
        Assert.Matches(@"realm: sha-(256|512) RIM [0-9a-f]{64,128}", stdout.ToString());
        Assert.Contains("no reference RIM given", stdout.ToString());
    }

    [Fact]
    public void A_tampered_token_or_a_wrong_reference_is_refused_with_exit_1_and_its_reason()
    {
        using var scratch = new Scratch();
        var bytes = File.ReadAllBytes(Vector("cca_token.cbor"));
        bytes[^1] ^= 1; // the Realm token's signature ends the collection
        var tampered = Path.Combine(scratch.Dir, "tampered.cbor");
        File.WriteAllBytes(tampered, bytes);
        var stdout = new StringWriter();
        Assert.Equal(ExitCode.Failed, AttestCommand.Verify(tampered, Vector("cca_platform.pub"), [], null, null, [], true, stdout, TextWriter.Null));
        Assert.Contains("REFUSED (RealmSignature)", stdout.ToString());

        var rim = new StringWriter();
        Assert.Equal(ExitCode.Failed, AttestCommand.Verify(Vector("cca_token.cbor"), Vector("cca_platform.pub"), [string.Concat(Enumerable.Repeat("ff", 32))] /* its RIM is all zeros */, null, null, [], true, rim, TextWriter.Null));
        Assert.Contains("REFUSED (Rim)", rim.ToString());
    }

    [Theory]
    [InlineData("token", "--token")]
    [InlineData("anchor", "--trust-anchor")]
    [InlineData("hex", "--nonce")]
    [InlineData("version", "--min-version")]
    public void Bad_input_exits_2_naming_the_option(string what, string named)
    {
        using var scratch = new Scratch();
        var notPem = Path.Combine(scratch.Dir, "key.pem");
        File.WriteAllText(notPem, "not a key");
        var err = new StringWriter();
        var code = what switch
        {
            "token" => AttestCommand.Verify(Path.Combine(scratch.Dir, "none.cbor"), Vector("cca_platform.pub"), [], null, null, [], true, TextWriter.Null, err),
            "anchor" => AttestCommand.Verify(Vector("cca_token.cbor"), notPem, [], null, null, [], true, TextWriter.Null, err),
            "hex" => AttestCommand.Verify(Vector("cca_token.cbor"), Vector("cca_platform.pub"), [], null, "xyz", [], true, TextWriter.Null, err),
            _ => AttestCommand.Verify(Vector("cca_token.cbor"), Vector("cca_platform.pub"), [], null, null, ["RMM"], true, TextWriter.Null, err),
        };
        Assert.Equal(ExitCode.BadInput, code);
        Assert.Contains(named, err.ToString());
    }
}
