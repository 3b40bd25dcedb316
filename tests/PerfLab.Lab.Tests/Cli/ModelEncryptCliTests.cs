using System.Security.Cryptography;
using System.Text.Json;
using PerfLab.Cli.Commands;
using PerfLab.Core.Attestation;
using PerfLab.Llm.Model;

namespace PerfLab.Lab.Tests.Cli;

/// <summary>`perflab model encrypt` on the tiny model: shards that open with the key file and nothing else, and clear refusals.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class ModelEncryptCliTests
{
    private static (int Code, string Out, string Err) Encrypt(params string[] args)
    {
        var (o, e) = (new StringWriter(), new StringWriter());
        var code = ModelCommand.Create(o, e).Parse(["encrypt", .. args]).Invoke();
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public void The_shards_open_with_the_key_file_made_0600_and_are_bound_to_their_place()
    {
        using var scratch = new Scratch();
        var model = ModelCache.BuildIfMissing(ModelSpec.FromPreset("tiny", WeightFormat.Int4, 32, 4, 1));
        var (keyFile, outDir) = (Path.Combine(scratch.Dir, "model.key"), Path.Combine(scratch.Dir, "sealed"));
        var (code, stdout, stderr) = Encrypt("--model", model, "--out", outDir, "--key-file", keyFile, "--shard-bytes", "1048576");
        Assert.True(code == 0, stderr);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        var key = File.ReadAllBytes(keyFile);
        Assert.DoesNotContain(Convert.ToHexStringLower(key), stdout);
        var manifest = JsonSerializer.Deserialize<ShardManifest>(File.ReadAllText(Path.Combine(outDir, "shards.json")),
            new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower })!;
        var sealedBytes = File.ReadAllBytes(Path.Combine(outDir, "weights.enc"));
        var plain = File.ReadAllBytes(Path.Combine(model, ModelFiles.ReadManifest(model).WeightsFile));
        Assert.Equal(plain.Length, manifest.TotalBytes);
        Assert.Equal((plain.Length + 1048575) / 1048576, manifest.Shards.Count);
        Assert.DoesNotContain(Convert.ToHexStringLower(key), File.ReadAllText(Path.Combine(outDir, "shards.json")));
        // Every shard opens with the key to exactly the plain weights.
        using var gcm = new AesGcm(key, ShardCipher.TagBytes);
        var opened = new byte[plain.Length];
        long at = 0;
        foreach (var s in manifest.Shards)
        {
            ShardCipher.Decrypt(manifest, s.Index, sealedBytes.AsSpan((int)at, s.Bytes + ShardCipher.TagBytes), gcm, opened.AsSpan((int)s.Offset));
            at += s.Bytes + ShardCipher.TagBytes;
        }
        Assert.Equal(plain, opened);
        // The same key file again makes the same key id; a key file others can read is refused.
        var again = Encrypt("--model", model, "--out", outDir + "2", "--key-file", keyFile);
        Assert.Equal(0, again.Code);
        Assert.Contains(manifest.KeyId, again.Out);
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        var open = Encrypt("--model", model, "--out", outDir + "3", "--key-file", keyFile);
        Assert.Equal(2, open.Code);
        Assert.Contains("chmod 600", open.Err);
    }

    [Fact]
    public void A_missing_model_a_short_key_file_or_tiny_shards_exit_2_naming_the_option()
    {
        using var scratch = new Scratch();
        var model = ModelCache.BuildIfMissing(ModelSpec.FromPreset("tiny", WeightFormat.Int4, 32, 4, 1));
        var shortKey = Path.Combine(scratch.Dir, "short.key");
        File.WriteAllBytes(shortKey, new byte[16]);
        File.SetUnixFileMode(shortKey, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        foreach (var (args, expect) in new (string[], string)[]
                 {
                     (["--model", Path.Combine(scratch.Dir, "nope"), "--out", scratch.Dir, "--key-file", Path.Combine(scratch.Dir, "k")], "--model:"),
                     (["--model", model, "--out", scratch.Dir, "--key-file", shortKey], "exactly 32"),
                     (["--model", model, "--out", scratch.Dir, "--key-file", Path.Combine(scratch.Dir, "k2"), "--shard-bytes", "100"], "--shard-bytes 100"),
                 })
        {
            var (code, _, err) = Encrypt(args);
            Assert.Equal(2, code);
            Assert.Contains(expect, err);
        }
        Assert.False(File.Exists(Path.Combine(scratch.Dir, "k2")), "no key file is made when the input is refused");
    }
}
