using PerfLab.Results;
using PerfLab.Core.Results;
using PerfLab.Core.Units;
using ScottPlot;

namespace PerfLab.Report;

/// <summary>The RSI-batching curves and the Realm lifecycle waterfall.</summary>
public static partial class Charts
{
    // ---- 5. the RSI-batching curve: a cost against the bytes that cross into the Realm per host call ----
    public static IEnumerable<ChartImage> RsiBatching(IReadOnlyList<RunData> runs, bool multi)
    {
        // (a) Emulated and real Realm cells that differ only in rsi_batch: the time to stream the weights in.
        var groups = runs.SelectMany(r => r.Cells.Where(c => c.Status == "ok" && c.PhasesMs.Has(Phase.Populate)).Select(c => (Run: r, Cell: c)))
            .GroupBy(x => (x.Run.RunId, x.Cell.Workload, x.Cell.Scenario, x.Cell.Platform, Page: x.Cell.Setting("page_size"), Mpam: x.Cell.Setting("mpam"), Co: x.Cell.Setting("co_tenant")))
            .Where(g => g.Select(x => x.Cell.Setting("rsi_batch")).Distinct().Count() >= 2)
            .ToList();
        if (groups.Count > 0)
        {
            var plt = NewPlot("RSI batching: streaming the model into the Realm", "bytes per host call (RSI batch)", "populate phase (ms)");
            var series = groups.Select(g => (
                Label: $"{(multi ? g.Key.RunId + " · " : "")}{g.Key.Workload} {g.Key.Platform} {g.Key.Page}" +
                       (g.Key.Mpam is not ("off" or "?") ? $" mpam {g.Key.Mpam}" : "") + (g.Key.Co is not ("none" or "?") ? $" +{g.Key.Co}" : "") +
                       (g.Select(x => x.Cell.Scenario).Distinct().Count() == 1 ? $" {g.First().Cell.Scenario}" : "") + $" [{g.First().Cell.EvidenceLabel}]",
                Points: g.Select(x => (Bytes: Bytes.TryParse(x.Cell.Setting("rsi_batch"), out var b) ? (double)b.Value : double.NaN, Value: x.Cell.PhasesMs[Phase.Populate])).ToList())).ToList();
            Curve(plt, series);
            yield return Render(plt, "rsi-batching", "RSI batching curve (weight streaming)",
                "Time to stream the model's weights into the Realm through the bounce buffer against the batch size (one host round trip per batch); " +
                "median over the cells of each batch size.", groups.SelectMany(g => g.Select(x => x.Cell.Evidence)).ToList());
        }
        // (b) The native sweep (kvm.batch.<size>): bytes moved across a real KVM world switch per exit, as a bandwidth.
        var sweep = runs.SelectMany(r => r.Cells.Where(c => c.WorkloadParameters.TryGetValue("case", out var k) && k.StartsWith("kvm.batch.", StringComparison.Ordinal)
                && r.Samples.TryGetValue(c.Id, out var m) && m.ContainsKey("bandwidth")).Select(c => (Run: r, Cell: c))).ToList();
        if (sweep.Count >= 2)
        {
            var plt = NewPlot("RSI batching: bytes per world switch (KVM)", "bytes per exit (batch)", "bandwidth across the boundary (GB/s)");
            var series = sweep.GroupBy(x => x.Run.RunId).Select(g => (
                Label: $"{(multi ? g.Key + " · " : "")}kvm.batch [{g.First().Cell.EvidenceLabel}]",
                Points: g.Select(x => (Bytes: Bytes.TryParse(x.Cell.WorkloadParameters["case"]["kvm.batch.".Length..], out var b) ? (double)b.Value : double.NaN,
                    Value: Quantile(x.Run.Samples[x.Cell.Id]["bandwidth"].OrderBy(v => v).ToArray(), 0.5) / 1e9)).ToList())).ToList();
            Curve(plt, series);
            yield return Render(plt, "rsi-batching-kvm", "RSI batching curve (world switches)",
                "Median bandwidth of data handed across a real KVM exit, against the bytes per exit: where batching stops paying.",
                sweep.Select(x => x.Cell.Evidence).ToList());
        }
    }

    /// <summary>Lines over a log2 byte axis, the median of each x.</summary>
    private static void Curve(Plot plt, IEnumerable<(string Label, List<(double Bytes, double Value)> Points)> series)
    {
        var i = 0;
        var allX = new SortedSet<double>();
        foreach (var (label, raw) in series)
        {
            var pts = raw.Where(p => !double.IsNaN(p.Bytes)).GroupBy(p => p.Bytes)
                .Select(p => (X: Math.Log2(p.Key), Y: Quantile(p.Select(q => q.Value).OrderBy(q => q).ToArray(), 0.5))).OrderBy(p => p.X).ToList();
            foreach (var p in pts) allX.Add(p.X);
            var s = plt.Add.Scatter(pts.Select(p => p.X).ToArray(), pts.Select(p => p.Y).ToArray(), Palette[i++ % Palette.Length]);
            s.LineWidth = 2;
            s.MarkerSize = 8;
            s.LegendText = label;
        }
        plt.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(allX.Select(x => new Tick(x, new Bytes((long)Math.Round(Math.Pow(2, x))).ToShort())).ToArray());
        plt.ShowLegend(Alignment.UpperCenter);
    }

    // ---- 6. lifecycle waterfall: from Realm creation to the first token ----
    public static IEnumerable<ChartImage> Lifecycle(IReadOnlyList<RunData> runs, bool multi)
    {
        // One cell per Realm configuration: the lifecycle does not depend on the scenario that follows it.
        var realms = runs.SelectMany(r => r.Cells.Where(c => c.PhasesMs.Has(Phase.Launch)).Select(c => (Run: r, Cell: c)))
            .GroupBy(x => (x.Run.RunId, x.Cell.RealmId, x.Cell.Workload)).Select(g => g.First()).Take(10).ToList();
        if (realms.Count == 0) yield break;
        var plt = NewPlot("Realm lifecycle: creation to first token", "time from launch (ms)", "");
        var ticks = new List<Tick>();
        var colors = new Dictionary<string, Color>
        {
            ["launch"] = Palette[0], ["populate"] = Palette[3], ["attest"] = Palette[1], ["verify"] = Palette[4], ["key release"] = Palette[5],
            ["decrypt"] = Palette[6], ["load"] = Palette[2], ["first token"] = Palette[7],
        };
        var legendDone = new HashSet<string>();
        double y = 0;
        foreach (var (run, c) in realms.AsEnumerable().Reverse())
        {
            var p = c.PhasesMs;
            double launch = p.Get(Phase.Launch) ?? 0, load = p.Get(Phase.Load) ?? 0;
            var ready = p.Get(Phase.Ready) ?? launch + load;
            var segments = new List<(string Name, double Start, double End)> { ("launch", 0, launch) };
            // Within the load, in the order they happen: plain weights are populated (and measured) before the Realm
            // attests; encrypted ones after its key release, their decryption inside the populate.
            var at = launch;
            void Then(string name, double? ms)
            {
                if (ms is not { } d) return;
                segments.Add((name, at, at + d));
                at += d;
            }
            var sealedWeights = p.Has(Phase.KeyRelease);
            if (!sealedWeights) Then("populate", p.Get(Phase.Populate));
            Then("attest", p.Get(Phase.Attest));
            Then("verify", p.Get(Phase.Verify));
            Then("key release", p.Get(Phase.KeyRelease));
            if (sealedWeights)
            {
                var populateStart = at;
                Then("populate", p.Get(Phase.Populate));
                if (p.Get(Phase.Decrypt) is { } dec) segments.Add(("decrypt", populateStart, populateStart + dec));
            }
            segments.Add(("load", launch, ready));
            if (p.Get(Phase.FirstToken) is { } ft) segments.Add(("first token", ready, ready + ft));
            var lane = 0;
            foreach (var (name, start, end) in segments)
            {
                var pos = y + lane * 0.22;
                plt.Add.Bar(new Bar
                {
                    Position = pos, ValueBase = start, Value = Math.Max(end, start + 0.01), FillColor = colors[name], Size = 0.2, LineWidth = 0,
                    Orientation = Orientation.Horizontal,
                });
                if (legendDone.Add(name))
                {
                    var dummy = plt.Add.Scatter(new double[] { double.NaN }, new double[] { double.NaN }, colors[name]);
                    dummy.LegendText = name;
                    dummy.MarkerSize = 10;
                    dummy.MarkerShape = MarkerShape.FilledSquare;
                }
                lane++;
            }
            var total = p.Get(Phase.FirstToken) is { } f ? ready + f : ready;
            var t = plt.Add.Text($"{total:0.#} ms", total, y + (lane - 1) * 0.22);
            t.LabelFontName = FontName;
            t.LabelFontSize = 11;
            t.LabelAlignment = Alignment.MiddleLeft;
            ticks.Add(new Tick(y + (lane - 1) * 0.11, $"{(multi ? run.RunId + " · " : "")}{c.Platform} {c.Setting("page_size")} rsi {c.Setting("rsi_batch")} [{c.EvidenceLabel}]"));
            y += lane * 0.22 + 0.5;
        }
        plt.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
        plt.Axes.Left.MajorTickStyle.Length = 0;
        plt.Axes.Margins(left: 0, right: 0.15);
        plt.ShowLegend(Alignment.LowerRight);
        yield return Render(plt, "lifecycle", "Realm lifecycle waterfall",
            "Per Realm configuration: launch (process or guest created, agent up), then the load, and within it, in order: plain weights " +
            "populated in RSI batches and measured into the RIM, attestation (the broker's nonce and the Realm's token), the broker's " +
            "verification, the model key's release; encrypted weights are populated after it, decrypted inside the Realm as they come. " +
            "Then the first token of the first query. Teardown is in the tables.",
            realms.Select(x => x.Cell.Evidence).ToList(), Width + 240, Math.Max(360, 140 + realms.Count * 90));
    }
}
