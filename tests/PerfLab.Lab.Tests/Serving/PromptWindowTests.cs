using PerfLab.Core.Suites;
using PerfLab.Lab.Workloads;

namespace PerfLab.Lab.Tests.Serving;

/// <summary>Which prompts each window of an openai cell sends: distinct across launches unless asked otherwise, reuse counted.</summary>
public class PromptWindowTests
{
    private static WorkloadSpec Spec(string prompts, string reuse = "distinct", int samples = 8)
    {
        var values = WorkloadKinds.OpenAi.Parameters.ToDictionary(p => p.Name, p => p.Default);
        (values["prompts"], values["prompt_reuse"], values["samples"], values["serve"]) = (prompts, reuse, samples.ToString(), "noop");
        return new WorkloadSpec("h", WorkloadKinds.OpenAi, values);
    }

    private static string Key(PerfLab.Llm.Datasets.ServingPrompt p) => p.Text ?? string.Join(",", p.TokenIds!);

    [Fact]
    public void Synthetic_windows_never_repeat_each_other_and_the_same_window_is_the_same_prompts()
    {
        var pool = OpenAiWorkload.Pool(Spec("synthetic"));
        var w0 = pool.Window(0, 8).Select(Key).ToList();
        var w1 = pool.Window(1, 8).Select(Key).ToList();
        Assert.Equal(8, w0.Count);
        Assert.Empty(w0.Intersect(w1));
        Assert.Equal(w0, pool.Window(0, 8).Select(Key));
        Assert.Equal(0, pool.ReusedBefore(5, 8));
    }

    [Fact]
    public void A_fixed_set_is_sliced_window_by_window_and_its_wrap_is_counted()
    {
        var pool = OpenAiWorkload.Pool(Spec("builtin"));
        var all = PerfLab.Llm.Datasets.Prompts.Builtin().Count;
        var n = 8;
        var seen = new HashSet<string>();
        for (var w = 0; (w + 1) * n <= all; w++)
        {
            var keys = pool.Window(w, n).Select(Key).ToList();
            Assert.Equal(0, pool.ReusedBefore(w, n));
            Assert.All(keys, k => Assert.True(seen.Add(k), $"window {w} repeats a prompt of an earlier window"));
        }
        // The next window runs past the set's end: what it shares with earlier windows is said, exactly.
        var wrap = all / n;
        var again = pool.Window(wrap, n).Select(Key).Count(seen.Contains);
        Assert.Equal(again, pool.ReusedBefore(wrap, n));
        Assert.True(again > 0);
    }
}
