using System.Security.Cryptography;
using PerfLab.Core.Attestation;

namespace PerfLab.Core.Tests.Attestation;

public class ModelShardsTests
{
    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);
    private static readonly byte[] Weights = RandomNumberGenerator.GetBytes(5 * 4096 + 123);

    private static byte[] Open(ShardManifest m, IReadOnlyList<byte[]> shards, byte[]? key = null)
    {
        using var gcm = new AesGcm(key ?? Key, ShardCipher.TagBytes);
        var plain = new byte[m.TotalBytes];
        for (var i = 0; i < shards.Count; i++) ShardCipher.Decrypt(m, i, shards[i], gcm, plain.AsSpan((int)m.Shards[i].Offset));
        return plain;
    }

    [Fact]
    public void Shards_round_trip_and_the_manifest_holds_no_key()
    {
        var (m, shards) = ShardCipher.Encrypt(Weights, Key, "tiny-int4#1", 8192);
        Assert.Equal(3, shards.Count);                                  // 8192, 8192, 4219
        Assert.Equal(Weights.Length - 2 * 8192, m.Shards[^1].Bytes);
        Assert.Equal(3, m.Shards.Select(s => s.NonceHex).Distinct().Count());
        Assert.Equal(Weights, Open(m, shards));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Weights)), m.PlainSha256);
        var json = System.Text.Json.JsonSerializer.Serialize(m);
        Assert.DoesNotContain(Convert.ToHexStringLower(Key), json, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Convert.ToBase64String(Key), json);
    }

    [Fact]
    public void A_flipped_bit_a_moved_shard_a_foreign_shard_and_another_key_each_fail_naming_the_shard()
    {
        var (m, shards) = ShardCipher.Encrypt(Weights, Key, "tiny-int4#1", 8192);

        var flipped = shards.Select(s => (byte[])s.Clone()).ToList();
        flipped[1][100] ^= 0x01;
        var e = Assert.Throws<TamperedShardException>(() => Open(m, flipped));
        Assert.Equal(1, e.Index);
        Assert.Contains("shard 1", e.Message);

        // The same bit flipped with the manifest's hash updated to match: the tag still refuses it.
        var forgedManifest = m with { Shards = m.Shards.Select(s => s.Index == 1 ? s with { CipherSha256 = Convert.ToHexStringLower(SHA256.HashData(flipped[1])) } : s).ToList() };
        Assert.Equal(1, Assert.Throws<TamperedShardException>(() => Open(forgedManifest, flipped)).Index);

        // Two shards of the same size swapped, with their manifest entries swapped too: their associated data binds the index.
        var swappedManifest = m with { Shards = [m.Shards[1] with { Index = 0, Offset = 0 }, m.Shards[0] with { Index = 1, Offset = 8192 }, m.Shards[2]] };
        Assert.Equal(0, Assert.Throws<TamperedShardException>(() => Open(swappedManifest, [shards[1], shards[0], shards[2]])).Index);

        // A shard of another model under the same key, its manifest entry copied: the key id in the associated data differs.
        var (other, otherShards) = ShardCipher.Encrypt(Weights, Key, "other-model#7", 8192);
        var mixed = m with { Shards = [other.Shards[0], m.Shards[1], m.Shards[2]] };
        Assert.Equal(0, Assert.Throws<TamperedShardException>(() => Open(mixed, [otherShards[0], shards[1], shards[2]])).Index);

        Assert.Equal(0, Assert.Throws<TamperedShardException>(() => Open(m, shards, RandomNumberGenerator.GetBytes(32))).Index);
        Assert.Equal(2, Assert.Throws<TamperedShardException>(() => Open(m, [shards[0], shards[1], shards[2][..^1]])).Index);
    }
}
