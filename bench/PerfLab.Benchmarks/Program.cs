using BenchmarkDotNet.Running;
using PerfLab.Benchmarks;

// Two kinds of measurement live here:
//   BenchmarkDotNet benchmarks of the lab's own hot paths (channel, statistics, gate, generator): dotnet run -c Release -- --filter '*'
//   the load generator's timing accuracy, a distribution rather than a mean:                      dotnet run -c Release -- accuracy
//   LLM decode speed against the memory-bandwidth roofline, our engine beside ORT GenAI:            dotnet run -c Release -- llm-decode [preset]
//   AES-256-GCM and SHA-256/512 throughput in .NET beside openssl speed, same run:                  dotnet run -c Release -- crypto [chunk bytes]
if (args.Length > 0 && args[0] == "accuracy")
    return GeneratorAccuracy.Run(args.Skip(1).ToArray(), Console.Out);
if (args.Length > 0 && args[0] == "crypto")
    return CryptoThroughput.Run(args.Skip(1).ToArray(), Console.Out);
if (args.Length > 0 && args[0] == "llm-decode")
    return LlmDecode.Run(args.Skip(1).ToArray(), Console.Out);
BenchmarkSwitcher.FromAssembly(typeof(ChannelBenchmarks).Assembly).Run(args);
return 0;
