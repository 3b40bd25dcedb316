using System.Globalization;
using System.Security.Cryptography;

namespace PerfLab.Lab.Agent;

/// <summary>
/// Inside a real Realm: an attestation report through configfs-tsm and the RSI call latencies of the rsi_bench module,
/// when the kernel offers them. Elsewhere: nothing, and the record says so by their absence.
/// </summary>
public static class RealmEvidenceProbe
{
    private const string Tsm = "/sys/kernel/config/tsm/report", RsiBench = "/sys/kernel/debug/rsi_bench";

    public static Dictionary<string, string> Probe()
    {
        var info = new Dictionary<string, string>();
        if (Directory.Exists(Tsm))
        {
            try
            {
                var entry = Path.Combine(Tsm, $"perflab-{Environment.ProcessId}");
                Directory.CreateDirectory(entry);
                File.WriteAllBytes(Path.Combine(entry, "inblob"), RandomNumberGenerator.GetBytes(64));
                var report = File.ReadAllBytes(Path.Combine(entry, "outblob"));
                info["attestation"] = $"configfs-tsm report, {report.Length} bytes, sha256 {Convert.ToHexStringLower(SHA256.HashData(report))[..16]}…";
                Directory.Delete(entry);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { info["attestation"] = "configfs-tsm present, report failed: " + e.Message; }
        }
        if (File.Exists(Path.Combine(RsiBench, "samples")))
        {
            var hz = double.Parse(File.ReadAllText(Path.Combine(RsiBench, "freq")).Trim(), CultureInfo.InvariantCulture);
            var ticks = File.ReadAllLines(Path.Combine(RsiBench, "samples")).Select(l => double.Parse(l, CultureInfo.InvariantCulture)).Order().ToArray();
            if (ticks.Length > 0)
                info["rsi_version_call_ns"] = $"p50 {ticks[ticks.Length / 2] / hz * 1e9:0} p99 {ticks[(int)(ticks.Length * 0.99)] / hz * 1e9:0} (n {ticks.Length}, rsi_bench)";
        }
        return info;
    }
}
