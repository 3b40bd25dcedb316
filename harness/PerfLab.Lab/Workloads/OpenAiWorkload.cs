using System.Globalization;
using System.Net;
using PerfLab.Core.LoadGen;
using PerfLab.Core.Results;
using PerfLab.Core.Suites;
using PerfLab.Lab.Serving;
using PerfLab.Llm.Datasets;

namespace PerfLab.Lab.Workloads;

/// <summary>
/// The openai workload: an OpenAI-compatible endpoint as the system under test. With base_url empty the agent serves one
/// inside the cell's Realm (the serve: kind's engine behind <see cref="OpenAiServer"/>) and the host drives it over HTTP;
/// with base_url set the host drives the user's endpoint and the agent only keeps the cell's shape (it serves nothing).
/// </summary>
public sealed class OpenAiWorkload : IWorkload
{
    public WorkloadKind Kind => WorkloadKinds.OpenAi;

    private static bool External(WorkloadSpec spec) => spec.GetString("base_url").Length > 0;

    public string? CannotRunOn(WorkloadSpec spec, Platform platform)
    {
        if (External(spec) && platform != Platform.Native)
            return $"base_url {spec.GetString("base_url")} is an endpoint the lab does not launch: it runs wherever its owner put it, so a " +
                   $"{platform.Name()} label would be false; use platform native for it (or leave base_url empty to have the lab serve in a Realm)";
        if (!External(spec) && platform == Platform.Vm)
            return "the lab's own server in a vm cell needs the guest's port forwarded to the host, which the vm backend does not do yet; " +
                   "run it natively or in cca-emulated";
        return null;
    }

    public void PrepareOnHost(WorkloadSpec spec)
    {
        // Read the prompts before anything starts: a damaged file is an error naming its line, not a failed launch later.
        _ = Pool(spec);
        if (!External(spec)) WorkloadRegistry.For(WorkloadKinds.Served(spec).Kind).PrepareOnHost(WorkloadKinds.Served(spec));
    }

    public string? PayloadFile(WorkloadSpec spec) => External(spec) ? null : WorkloadRegistry.For(WorkloadKinds.Served(spec).Kind).PayloadFile(WorkloadKinds.Served(spec));

    public long PageBackedBytes(WorkloadSpec spec) => External(spec) ? 0 : WorkloadRegistry.For(WorkloadKinds.Served(spec).Kind).PageBackedBytes(WorkloadKinds.Served(spec));

    public ISystemUnderTest CreateSut(WorkloadSpec spec, SutContext context)
    {
        if (External(spec))
        {
            context.Info["openai_server"] = "external";
            context.Info["openai_base_url"] = spec.GetString("base_url");
            return new NullSut();
        }
        var served = WorkloadKinds.Served(spec);
        var inner = WorkloadRegistry.For(served.Kind).CreateSut(served, context);
        if (inner is not IPromptServer engine)
        {
            (inner as IDisposable)?.Dispose();
            throw new NotSupportedException($"serve: {served.Kind.Name} cannot answer prompts sent to it");
        }
        var server = OpenAiServer.Start(engine, IPAddress.Loopback, 0, crossings: context.Crossings);
        context.Info["openai_server"] = "perflab serve (Kestrel, HTTP/1.1) over " + inner.Name;
        context.Info["openai_base_url"] = server.BaseUrl.ToString();
        context.Info["openai_model"] = server.Model;
        return new ServedSut(inner, server);
    }

    public ISystemUnderTest? HostClient(WorkloadSpec spec, EffectiveRealm ready)
    {
        var url = External(spec) ? spec.GetString("base_url") : ready.Get(SettingSource.Agent, "openai_base_url")
            ?? throw new InvalidOperationException("the agent did not say where it serves (agent.openai_base_url)");
        var pool = Pool(spec);
        var samples = spec.GetInt("samples");
        return new OpenAiClientSut(OpenAiClientOptions.From(spec, new Uri(url)), samples, (w, n) => pool.Window(w, n), w => pool.ReusedBefore(w, samples));
    }

    /// <summary>The prompts the client draws from, by the workload's prompts: setting.</summary>
    public static PromptPool Pool(WorkloadSpec spec)
    {
        var seed = spec.GetInt("dataset_seed");
        switch (spec.GetString("prompts"))
        {
            case "synthetic":
                var input = new LengthDistribution(spec.GetDouble("input_tokens_mean"), 0.6, spec.GetInt("input_tokens_max"));
                var output = new LengthDistribution(spec.GetDouble("output_tokens_mean"), 0.6, spec.GetInt("output_tokens_max"));
                var vocab = spec.GetInt("vocab");
                // The lab's own model: its vocabulary, so these are the very prompts the llm workload draws with this seed.
                if (!External(spec) && WorkloadKinds.Served(spec).Kind == WorkloadKinds.Llm)
                    vocab = Llm.Model.ModelSpec.FromPreset(spec.GetString("preset"), Llm.Model.WeightFormat.Int4, 32, 4, 1).Shape.Vocab;
                // Each window its own seed: distinct token ids, the same length distribution.
                return new PromptPool(null, (w, n) => ServingPrompts.FromPrompts(Prompts.Synthetic(n, unchecked(seed + 7919 * w), input, output, vocab)));
            case "builtin":
                return new PromptPool(Shuffle(ServingPrompts.FromPrompts(Prompts.Builtin()), seed), null);
            default:
                var path = spec.GetString("prompts_file");
                if (!File.Exists(path)) throw new FileNotFoundException($"workload '{spec.Name}': prompts_file {path} does not exist", path);
                using (var reader = File.OpenText(path))
                    return new PromptPool(Shuffle(ServingPrompts.FromJsonl(reader, path), seed), null);
        }
    }

    private static IReadOnlyList<ServingPrompt> Shuffle(IReadOnlyList<ServingPrompt> list, int seed)
    {
        var a = list.ToArray();
        new Random(seed).Shuffle(a);
        return a;
    }

    /// <summary>
    /// A window's prompts: generated afresh for it (synthetic), or the next slice of a fixed, shuffled set, wrapping
    /// when the set runs out (the wrap is counted: ReusedBefore).
    /// </summary>
    public sealed class PromptPool(IReadOnlyList<ServingPrompt>? fixedSet, Func<int, int, IReadOnlyList<ServingPrompt>>? generate)
    {
        public IReadOnlyList<ServingPrompt> Window(int w, int n)
        {
            if (generate is not null) return generate(w, n);
            var p = fixedSet!.Count;
            var take = Math.Min(n, p);
            return Enumerable.Range(0, take).Select(i => fixedSet[(int)(((long)w * take + i) % p)]).ToList();
        }

        /// <summary>How many of window w's prompts an earlier window already sent.</summary>
        public int ReusedBefore(int w, int n)
        {
            if (generate is not null || w == 0) return 0;
            var p = fixedSet!.Count;
            var take = Math.Min(n, p);
            var earlier = (long)w * take;
            return earlier >= p ? take : (int)Math.Clamp(earlier + take - p, 0, take);
        }
    }
}

/// <summary>The lab's own server in the Realm and the engine behind it; channel queries still reach the engine directly.</summary>
public sealed class ServedSut(ISystemUnderTest inner, OpenAiServer server) : ISystemUnderTest, ISutStatistics, IDisposable
{
    public string Name => "openai-server:" + inner.Name;
    public void IssueQuery(ReadOnlySpan<QuerySample> samples, IResponseSink sink) => inner.IssueQuery(samples, sink);
    public void FlushQueries() => inner.FlushQueries();

    public IReadOnlyDictionary<string, long> Counters
    {
        get
        {
            var all = new Dictionary<string, long>(server.Counters);
            foreach (var (k, v) in (inner as ISutStatistics)?.Counters ?? new Dictionary<string, long>()) all[k] = v;
            return all;
        }
    }

    public void Dispose()
    {
        server.Dispose();
        (inner as IDisposable)?.Dispose();
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Name} at {server.BaseUrl}");
}
