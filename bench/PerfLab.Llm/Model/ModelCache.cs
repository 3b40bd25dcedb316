namespace PerfLab.Llm.Model;

/// <summary>
/// Where built models live between runs: one folder per spec under PERFLAB_MODEL_CACHE (default
/// ~/.cache/perflab/models), named by everything that decides its bytes, so a spec is built once.
/// </summary>
public static class ModelCache
{
    public static string Root => Environment.GetEnvironmentVariable("PERFLAB_MODEL_CACHE") is { Length: > 0 } r
        ? r
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "perflab", "models");

    public static string DirectoryFor(ModelSpec s)
    {
        // Free dimensions make another model under the same preset name: their hash keeps the folders apart.
        var custom = ModelSpec.Presets.TryGetValue(s.Preset, out var p) && p == s.Shape ? "" : "-x" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(s.Shape.ToString())))[..8];
        if (s.IsGguf) return Path.Combine(Root, $"{s.Preset}{custom}-gguf-{s.FormatName}-s{s.Seed}-v{Gguf.GgufBuilder.FileVersion}");
        return Path.Combine(Root, $"{s.Preset}{custom}-{s.Format.ToString().ToLowerInvariant()}-b{s.BlockSize}-a{s.AccuracyLevel}-s{s.Seed}{(s.PackedQkv ? "" : "-unpacked")}-g{LlamaBuilder.GraphVersion}");
    }

    public static bool IsBuilt(string directory) => File.Exists(Path.Combine(directory, BuiltModel.ManifestFile));

    /// <summary>Builds into a temporary folder and renames it, so a half-built model is never taken for a whole one.</summary>
    public static string BuildIfMissing(ModelSpec spec)
    {
        var dir = DirectoryFor(spec);
        if (IsBuilt(dir)) return dir;
        var tmp = dir + $".building-{Environment.ProcessId}";
        if (spec.IsGguf) Gguf.GgufBuilder.Build(spec, tmp);
        else LlamaBuilder.Build(spec, tmp);
        try { Directory.Move(tmp, dir); }
        catch (IOException) when (IsBuilt(dir)) { Directory.Delete(tmp, true); } // another process won the race
        return dir;
    }
}
