using System.Security.Cryptography;
using System.Text.Json;

namespace PerfLab.Llm.Model;

/// <summary>Reads and verifies a built model's files, naming the file and what is wrong when something is.</summary>
public static class ModelFiles
{
    public static ModelManifest ReadManifest(string directory)
    {
        var path = Path.Combine(directory, BuiltModel.ManifestFile);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: missing; build the model with perflab model build", path);
        try
        {
            return JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(path), ModelManifest.Json)
                   ?? throw new InvalidDataException($"{path}: empty manifest");
        }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not a model manifest ({e.Message})", e); }
    }

    /// <summary>
    /// Checks the weights file against the manifest: present, long enough, and every tensor's SHA-256 as recorded.
    /// Reads the file once, tensor by tensor, as a Realm receiving it shard by shard would.
    /// </summary>
    public static void Verify(string directory)
    {
        var m = ReadManifest(directory);
        var weights = Path.Combine(directory, m.WeightsFile);
        if (!File.Exists(weights)) throw new FileNotFoundException($"{weights}: missing (the manifest lists {m.Tensors.Count} tensors in it)", weights);
        // Opened, not stat'ed: the weights file may be a link to memory the payload was streamed into.
        using var f = File.OpenRead(weights);
        var length = f.Length;
        if (length < m.WeightsBytes) throw new InvalidDataException($"{weights}: truncated: {length} bytes, the manifest says {m.WeightsBytes}");
        // Hashed through one small buffer: verifying must not hold a copy of the weights beside the engine's.
        var buffer = new byte[1 << 20];
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var t in m.Tensors)
        {
            f.Position = t.Offset;
            for (var left = t.Length; left > 0;)
            {
                var n = (int)Math.Min(buffer.Length, left);
                f.ReadExactly(buffer, 0, n);
                hash.AppendData(buffer, 0, n);
                left -= n;
            }
            var sha = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (sha != t.Sha256)
                throw new InvalidDataException($"{weights}: tensor {t.Name} (offset {t.Offset}, {t.Length} bytes) hashes to {sha[..16]}…, the manifest says {t.Sha256[..16]}…");
        }
        // A GGUF file is its own model file: its header is hashed above, as the manifest's first entry.
        if (m.ModelFile == m.WeightsFile) return;
        var modelPath = Path.Combine(directory, m.ModelFile);
        if (!File.Exists(modelPath)) throw new FileNotFoundException($"{modelPath}: missing", modelPath);
        var modelSha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(modelPath)));
        if (modelSha != m.ModelSha256) throw new InvalidDataException($"{modelPath}: hashes to {modelSha[..16]}…, the manifest says {m.ModelSha256[..16]}…");
    }
}
