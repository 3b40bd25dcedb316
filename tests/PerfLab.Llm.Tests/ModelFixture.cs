using PerfLab.Llm.Model;

namespace PerfLab.Llm.Tests;

/// <summary>The tiny model in its ONNX formats and as GGUF Q4_0, built once for all tests of the assembly into a temporary folder.</summary>
public sealed class TinyModels : IDisposable
{
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "perflab-llm-tests", Guid.NewGuid().ToString("N")[..10]);
    public BuiltModel Fp32 { get; }
    public BuiltModel Int4 { get; }
    public BuiltModel Q40 { get; }

    public TinyModels()
    {
        Fp32 = LlamaBuilder.Build(ModelSpec.FromPreset("tiny", WeightFormat.Fp32), Path.Combine(Root, "tiny-fp32"));
        Int4 = LlamaBuilder.Build(ModelSpec.FromPreset("tiny", WeightFormat.Int4), Path.Combine(Root, "tiny-int4"));
        Q40 = Gguf.GgufBuilder.Build(ModelSpec.FromPreset("tiny", WeightFormat.Q4_0), Path.Combine(Root, "tiny-q4_0"));
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, true); } catch (IOException) { }
    }
}

[CollectionDefinition("tiny models")]
public sealed class TinyModelsCollection : ICollectionFixture<TinyModels>;
