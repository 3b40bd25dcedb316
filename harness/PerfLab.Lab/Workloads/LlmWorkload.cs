using PerfLab.Core.LoadGen;
using PerfLab.Core.Suites;
using PerfLab.Lab.Os;
using PerfLab.Llm.Inference;
using PerfLab.Llm.Model;

namespace PerfLab.Lab.Workloads;

/// <summary>
/// The LLM workload: a Llama-architecture model built by PerfLab, served by ONNX Runtime, its GenAI peer or llama.cpp. Its model
/// is built on the host before a Realm starts; an emulated Realm streams its weights in.
/// </summary>
public sealed class LlmWorkload : IWorkload
{
    public WorkloadKind Kind => WorkloadKinds.Llm;

    public void PrepareOnHost(WorkloadSpec spec) => ModelCache.BuildIfMissing(LlmSettings.From(spec).Model);

    /// <summary>What an emulated Realm streams in: the ONNX weights file, or the GGUF file (header and tensors in one).</summary>
    public string? PayloadFile(WorkloadSpec spec)
    {
        var model = LlmSettings.From(spec).Model;
        return Path.Combine(ModelCache.BuildIfMissing(model), model.IsGguf ? Llm.Gguf.GgufBuilder.FileName : BuiltModel.WeightsFileName);
    }

    public ISystemUnderTest CreateSut(WorkloadSpec spec, SutContext context)
    {
        var settings = LlmSettings.From(spec);
        var dir = ModelCache.DirectoryFor(settings.Model);
        if (context.ReceivedPayloadDir is { } realmDir)
        {
            // The weights came over the shared buffer into private memory (tmpfs): the model is read from there; the
            // host's copy on disk is never opened.
            var beside = settings.Model.IsGguf ? new[] { BuiltModel.ManifestFile } : [BuiltModel.ModelFile, BuiltModel.ManifestFile, BuiltModel.GenAiConfigFile];
            foreach (var f in beside)
                File.Copy(Path.Combine(dir, f), Path.Combine(realmDir, f), true);
            var fromRealm = new LlmSut(settings, realmDir);
            // The session holds what it needs now (its packed copy, or a mapping of these pages): the file's name goes,
            // so the received bytes are not held a second time once nothing maps them.
            Directory.Delete(realmDir, true);
            Describe(fromRealm, context.Info);
            context.Info["weights_source"] = "streamed into private memory (tmpfs), verified against the manifest";
            return fromRealm;
        }
        if (!ModelCache.IsBuilt(dir)) BuildInOwnProcess(settings, context.Info);
        var sut = new LlmSut(settings, dir);
        Describe(sut, context.Info);
        return sut;
    }

    private static void Describe(LlmSut sut, IDictionary<string, string> info)
    {
        foreach (var (k, v) in sut.Info) info["llm." + k] = v;
    }

    /// <summary>A model missing inside the agent is built by a separate `perflab model build`, so the builder's own memory
    /// never shows in this agent's RSS.</summary>
    private static void BuildInOwnProcess(LlmSettings settings, IDictionary<string, string> info)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var (file, lead) = PerflabExecutable.Resolve();
        var m = settings.Model;
        var r = ProcessRunner.TryRun(file, [.. lead, "model", "build", "--preset", m.Preset, "--format", m.FormatName,
            "--block-size", m.BlockSize.ToString(), "--accuracy-level", m.AccuracyLevel.ToString(), "--seed", m.Seed.ToString()], TimeSpan.FromHours(1));
        if (r is not { Ok: true }) throw new InvalidOperationException($"building the model failed (exit {r?.ExitCode}): {r?.Stderr.Trim()}");
        info["model_build_ms"] = sw.Elapsed.TotalMilliseconds.ToString("0");
    }
}
