namespace PerfLab.Core.LoadGen;

/// <summary>One request a server hands its engine: the prompt's token ids and how many tokens to generate.</summary>
public sealed record GenerationRequest(long[] PromptTokens, int MaxTokens);

/// <summary>Where an engine streams one request's answer, from its own threads.</summary>
public interface IGenerationSink
{
    void Token(int tokenId);
    /// <summary>The answer is complete: <paramref name="tokens"/> generated in <paramref name="insideNs"/> of the engine's time.</summary>
    void Done(int tokens, long insideNs);
    void Failed(string reason);
}

/// <summary>
/// A SUT that also answers prompts it was sent rather than samples of its own library: what an HTTP server puts in
/// front of it. The same engine, queue and threads as its IssueQuery path, so the two paths differ only in transport.
/// </summary>
public interface IPromptServer
{
    /// <summary>The model's name as a server lists it.</summary>
    string ModelName { get; }
    /// <summary>Token ids the model accepts are below this.</summary>
    int Vocab { get; }
    /// <summary>Queues one request; must not block for its duration.</summary>
    void Generate(GenerationRequest request, IGenerationSink sink);
}

/// <summary>
/// A SUT whose samples change between windows of a cell (a launch's warm-up, its measured part): an HTTP client that
/// sends each window prompts no earlier window sent, so a server's prefix cache cannot flatter a rerun.
/// </summary>
public interface IWindowedSut
{
    void BeginWindow(int index);
}
