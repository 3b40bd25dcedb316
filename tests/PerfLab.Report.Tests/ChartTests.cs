using PerfLab.Results;
using SkiaSharp;

namespace PerfLab.Report.Tests;

/// <summary>Every chart type drawn from recorded runs: whole images of the right size, with text really drawn.</summary>
public class ChartTests
{
    [Fact]
    public void Every_chart_type_renders_from_recorded_runs_with_text_and_evidence()
    {
        using var rec = new RecordedRuns();
        var (charts, gaps) = Charts.All(rec.Load(RecordedRuns.All));
        Assert.Empty(gaps);
        string[] kinds = ["overhead", "cdf-", "throughput-latency-", "micro-", "rsi-batching", "rsi-batching-kvm", "lifecycle", "sweep-"];
        foreach (var kind in kinds) Assert.Contains(charts, c => c.Name.StartsWith(kind, StringComparison.Ordinal));

        foreach (var c in charts)
        {
            ReportWriter.CheckPng(c);
            using var bmp = SKBitmap.Decode(c.Png);
            Assert.NotNull(bmp);
            Assert.InRange(bmp.Width, Charts.Width, Charts.Width + 400);
            Assert.InRange(bmp.Height, 300, 4000);
            // Text drawn: the title band holds dark glyph pixels. With no usable font ScottPlot leaves it blank.
            var dark = 0;
            for (var y = 0; y < 34; y++)
                for (var x = 0; x < bmp.Width; x++)
                    if (bmp.GetPixel(x, y) is var p && p.Red + p.Green + p.Blue < 200) dark++;
            Assert.True(dark > 150, $"{c.Name}: only {dark} dark pixels in the title band; is the title drawn?");
            // Non-trivial: data in several colours, not an empty frame.
            var colours = new HashSet<SKColor>();
            for (var y = 40; y < bmp.Height; y += 3)
                for (var x = 0; x < bmp.Width; x += 3) colours.Add(bmp.GetPixel(x, y));
            Assert.True(colours.Count > 8, $"{c.Name}: {colours.Count} colours");
            // The evidence stamp is on every chart, and the SVG carries the same text.
            Assert.NotEmpty(c.Evidence);
            Assert.Contains("evidence: ", c.Svg);
            Assert.All(c.Evidence, e => Assert.Contains(e, c.Svg));
        }
        // Emulated cells are never drawn as measured: the overhead chart of a cca-emulated run says emulated.
        Assert.Contains(charts, c => c.Name.StartsWith("overhead-", StringComparison.Ordinal) && c.Name.Contains("overhead-server") && c.Evidence.Contains("emulated"));
    }

    [Fact]
    public void A_run_without_the_data_for_a_chart_says_why_instead_of_drawing_nothing()
    {
        using var rec = new RecordedRuns();
        var (charts, gaps) = Charts.All(rec.Load(RecordedRuns.Micro));
        Assert.Contains(gaps, g => g.Name == "lifecycle");
        Assert.Contains(gaps, g => g.Name == "throughput-latency" && g.Why.Contains("qps: search"));
        Assert.DoesNotContain(charts, c => c.Name == "overhead");
    }
}

/// <summary>The report of the default suite's recorded run opens with the mission's answer, built from the run's own figures.</summary>
public class AnswerTests
{
    [Fact]
    public void The_mission_run_report_opens_with_the_answer_its_knobs_and_its_chart()
    {
        using var rec = new RecordedRuns();
        var run = rec.Load(RecordedRuns.Mission)[0];
        var a = PerfLab.Results.OverheadAnswer.For(run)!;
        Assert.Equal("single-stream", a.Scenario);
        // The reference is the centre of the one-knob design (2 MiB pages, 2 MiB RSI batches, no neighbour), not the luckiest cell.
        Assert.Equal(("2m", "2m", "none"), (a.Reference.Setting("page_size"), a.Reference.Setting("rsi_batch"), a.Reference.Setting("co_tenant")));
        // One pair per knob, each compared on TTFT and TPOT; every interval holds its estimate.
        Assert.Equal(["MPAM", "RSI batch", "page size"], a.Knobs.Select(k => k.Knob).Distinct().Order().ToArray());
        Assert.Equal(6, a.Knobs.Count);
        // Six comparisons at once: each interval at 1 − 0.05/6 so that all six hold together at the run's 95 %.
        Assert.All(a.Knobs, k => Assert.Equal(1 - 0.05 / 6, k.Confidence, 9));
        Assert.Contains(a.Sentences, t => t.Contains("6 comparisons, each interval at 99.17 % so that all hold together at 95 %"));
        Assert.All(a.Knobs, k => Assert.True(k.LowerPct <= k.Pct && k.Pct <= k.UpperPct, $"{k.Knob} {k.Metric}"));
        Assert.Contains(a.Knobs, k => k is { Knob: "page size", From: "4k", To: "2m" });
        Assert.NotNull(a.Costs);

        var output = PerfLab.Report.ReportWriter.Write([run], Path.Combine(rec.Dir, "report"));
        var md = File.ReadAllText(output.Markdown);
        Assert.True(md.IndexOf("## The answer", StringComparison.Ordinal) < md.IndexOf("## Runs", StringComparison.Ordinal));
        Assert.Contains("charts/answer.png", md);
        Assert.Contains("populating the weights", md);           // the RSI batch's effect is at populate, measured
        // The reference cell's overhead as a waterfall, TTFT and TPOT: native median, terms, modelled and measured Realm.
        Assert.True(File.Exists(Path.Combine(output.ChartsDir, "cost-ttft.png")) && File.Exists(Path.Combine(output.ChartsDir, "cost-tpot.png")));
        Assert.Contains("95 % interval over launches", md);      // the run's own confidence, not a fixed 99 %
        // A run with no Realm cell has no answer to open with.
        Assert.Null(PerfLab.Results.OverheadAnswer.For(rec.Load(RecordedRuns.Quick)[0]));
    }
}

/// <summary>Memory per Realm and the terms counted beside the exits, on the mission's recorded run.</summary>
public class RealmMemoryAndTermsTests
{
    [Fact]
    public void Every_realm_cell_has_its_memory_against_what_it_was_provisioned_and_its_translation_count()
    {
        using var rec = new RecordedRuns();
        var run = rec.Load(RecordedRuns.Mission)[0];
        var memory = PerfLab.Results.RealmMemoryTable.For(run);
        var realmCells = run.Cells.Where(c => c.Platform == "cca-emulated" && c.Status == "ok").Select(c => c.Id).ToHashSet();
        Assert.Equal(realmCells, memory.Select(m => m.CellId).ToHashSet());
        Assert.All(memory, m =>
        {
            Assert.Equal(4L << 30, m.ProvisionedBytes);                     // the suite's 4g
            Assert.True(m.PeakResidentBytes >= m.ResidentBytes && m.ResidentBytes >= m.AnonymousBytes && m.AnonymousBytes > 0, m.CellId);
            Assert.Equal(30_123_280, m.WeightsBytes);                       // the tiny model's weights file
            Assert.InRange(m.Efficiency, 0.001, 1);
        });
        // 4 KiB stage 2 needs a level-3 table per 2 MiB (2048 for 4 GiB); 2 MiB blocks need none.
        var small = memory.First(m => m.CellId.Contains(".p4k.")).MetadataBytes;
        var large = memory.First(m => m.CellId.Contains(".p2m-thp.")).MetadataBytes;
        Assert.Equal(2048 * 4096L, small - large);

        // The pages a decode token touches fall where huge pages backed the memory, never below the 2 MiB floor.
        var costs = PerfLab.Results.RealmCostTable.For(run).ToDictionary(c => c.CellId);
        var p4k = costs.Values.First(c => c.CellId.Contains("single-stream") && c.CellId.Contains(".p4k.")).Counts;
        var p2m = costs.Values.First(c => c.CellId.Contains("single-stream") && c.CellId.Contains(".p2m-thp.rsi2m.mpam-off.v1.auto") && !c.CellId.Contains("co-")).Counts;
        Assert.Equal((p4k.StreamedBytesPerToken + 4095) / 4096, p4k.PagesPerToken);  // none huge: all 4 KiB
        Assert.InRange(p2m.PagesPerToken, (p2m.StreamedBytesPerToken >> 21) + 1, p4k.PagesPerToken - 1);
        Assert.All(costs.Values, c => Assert.Equal(c.Launches, c.Counts.AttestationCalls)); // one token a launch
    }
}
