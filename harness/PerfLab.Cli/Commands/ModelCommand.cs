using System.CommandLine;
using System.Diagnostics;
using PerfLab.Core.Units;
using PerfLab.Llm.Model;

namespace PerfLab.Cli.Commands;

/// <summary>`perflab model build`: write a Llama-architecture ONNX model with deterministic synthetic weights; `perflab model encrypt`: seal its weights.</summary>
public static class ModelCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var preset = new Option<string>("--preset") { Description = "shape: tiny, 110m, 1b (free dimensions below override it)", DefaultValueFactory = _ => "tiny" };
        var format = new Option<string>("--format")
        {
            Description = "int4 (MatMulNBits) or fp32: ONNX for ort and ort-genai; q4_0 or f16: GGUF for llamacpp", DefaultValueFactory = _ => "int4",
        };
        format.AcceptOnlyFromAmong("int4", "fp32", "q4_0", "f16");
        var block = new Option<int>("--block-size") { Description = "int4 block size: 32, 64 or 128", DefaultValueFactory = _ => ModelSpec.DefaultBlockSize };
        var accuracy = new Option<int>("--accuracy-level") { Description = "MatMulNBits accuracy level, 0..4 (4: int8 activations)", DefaultValueFactory = _ => 4 };
        var seed = new Option<ulong>("--seed") { Description = "seed of the weights; the same seed gives byte-identical files", DefaultValueFactory = _ => 1 };
        var layers = new Option<int?>("--layers") { Description = "free dimension: decoder layers" };
        var hidden = new Option<int?>("--hidden") { Description = "free dimension: hidden size" };
        var heads = new Option<int?>("--heads") { Description = "free dimension: attention heads" };
        var kvHeads = new Option<int?>("--kv-heads") { Description = "free dimension: key/value heads (GQA)" };
        var inter = new Option<int?>("--intermediate") { Description = "free dimension: MLP intermediate size" };
        var context = new Option<int?>("--context") { Description = "free dimension: maximum sequence length" };
        var output = new Option<string?>("--out") { Description = "folder to write; default: the model cache (PERFLAB_MODEL_CACHE or ~/.cache/perflab/models)" };
        var build = new Command("build", "Write model.onnx, model.weights (4 KiB-aligned tensors), manifest.json (offset, length, SHA-256 per tensor) and genai_config.json.\n" +
                                         "With --format q4_0 or f16: model.gguf for llama.cpp (the same synthetic weights) and its manifest.json.\n" +
                                         "Example: perflab model build --preset 1b --format int4 --block-size 32")
        {
            preset, format, block, accuracy, seed, layers, hidden, heads, kvHeads, inter, context, output,
        };
        build.SetAction(p =>
        {
            if (!ModelSpec.Presets.TryGetValue(p.GetValue(preset)!, out var shape))
            {
                stderr.WriteLine($"--preset '{p.GetValue(preset)}': unknown; valid: {string.Join(", ", ModelSpec.Presets.Keys)}");
                return (int)ExitCode.BadInput;
            }
            shape = shape with
            {
                Layers = p.GetValue(layers) ?? shape.Layers, Hidden = p.GetValue(hidden) ?? shape.Hidden, Heads = p.GetValue(heads) ?? shape.Heads,
                KvHeads = p.GetValue(kvHeads) ?? shape.KvHeads, Intermediate = p.GetValue(inter) ?? shape.Intermediate,
                MaxSequence = p.GetValue(context) ?? shape.MaxSequence,
            };
            var spec = new ModelSpec(p.GetValue(preset)!, shape, ModelSpec.ParseFormat(p.GetValue(format)!), p.GetValue(block), p.GetValue(accuracy), p.GetValue(seed));
            if (spec.Problem() is { } problem)
            {
                stderr.WriteLine("model: " + problem);
                return (int)ExitCode.BadInput;
            }
            var sw = Stopwatch.StartNew();
            var built = p.GetValue(output) is { } dir ? spec.IsGguf ? Llm.Gguf.GgufBuilder.Build(spec, dir) : LlamaBuilder.Build(spec, dir) : BuildCached(spec);
            stdout.WriteLine($"{built.Directory}: {spec.Preset} {spec.FormatName}{(spec.IsGguf ? " (GGUF)" : $" block {spec.BlockSize}")}, " +
                             $"{(shape.MatrixParameters + shape.EmbeddingParameters) / 1e6:0.#} M parameters, weights file {new Bytes(built.WeightsFileBytes).Value / 1e6:0.#} MB, " +
                             $"{built.StreamedBytesPerToken / 1e6:0.#} MB streamed per token, built in {sw.Elapsed.TotalSeconds:0.#} s");
            return 0;
        });
        return new Command("model", "Build the models the llm workload runs, and encrypt their weights.\nExample: perflab model build --preset tiny")
        {
            build, Encrypt(stdout, stderr),
        };
    }

    private static BuiltModel BuildCached(ModelSpec spec)
    {
        var dir = ModelCache.BuildIfMissing(spec);
        var m = ModelFiles.ReadManifest(dir);
        return new BuiltModel(dir, Path.Combine(dir, m.ModelFile), Path.Combine(dir, m.WeightsFile), Path.Combine(dir, BuiltModel.ManifestFile), spec, m.WeightsBytes, m.StreamedBytesPerToken);
    }

    private static Command Encrypt(TextWriter stdout, TextWriter stderr)
    {
        var model = new Option<string>("--model") { Description = "a built model's folder (perflab model build prints it)", Required = true };
        var output = new Option<string>("--out") { Description = "folder for weights.enc (the AES-256-GCM shards) and shards.json (their manifest)", Required = true };
        var keyFile = new Option<string>("--key-file")
        {
            Description = "the model key: 32 raw bytes, read if the file exists, else made and written with mode 0600. It is your broker's secret; " +
                          "perflab never prints it, and suites never use a key file (each run makes its own key and keeps it in memory)",
            Required = true,
        };
        var shardBytes = new Option<int>("--shard-bytes") { Description = "plaintext bytes per shard (≥ 4096)", DefaultValueFactory = _ => PerfLab.Lab.Broker.EncryptedModels.ShardBytes };
        var keyId = new Option<string?>("--key-id") { Description = "the key's name in the manifest and the AAD of every shard; default: from the key's hash" };
        var cmd = new Command("encrypt", "Encrypt a built model's weights into AES-256-GCM shards with a manifest (per-shard nonce and hash, total, key id; " +
                                         "each shard's tag binds its index, the shard count and the key id).\n" +
                                         "Example: perflab model encrypt --model ~/.cache/perflab/models/tiny-int4-b32-a4-s1-g2 --out /tmp/tiny-sealed --key-file /tmp/tiny.key")
        {
            model, output, keyFile, shardBytes, keyId,
        };
        cmd.SetAction(p =>
        {
            var dir = p.GetValue(model)!;
            string weights;
            try { weights = Path.Combine(dir, PerfLab.Llm.Model.ModelFiles.ReadManifest(dir).WeightsFile); }
            catch (Exception e) when (e is IOException or InvalidDataException) { stderr.WriteLine("--model: " + e.Message); return (int)ExitCode.BadInput; }
            if (!File.Exists(weights)) { stderr.WriteLine($"--model: {weights}: missing"); return (int)ExitCode.BadInput; }
            if (p.GetValue(shardBytes) < 4096) { stderr.WriteLine($"--shard-bytes {p.GetValue(shardBytes)}: give at least 4096"); return (int)ExitCode.BadInput; }
            var kf = p.GetValue(keyFile)!;
            byte[] key;
            if (File.Exists(kf))
            {
                key = File.ReadAllBytes(kf);
                if (key.Length != 32) { stderr.WriteLine($"--key-file {kf}: {key.Length} bytes; an AES-256 key file holds exactly 32"); return (int)ExitCode.BadInput; }
                if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(kf) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead)) != 0)
                {
                    stderr.WriteLine($"--key-file {kf}: readable by group or others; chmod 600 it first");
                    return (int)ExitCode.BadInput;
                }
            }
            else
            {
                if (!OperatingSystem.IsLinux()) { stderr.WriteLine("--key-file: making a key file needs Linux (mode 0600 at creation)"); return (int)ExitCode.Environment; }
                key = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
                // Created 0600, never wider for a moment.
                using var f = new FileStream(kf, new FileStreamOptions
                {
                    Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                });
                f.Write(key);
            }
            var id = p.GetValue(keyId) ?? "key-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(key))[..16];
            var sw = Stopwatch.StartNew();
            var (path, manifest) = PerfLab.Lab.Broker.EncryptedModels.Write(weights, key, id, p.GetValue(output)!, p.GetValue(shardBytes));
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(key);
            stdout.WriteLine($"{path}: {manifest.Shards.Count} AES-256-GCM shards of {manifest.ShardBytes} bytes, {manifest.TotalBytes / 1e6:0.#} MB of weights, " +
                             $"key id {manifest.KeyId}, in {sw.Elapsed.TotalSeconds:0.##} s; manifest {Path.Combine(Path.GetDirectoryName(path)!, PerfLab.Lab.Broker.EncryptedModels.ManifestFile)}");
            return 0;
        });
        return cmd;
    }
}
