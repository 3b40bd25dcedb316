using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using PerfLab.Core.Attestation;
using PerfLab.Lab.Agent;

namespace PerfLab.Lab.Broker;

/// <summary>
/// A model's weights encrypted for this perflab process: AES-256-GCM shards under a key made here, registered with the
/// lab's broker and never written anywhere — a run's key dies with the run. The shard file and its manifest sit beside
/// the plain weights (<c>encrypted-&lt;pid&gt;/</c>: ciphertext, safe at rest) and are removed when the process ends;
/// those of processes that are gone are removed on the next use.
/// </summary>
public static class EncryptedModels
{
    public const int ShardBytes = 4 << 20;
    public const string ShardFile = "weights.enc", ManifestFile = "shards.json";
    private static readonly ConcurrentDictionary<string, Lazy<(string Path, ShardManifest Manifest, string Resource)>> Done = new();
    private static readonly ConcurrentBag<string> Made = [];

    static EncryptedModels() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        foreach (var d in Made) try { Directory.Delete(d, true); } catch (IOException) { }
    };

    /// <summary>The encrypted form of a plain weights file for this process (made once), and its broker resource path.</summary>
    public static (string Path, ShardManifest Manifest, string Resource) For(string plainPath, KeyBroker broker) =>
        Done.GetOrAdd(Path.GetFullPath(plainPath), p => new(() => Encrypt(p, broker))).Value;

    private static (string, ShardManifest, string) Encrypt(string plainPath, KeyBroker broker)
    {
        var modelDir = Path.GetDirectoryName(plainPath)!;
        RemoveStale(modelDir);
        var dir = Path.Combine(modelDir, $"encrypted-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        Made.Add(dir);
        var key = RandomNumberGenerator.GetBytes(ShardCipher.KeyBytes);
        try
        {
            var keyId = "perflab-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
            var (path, manifest) = Write(plainPath, key, keyId, dir, ShardBytes);
            var resource = $"perflab/model-key/{keyId}";
            broker.AddResource(resource, new ModelKeyResource(key, ModelKeyResource.HashOf(manifest)).ToBytes());
            return (path, manifest, resource);
        }
        finally { CryptographicOperations.ZeroMemory(key); }
    }

    /// <summary>Encrypts a weights file into <paramref name="dir"/>: the shard file and its manifest (never the key).</summary>
    public static (string Path, ShardManifest Manifest) Write(string plainPath, byte[] key, string keyId, string dir, int shardBytes)
    {
        var plain = File.ReadAllBytes(plainPath);
        var (manifest, shards) = ShardCipher.Encrypt(plain, key, keyId, shardBytes);
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, ShardFile);
        using (var f = new FileStream(path, FileMode.Create, FileAccess.Write))
            foreach (var s in shards) f.Write(s);
        File.WriteAllText(Path.Combine(dir, ManifestFile), JsonSerializer.Serialize(manifest, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
        return (path, manifest);
    }

    private static void RemoveStale(string modelDir)
    {
        foreach (var d in Directory.GetDirectories(modelDir, "encrypted-*"))
        {
            if (int.TryParse(Path.GetFileName(d)["encrypted-".Length..], out var pid) && pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}"))
                try { Directory.Delete(d, true); } catch (IOException) { }
        }
    }
}
