using System.CommandLine;
using System.Diagnostics;
using PerfLab.Core.Units;
using PerfLab.Llm.Model;

namespace PerfLab.Cli.Commands;

/// <summary>`perflab model build`: write a Llama-architecture ONNX model with deterministic synthetic weights.</summary>
public static class ModelCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var preset = new Option<string>("--preset") { Description = "shape: tiny, 110m, 1b (free dimensions below override it)", DefaultValueFactory = _ => "tiny" };
        var format = new Option<string>("--format") { Description = "int4 (MatMulNBits) or fp32", DefaultValueFactory = _ => "int4" };
        format.AcceptOnlyFromAmong("int4", "fp32");
        var block = new Option<int>("--block-size") { Description = "int4 block size: 32, 64 or 128", DefaultValueFactory = _ => 32 };
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
            var spec = new ModelSpec(p.GetValue(preset)!, shape, p.GetValue(format) == "fp32" ? WeightFormat.Fp32 : WeightFormat.Int4,
                p.GetValue(block), p.GetValue(accuracy), p.GetValue(seed));
            if (spec.Problem() is { } problem)
            {
                stderr.WriteLine("model: " + problem);
                return (int)ExitCode.BadInput;
            }
            var sw = Stopwatch.StartNew();
            var built = p.GetValue(output) is { } dir ? LlamaBuilder.Build(spec, dir) : BuildCached(spec);
            stdout.WriteLine($"{built.Directory}: {spec.Preset} {spec.Format.ToString().ToLowerInvariant()} block {spec.BlockSize}, " +
                             $"{(shape.MatrixParameters + shape.EmbeddingParameters) / 1e6:0.#} M parameters, weights file {new Bytes(built.WeightsFileBytes).Value / 1e6:0.#} MB, " +
                             $"{built.StreamedBytesPerToken / 1e6:0.#} MB streamed per token, built in {sw.Elapsed.TotalSeconds:0.#} s");
            return 0;
        });
        return new Command("model", "Build the models the llm workload runs.\nExample: perflab model build --preset tiny") { build };
    }

    private static BuiltModel BuildCached(ModelSpec spec)
    {
        var dir = ModelCache.BuildIfMissing(spec);
        var m = ModelFiles.ReadManifest(dir);
        return new BuiltModel(dir, Path.Combine(dir, m.ModelFile), Path.Combine(dir, m.WeightsFile), Path.Combine(dir, BuiltModel.ManifestFile), spec, m.WeightsBytes, m.StreamedBytesPerToken);
    }
}
