using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace PerfLab.Benchmarks;

/// <summary>
/// The crypto a confidential model delivery runs per byte — AES-256-GCM decryption of weight shards, SHA-256/512 of
/// them — in .NET (what the agent uses) beside `openssl speed` on the same machine in the same run, as GB/s medians of
/// repeated passes. The target for the agent's path is ≥ 90 % of OpenSSL's; both call the same libcrypto here, so a
/// gap is the managed path's own cost.
/// </summary>
public static partial class CryptoThroughput
{
    public static int Run(string[] args, TextWriter o)
    {
        var chunk = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 16 * 1024;
        var data = RandomNumberGenerator.GetBytes(64 * 1024 * 1024);
        var key = RandomNumberGenerator.GetBytes(32);
        using var gcm = new AesGcm(key, 16);
        var nonce = new byte[12];
        var cipher = new byte[data.Length];
        var chunks = data.Length / chunk;
        var tags = new byte[chunks * 16];
        for (var i = 0; i < chunks; i++)
        {
            BitConverter.TryWriteBytes(nonce, (long)i);
            gcm.Encrypt(nonce, data.AsSpan(i * chunk, chunk), cipher.AsSpan(i * chunk, chunk), tags.AsSpan(i * 16, 16));
        }
        var plain = new byte[data.Length];
        var nonce0 = new byte[12];
        double Pass(Action a) { var sw = Stopwatch.StartNew(); a(); return data.Length / sw.Elapsed.TotalSeconds / 1e9; }
        double Median(Func<double> pass) { pass(); var v = Enumerable.Range(0, 7).Select(_ => pass()).Order().ToList(); return v[v.Count / 2]; }
        // Streamed: 64 MiB through, as the agent decrypts a model's shards (ciphertext in, plaintext out: memory traffic
        // openssl speed does not have). The cache-hot passes, one chunk again and again as openssl speed measures, are
        // taken below, interleaved with openssl's.
        var aes = Median(() => Pass(() =>
        {
            for (var i = 0; i < chunks; i++)
            {
                BitConverter.TryWriteBytes(nonce, (long)i);
                gcm.Decrypt(nonce, cipher.AsSpan(i * chunk, chunk), tags.AsSpan(i * 16, 16), plain.AsSpan(i * chunk, chunk));
            }
        }));
        var sha256 = Median(() => Pass(() => { for (var i = 0; i < chunks; i++) SHA256.HashData(data.AsSpan(i * chunk, chunk)); }));
        var sha512 = Median(() => Pass(() => { for (var i = 0; i < chunks; i++) SHA512.HashData(data.AsSpan(i * chunk, chunk)); }));
        o.WriteLine($"chunk {chunk} bytes; GB/s, medians of 5 rounds, each a .NET pass (one chunk repeated over 64 MiB: hot) then 1 s of openssl");
        o.WriteLine($"{"",-22} {".NET hot",9} {"openssl",8} {"ratio",7} {".NET streamed",14}");
        foreach (var (name, hotPass, streamed, evp, decrypt) in new (string, Func<double>, double, string, bool)[]
                 {
                     ("aes-256-gcm decrypt", () => Pass(() => { for (var i = 0; i < chunks; i++) gcm.Decrypt(nonce0, cipher.AsSpan(0, chunk), tags.AsSpan(0, 16), plain.AsSpan(0, chunk)); }), aes, "aes-256-gcm", true),
                     ("sha256", () => Pass(() => { for (var i = 0; i < chunks; i++) SHA256.HashData(data.AsSpan(0, chunk)); }), sha256, "sha256", false),
                     ("sha512", () => Pass(() => { for (var i = 0; i < chunks; i++) SHA512.HashData(data.AsSpan(0, chunk)); }), sha512, "sha512", false),
                 })
        {
            // Interleaved, so a slow stretch of the host lands on both sides rather than on one.
            var net = new List<double>();
            var ossl = new List<double>();
            for (var round = 0; round < 5; round++)
            {
                net.Add(hotPass());
                if (OpenSsl(evp, chunk, decrypt) is { } x) ossl.Add(x);
            }
            double M(List<double> v) => v.Order().ElementAt(v.Count / 2);
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name,-22} {M(net),9:0.00} {(ossl.Count > 0 ? M(ossl).ToString("0.00", CultureInfo.InvariantCulture) : "n/a"),8} {(ossl.Count > 0 ? (M(net) / M(ossl)).ToString("0.0%", CultureInfo.InvariantCulture) : "–"),7} {streamed,14:0.00}"));
        }
        o.WriteLine("openssl: `openssl speed [-decrypt] -evp <alg> -bytes <chunk> -seconds 1`, one buffer reused (cache-hot): compare with .NET hot.");
        o.WriteLine("(OpenSSL 3.0's GCM decrypt runs slower than its encrypt here: always compare decrypt with decrypt.)");
        return 0;
    }

    /// <summary>openssl speed's rate for one block size, in GB/s (it prints thousands of bytes per second).</summary>
    private static double? OpenSsl(string evp, int chunk, bool decrypt)
    {
        try
        {
            string[] args = [.. decrypt ? new[] { "speed", "-decrypt" } : ["speed"], "-evp", evp, "-bytes", chunk.ToString(CultureInfo.InvariantCulture), "-seconds", "1"];
            var p = Process.Start(new ProcessStartInfo("openssl", args)
                { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var text = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            var m = Rate().Match(text.Split('\n').LastOrDefault(l => l.StartsWith(evp.ToUpperInvariant(), StringComparison.Ordinal) || l.StartsWith(evp, StringComparison.OrdinalIgnoreCase) && l.Contains('k')) ?? "");
            return m.Success ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) * 1000 / 1e9 : null;
        }
        catch (System.ComponentModel.Win32Exception) { return null; }
    }

    [GeneratedRegex(@"([\d.]+)k\s*$")]
    private static partial Regex Rate();
}
