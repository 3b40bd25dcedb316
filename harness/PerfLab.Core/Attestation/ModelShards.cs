using System.Security.Cryptography;
using System.Text;

namespace PerfLab.Core.Attestation;

/// <summary>One encrypted shard as the manifest records it: its place, size, nonce and the hash of its ciphertext.</summary>
public sealed record ShardEntry(int Index, long Offset, int Bytes, string NonceHex, string CipherSha256);

/// <summary>
/// The manifest of a model's encrypted weights: AES-256-GCM shards of a fixed size (the last may be shorter), each with
/// its own nonce and the SHA-256 of its ciphertext, the total size and the plaintext's hash, and the id of the key that
/// opens them — never the key itself.
/// </summary>
public sealed record ShardManifest(string KeyId, int ShardBytes, long TotalBytes, string PlainSha256, IReadOnlyList<ShardEntry> Shards);

/// <summary>A shard that does not open: tampered, reordered, truncated, or under another key. The Realm ends on it.</summary>
public sealed class TamperedShardException(int index, string message) : Exception(message)
{
    public int Index { get; } = index;
}

/// <summary>
/// Encrypts a model's weights into shards and opens them inside the Realm. Each shard's tag covers its index, the shard
/// count and the key id (associated data), so a shard moved to another place, a shard from another model or a dropped
/// tail does not open even though each ciphertext is authentic on its own.
/// </summary>
public static class ShardCipher
{
    public const int TagBytes = 16, NonceBytes = 12, KeyBytes = 32;

    public static (ShardManifest Manifest, IReadOnlyList<byte[]> Shards) Encrypt(ReadOnlySpan<byte> plain, byte[] key, string keyId, int shardBytes)
    {
        if (key.Length != KeyBytes) throw new ArgumentException($"an AES-256 key is {KeyBytes} bytes, not {key.Length}", nameof(key));
        if (shardBytes < 4096) throw new ArgumentException($"shards of {shardBytes} bytes: at least 4096", nameof(shardBytes));
        using var gcm = new AesGcm(key, TagBytes);
        var count = (int)((plain.Length + (long)shardBytes - 1) / shardBytes);
        var shards = new List<byte[]>(count);
        var entries = new List<ShardEntry>(count);
        for (var i = 0; i < count; i++)
        {
            var offset = (long)i * shardBytes;
            var n = (int)Math.Min(shardBytes, plain.Length - offset);
            var nonce = RandomNumberGenerator.GetBytes(NonceBytes);
            var shard = new byte[n + TagBytes];
            gcm.Encrypt(nonce, plain.Slice((int)offset, n), shard.AsSpan(0, n), shard.AsSpan(n), Aad(keyId, i, count));
            shards.Add(shard);
            entries.Add(new ShardEntry(i, offset, n, Convert.ToHexStringLower(nonce), Convert.ToHexStringLower(SHA256.HashData(shard))));
        }
        return (new ShardManifest(keyId, shardBytes, plain.Length, Convert.ToHexStringLower(SHA256.HashData(plain)), entries), shards);
    }

    /// <summary>Opens shard <paramref name="index"/> into <paramref name="into"/> (its plaintext size), or throws naming the shard.</summary>
    /// <param name="checkHash">
    /// also check the ciphertext's SHA-256 against the manifest (storage integrity, outside a Realm). Inside a Realm whose
    /// manifest came bound to its key release the tag alone decides — it covers the content, the place and the count —
    /// and the hash would only halve the rate (measured in the agent: 1.1 GB/s with it, 4.4 without).
    /// </param>
    /// <param name="aesTimer">if given, runs only around the AES-GCM open (the hash check is outside it)</param>
    public static void Decrypt(ShardManifest m, int index, ReadOnlySpan<byte> shard, AesGcm gcm, Span<byte> into, System.Diagnostics.Stopwatch? aesTimer = null,
        bool checkHash = true)
    {
        if (index < 0 || index >= m.Shards.Count) throw new TamperedShardException(index, $"shard {index}: the manifest has {m.Shards.Count}");
        var e = m.Shards[index];
        if (shard.Length != e.Bytes + TagBytes)
            throw new TamperedShardException(index, $"shard {index} is {shard.Length} bytes; the manifest says {e.Bytes + TagBytes}");
        if (checkHash && !CryptographicOperations.FixedTimeEquals(SHA256.HashData(shard), Convert.FromHexString(e.CipherSha256)))
            throw new TamperedShardException(index, $"shard {index}'s ciphertext does not have the manifest's hash: it was changed");
        var nonce = Convert.FromHexString(e.NonceHex);
        var aad = Aad(m.KeyId, index, m.Shards.Count);
        aesTimer?.Start();
        try { gcm.Decrypt(nonce, shard[..e.Bytes], shard[e.Bytes..], into[..e.Bytes], aad); }
        catch (AuthenticationTagMismatchException)
        {
            throw new TamperedShardException(index, $"shard {index} does not open under key {m.KeyId}: tampered, moved, or another model's");
        }
        finally { aesTimer?.Stop(); }
    }

    private static byte[] Aad(string keyId, int index, int count) => Encoding.UTF8.GetBytes($"perflab-shard|{keyId}|{index}|{count}");
}
