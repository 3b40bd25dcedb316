using PerfLab.Core.LoadGen;
using PerfLab.Core.Suites;

namespace PerfLab.Lab.Workloads;

/// <summary>The null workload: answers at once, so what is measured is the load generator and the channel.</summary>
public sealed class NoopWorkload : IWorkload
{
    public WorkloadKind Kind => WorkloadKinds.Noop;
    public ISystemUnderTest CreateSut(WorkloadSpec spec, SutContext context) => new NullSut(spec.GetDouble("token_interval_us"));
}

/// <summary>
/// Answers every query at once with one token: measures the load generator and the channel. Served a prompt, it answers
/// with as many tokens as asked for, all at once: a server in front of it measures the HTTP path alone.
/// </summary>
public sealed class NullSut(double tokenIntervalUs = 0) : ISystemUnderTest, IPromptServer
{
    public string Name => "null";
    public string ModelName => "null";
    public int Vocab => 50257;

    public void Generate(GenerationRequest request, IGenerationSink sink)
    {
        if (tokenIntervalUs <= 0)
        {
            for (var i = 0; i < request.MaxTokens; i++) sink.Token(i % Vocab);
            sink.Done(request.MaxTokens, 0);
            return;
        }
        // Spaced tokens: each sent on its own, as a real engine's are, while this engine spends no CPU between them.
        _ = Task.Run(async () =>
        {
            for (var i = 0; i < request.MaxTokens; i++)
            {
                if (i > 0) await Task.Delay(TimeSpan.FromMicroseconds(tokenIntervalUs));
                sink.Token(i % Vocab);
            }
            sink.Done(request.MaxTokens, 0);
        });
    }

    public void IssueQuery(ReadOnlySpan<QuerySample> samples, IResponseSink sink)
    {
        foreach (var q in samples) sink.Complete(q.Id, 1, 0);
    }
    public void FlushQueries() { }
}
