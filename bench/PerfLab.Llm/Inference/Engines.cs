using GenAiModel = Microsoft.ML.OnnxRuntimeGenAI.Model;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace PerfLab.Llm.Inference;

/// <summary>Greedy generation, the same contract for both engines, so a run can put them side by side.</summary>
public interface IGreedyEngine : IDisposable
{
    string Name { get; }
    /// <summary>Generates up to <paramref name="maxNewTokens"/> tokens after the prompt; calls onToken after each.</summary>
    int Generate(ReadOnlySpan<long> prompt, int maxNewTokens, Action<int>? onToken = null);
}

/// <summary>Our engine (ONNX Runtime directly, KV cache bound in place).</summary>
public sealed class OrtGreedyEngine(OrtDecoder decoder, bool dispose = true) : IGreedyEngine
{
    public string Name => "ort";
    public OrtDecoder Decoder => decoder;

    public int Generate(ReadOnlySpan<long> prompt, int maxNewTokens, Action<int>? onToken = null)
    {
        using var seq = decoder.NewSequence(Math.Min(decoder.Shape.MaxSequence, prompt.Length + maxNewTokens));
        var logits = seq.Prefill(prompt);
        var next = DecoderSequence.ArgMax(logits);
        onToken?.Invoke(next);
        var produced = 1;
        while (produced < maxNewTokens)
        {
            next = DecoderSequence.ArgMax(seq.Step(next));
            onToken?.Invoke(next);
            produced++;
        }
        return produced;
    }

    public void Dispose()
    {
        if (dispose) decoder.Dispose();
    }
}

/// <summary>The peer engine: ONNX Runtime GenAI running the same files through their genai_config.json.</summary>
public sealed class GenAiGreedyEngine : IGreedyEngine
{
    private readonly GenAiModel _model;
    private readonly int _maxSequence;

    public GenAiGreedyEngine(string modelDirectory, int maxSequence)
    {
        _model = new GenAiModel(modelDirectory);
        _maxSequence = maxSequence;
    }

    public string Name => "ort-genai";

    public int Generate(ReadOnlySpan<long> prompt, int maxNewTokens, Action<int>? onToken = null)
    {
        using var p = new GeneratorParams(_model);
        p.SetSearchOption("max_length", Math.Min(_maxSequence, prompt.Length + maxNewTokens));
        p.SetSearchOption("do_sample", false);
        using var g = new Generator(_model, p);
        var ids = new int[prompt.Length];
        for (var i = 0; i < ids.Length; i++) ids[i] = (int)prompt[i];
        g.AppendTokens(ids);
        var produced = 0;
        while (produced < maxNewTokens && !g.IsDone())
        {
            g.GenerateNextToken();
            onToken?.Invoke(g.GetNextTokens()[0]);
            produced++;
        }
        return produced;
    }

    public void Dispose() => _model.Dispose();
}
