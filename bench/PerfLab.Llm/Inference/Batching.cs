namespace PerfLab.Llm.Inference;

/// <summary>
/// An engine that decodes many sequences in one step: each sequence owns a slot from its prefill to its release, and a
/// step advances every slot it is given by one token with one pass over the weights. Sequences join (Start) and leave
/// (Release) between steps: continuous batching. One thread drives it.
/// </summary>
public interface IBatchedEngine : IDisposable
{
    string Name { get; }
    int Slots { get; }

    /// <summary>Prefills the prompt into a free slot; returns its first token.</summary>
    int Start(int slot, ReadOnlySpan<long> prompt);

    /// <summary>One decode step of the given slots, each fed its last token; writes each one's next token.</summary>
    void Step(ReadOnlySpan<int> slots, ReadOnlySpan<int> last, Span<int> next);

    void Release(int slot);
}
