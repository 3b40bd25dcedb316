using PerfLab.Core.Suites;
using PerfLab.Core.Units;

namespace PerfLab.Core.Tests.Suites;

public class SuiteLoaderTests
{
    private const string Valid = """
        name: t
        seed: 7
        workloads:
          - name: w
            kind: synthetic
            decode_us_per_token: 10
        scenarios:
          - type: single-stream
            min_queries: 10
          - type: server
            qps: 50
            ttft_limit_ms: 5
          - type: offline
        matrix:
          platform: native
          page_size: [4k, 2m]
          huge_backing: [thp, hugetlb]
          mpam: [off, {bandwidth_pct: 50}]
        exclude:
          - {scenario: offline, mpam: mb50}
        baseline:
          page_size: 4k
        gate:
          threshold_pct: 3
        """;

    private static Suite Parse(string yaml) => SuiteLoader.Parse(yaml, "s.yaml");

    [Fact]
    public void Matrix_expands_with_exclusions_and_one_4k_cell_per_backing_pair()
    {
        var s = Parse(Valid);
        // page sizes: 4k (one, backing irrelevant) + 2m×{thp,hugetlb} = 3 configs; × mpam 2 = 6; × 3 scenarios = 18; minus offline×mb50 (3) = 15
        Assert.Equal(15, s.Cells.Count);
        Assert.DoesNotContain(s.Cells, c => c.Scenario.Kind == ScenarioKind.Offline && !c.Realm.Mpam.IsOff);
        Assert.Equal(3.0, s.Gate.ThresholdPct);
        Assert.Equal(7, s.Seed);
        Assert.Equal(Nanoseconds.FromMilliseconds(5), s.Scenarios[1].TtftLimit);
    }

    [Fact]
    public void Every_non_baseline_cell_points_at_the_4k_cell_with_its_other_settings()
    {
        var s = Parse(Valid);
        var ids = s.Cells.ToDictionary(c => c.Id);
        foreach (var c in s.Cells.Where(c => !c.IsBaseline))
        {
            Assert.NotNull(c.BaselineId);
            var b = ids[c.BaselineId!];
            Assert.Equal(PageSize.Kib4, b.Realm.PageSize);
            Assert.Equal(c.Realm.Mpam, b.Realm.Mpam);
            Assert.Equal(c.Scenario, b.Scenario);
        }
        Assert.All(s.Cells.Where(c => c.IsBaseline), c => Assert.Equal(PageSize.Kib4, c.Realm.PageSize));
    }

    [Fact]
    public void Cell_ids_are_unique_and_file_system_safe()
    {
        var s = Parse(Valid);
        Assert.Equal(s.Cells.Count, s.Cells.Select(c => c.Id).Distinct().Count());
        Assert.All(s.Cells, c => Assert.Matches("^[A-Za-z0-9._-]+$", c.Id));
    }

    [Fact]
    public void Workload_parameters_take_defaults_and_given_values()
    {
        var w = Parse(Valid).Workloads[0];
        Assert.Equal(10, w.GetDouble("decode_us_per_token"));
        Assert.Equal(16, w.GetInt("output_tokens"));
        // Fault injection is a test-only mechanism, never a parameter a suite can set.
        Assert.False(w.Parameters.ContainsKey("fault"));
        var e = Assert.Throws<SuiteValidationException>(() => Parse(Valid.Replace("decode_us_per_token: 10", "decode_us_per_token: 10\n    fault: crash")));
        Assert.Contains("fault", e.Message);
    }

    // Each mistake: a replacement applied to the valid suite, the key the error must name, a fragment of the
    // message, and the line it must point at (0: any).
    public static TheoryData<string, string, string, string, int> Mistakes => new()
    {
        { "unknown top-level key", "seed: 7", "seed: 7\nsede: 8", "sede", 3 },
        { "unknown workload parameter", "decode_us_per_token: 10", "decode_us_per_token: 10\n    decode_ms: 3", "workloads[0].decode_ms", 7 },
        { "3 KiB page", "page_size: [4k, 2m]", "page_size: [3k, 2m]", "page_size", 16 },
        { "negative QPS", "qps: 50", "qps: -3", "scenarios[1].qps", 0 },
        { "string where a number goes", "min_queries: 10", "min_queries: many", "scenarios[0].min_queries", 9 },
        { "unknown scenario type", "type: offline", "type: batch", "scenarios[2].type", 0 },
        { "unknown platform", "platform: native", "platform: sgx", "platform", 0 },
        { "unknown workload kind", "kind: synthetic", "kind: llama", "workloads[0].kind", 0 },
        { "missing workloads", "workloads:\n  - name: w\n    kind: synthetic\n    decode_us_per_token: 10\n", "", "workloads", 0 },
        { "gate threshold out of range", "threshold_pct: 3", "threshold_pct: 150", "gate.threshold_pct", 0 },
        { "baseline value not in the matrix", "baseline:\n  page_size: 4k", "baseline:\n  page_size: 1g", "baseline.page_size", 0 },
        { "exclude on an unknown axis", "{scenario: offline, mpam: mb50}", "{scenario: offline, colour: red}", "exclude[0].colour", 0 },
        { "MPAM bandwidth above 100 %", "bandwidth_pct: 50", "bandwidth_pct: 150", "matrix.mpam.bandwidth_pct", 0 },
        { "zero vCPUs", "platform: native", "platform: native\n  vcpus: 0", "vcpus", 0 },
        { "min_duration_s above max_duration_s", "min_queries: 10", "min_queries: 10\n    min_duration_s: 20\n    max_duration_s: 10", "scenarios[0].max_duration_s", 0 },
        { "empty axis list", "page_size: [4k, 2m]", "page_size: []", "page_size", 0 },
        { "exclude removes everything", "- {scenario: offline, mpam: mb50}", "- {platform: native}", "exclude", 0 },
        { "YAML syntax error", "seed: 7", "seed: [7", "(yaml)", 0 },
        { "capacity search without a limit", "qps: 50\n    ttft_limit_ms: 5", "qps: search", "scenarios[1].qps", 0 },
        { "search setting without search", "ttft_limit_ms: 5", "ttft_limit_ms: 5\n    search_max_probes: 8", "scenarios[1].search_max_probes", 0 },
        { "negative warm-up", "seed: 7", "seed: 7\nwarmup_s: -1", "warmup_s", 0 },
        { "warm-up cap below the warm-up", "seed: 7", "seed: 7\nwarmup_s: 5\nwarmup_max_s: 2", "warmup_max_s", 0 },
        { "duplicate workload name", "scenarios:", "  - name: w\n    kind: noop\nscenarios:", "workloads[1].name", 0 },
    };

    [Theory]
    [MemberData(nameof(Mistakes))]
    public void A_mistake_is_reported_with_file_key_and_position(string what, string find, string replace, string key, int line)
    {
        Assert.Contains(find, Valid);
        var bad = Valid.Replace(find, replace);
        var e = Assert.Throws<SuiteValidationException>(() => Parse(bad));
        var err = Assert.Single(e.Errors, x => x.Key == key);
        Assert.Equal("s.yaml", err.File);
        if (line > 0) Assert.Equal(line, err.Line);
        Assert.False(string.IsNullOrWhiteSpace(err.Message), what);
        Assert.Contains("s.yaml:", e.Message);
    }

    [Fact]
    public void Qps_search_makes_a_capacity_search_cell_with_its_settings()
    {
        var s = Parse(Valid.Replace("qps: 50", "qps: search\n    search_start_qps: 20\n    search_tolerance_pct: 4"));
        var server = s.Scenarios[1];
        Assert.Null(server.TargetQps);
        Assert.Equal(new PerfLab.Core.LoadGen.CapacitySearchSpec(20, 4, PerfLab.Core.LoadGen.CapacitySearchSpec.Default.MaxProbes), server.Search);
        Assert.Null(s.Scenarios[0].Search);
    }

    [Fact]
    public void A_full_profile_refuses_runs_shorter_than_MLPerf_minimum()
    {
        var bad = Valid.Replace("seed: 7", "seed: 7\nprofile: full").Replace("min_queries: 10", "min_queries: 10\n    min_duration_s: 60");
        var e = Assert.Throws<SuiteValidationException>(() => Parse(bad));
        Assert.Contains("600 s", Assert.Single(e.Errors).Message);
    }

    [Fact]
    public void Errors_name_the_bad_value_and_the_valid_ones()
    {
        var e = Assert.Throws<SuiteValidationException>(() => Parse(Valid.Replace("page_size: [4k, 2m]", "page_size: [3k, 2m]")));
        var err = e.Errors.Single();
        Assert.Equal("3k", err.Value);
        Assert.Contains("4k, 64k, 2m, 1g", err.Message);

        e = Assert.Throws<SuiteValidationException>(() => Parse(Valid.Replace("seed: 7", "seed: 7\nsede: 8")));
        Assert.Contains("valid keys here: name, description, seed", e.Errors.Single().Message);
    }

    [Fact]
    public void Several_mistakes_are_all_reported_at_once()
    {
        var bad = Valid.Replace("qps: 50", "qps: -3").Replace("platform: native", "platform: sgx").Replace("seed: 7", "seed: x");
        var e = Assert.Throws<SuiteValidationException>(() => Parse(bad));
        Assert.True(e.Errors.Count >= 3, string.Join("\n", e.Errors));
    }

    [Fact]
    public void The_shipped_suites_are_valid()
    {
        var dir = Path.Combine(RepoRoot(), "bench", "suites");
        var files = Directory.GetFiles(dir, "*.yaml");
        Assert.NotEmpty(files);
        foreach (var f in files) Assert.NotEmpty(SuiteLoader.Load(f).Cells);
    }

    public static string RepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d != null && !File.Exists(Path.Combine(d.FullName, "PerfLab.sln"))) d = d.Parent;
        return d?.FullName ?? throw new DirectoryNotFoundException("PerfLab.sln not found above " + AppContext.BaseDirectory);
    }
}

public class UnitsTests
{
    [Theory]
    [InlineData("4k", 4096)]
    [InlineData("64KiB", 65536)]
    [InlineData("2m", 2 * 1024 * 1024)]
    [InlineData("1G", 1024L * 1024 * 1024)]
    [InlineData("512", 512)]
    public void Bytes_parse_binary_suffixes(string text, long expected)
    {
        Assert.True(Bytes.TryParse(text, out var b));
        Assert.Equal(expected, b.Value);
    }

    [Theory]
    [InlineData("3k")]
    [InlineData("8k")]
    [InlineData("-4k")]
    [InlineData("huge")]
    public void Only_the_four_page_sizes_parse(string text) => Assert.False(PageSizes.TryParse(text, out _));

    [Fact]
    public void Nanoseconds_format_by_magnitude()
    {
        Assert.Equal("24.5 µs", Nanoseconds.FromMicroseconds(24.5).ToString());
        Assert.Equal("3 ms", Nanoseconds.FromMilliseconds(3).ToString());
        Assert.Equal("170 ns", new Nanoseconds(170).ToString());
    }
}
