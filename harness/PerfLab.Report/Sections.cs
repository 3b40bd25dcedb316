using System.Globalization;
using System.Text.Json.Nodes;
using PerfLab.Core.Analysis;
using PerfLab.Results;

namespace PerfLab.Report;

/// <summary>How a table cell is shown: plain text, a right-aligned number, or an evidence word in its colour.</summary>
public enum CellStyle { Text, Number, Evidence }

public readonly record struct TableCell(string Text, CellStyle Style = CellStyle.Text)
{
    public static implicit operator TableCell(string text) => new(text);
    public static TableCell Num(string text) => new(text, CellStyle.Number);
    public static TableCell Ev(string text) => new(text, CellStyle.Evidence);
}

/// <summary>One block of a report. HTML and Markdown are two renderings of the same list, so they cannot disagree.</summary>
public abstract record Section;
public sealed record Heading(string Text, int Level = 2) : Section;
public sealed record Paragraph(string Text) : Section;
/// <summary>A warning that belongs at the top (an interrupted or incomplete run).</summary>
public sealed record Banner(string Id, string Bold, string Text) : Section;
/// <summary>A table; rows marked in <paramref name="Highlighted"/> differ between runs (shown highlighted in HTML).</summary>
public sealed record Table(string Id, IReadOnlyList<string> Headers, IReadOnlyList<IReadOnlyList<TableCell>> Rows, IReadOnlySet<int>? Highlighted = null) : Section;
public sealed record Items(string Id, IReadOnlyList<string> Lines, bool Problems = false) : Section;
public sealed record Preformatted(string Text) : Section;
public sealed record Figures(IReadOnlyList<ChartImage> Charts) : Section;

/// <summary>What a report says, in order: the runs, what could not be read, the hosts, the cells, the overheads,
/// capacity, runs side by side, TCO, charts and gates. Both renderers take this list as it is.</summary>
public static class ReportModel
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Num(double v, int decimals) => double.IsFinite(v) ? v.ToString("F" + decimals, Inv) : "–";

    private static readonly string[] HostKeys =
        ["hostname", "cpu_model", "logical_cores", "memory_bytes", "kernel", "os", "architecture", "thp_enabled", "huge_pages2_m_total", "hypervisor_vendor",
         "virtualization_extensions", "kvm_device", "kvm_modules", "resctrl", "dotnet_version", "cpu_flags_of_note", "scaling_governor", "git_commit", "git_dirty", "virtualization_kind"];

    public static string Title(IReadOnlyList<RunData> runs) => runs.Count == 1 ? $"PerfLab report: {runs[0].RunId}" : $"PerfLab comparison: {runs.Count} runs";

    public static IReadOnlyList<Section> Build(IReadOnlyList<RunData> runs, IReadOnlyList<ChartImage> charts, IReadOnlyList<ChartGap> gaps, JsonNode? tco)
    {
        var s = new List<Section>();
        foreach (var r in runs.Where(r => r.StateWord != "complete"))
            s.Add(new Banner("state-" + r.RunId, $"{r.RunId} is {r.StateWord}.", "What finished before it stopped is reported below" +
                (r.NotRun.Count > 0 ? $"; {r.NotRun.Count} planned cell(s) never ran: {string.Join(", ", r.NotRun)}" : "") + "."));
        if (runs.Count == 1 && OverheadAnswer.For(runs[0]) is { } answer)
        {
            s.Add(new Heading("The answer"));
            s.Add(new Paragraph(string.Join(" ", answer.Sentences)));
            s.Add(new Figures(charts.Where(c => c.Name == Charts.AnswerChart).ToList()));
        }
        s.Add(new Heading("Runs"));
        s.Add(new Table("runs", ["run", "suite", "state", "host", "started (UTC)", "ended (UTC)", "cells ok / failed / skipped"],
            runs.Select(r => (IReadOnlyList<TableCell>)[r.RunId, r.Suite, r.StateWord, r.HostLabel, r.StartedUtc ?? "", r.EndedUtc ?? "",
                $"{r.Cells.Count(c => c.Status == "ok")} / {r.Cells.Count(c => c.Status == "failed")} / {r.Cells.Count(c => c.Status == "skipped")}"]).ToList()));
        var problems = runs.SelectMany(r => r.Problems).ToList();
        if (problems.Count > 0)
        {
            s.Add(new Heading("Problems reading the runs"));
            s.Add(new Items("problems", problems.Select(p => $"`{p.File}`: {p.What}").ToList(), Problems: true));
        }
        s.AddRange(Hosts(runs));
        s.AddRange(Shards(runs));
        s.Add(new Heading("Cells"));
        s.Add(new Paragraph("Times in ms. With more than one launch a cell's median and p99 are the geometric mean of its launches' own " +
                            "Harrell–Davis estimates, and their intervals (in summary.csv) are over launches; result is VALID only when every launch was."));
        s.Add(new Table("summary", ["run", "cell", "evidence", "status", "result", "launches", "QPS", "tokens/s", "latency median", "latency p99", "TTFT p99", "TPOT median", "reason"],
            CellRows(runs).ToList()));
        s.AddRange(Spread(runs));
        s.AddRange(Overheads(runs));
        s.AddRange(RealmCosts(runs));
        s.AddRange(RealmMemory(runs));
        s.AddRange(RealmStart(runs));
        s.AddRange(Capacity(runs));
        s.AddRange(Sweeps(runs));
        if (runs.Count > 1) s.AddRange(SideBySide(runs));
        if (tco is not null) s.AddRange(Tco(tco));
        s.Add(new Heading("Charts"));
        s.Add(new Figures(charts.Where(c => c.Name != Charts.AnswerChart).ToList()));
        if (gaps.Count > 0) s.Add(new Items("gaps", gaps.Select(g => $"not drawn: {g.Name}: {g.Why}").ToList()));
        foreach (var r in runs.Where(r => r.GateMarkdown != null))
        {
            s.Add(new Heading($"Gate: {r.RunId}"));
            s.Add(new Preformatted(r.GateMarkdown!));
        }
        return s;
    }

    /// <summary>
    /// Every Realm cell's overhead term by term (RealmCostTable): counts measured in the Realm, priced by the profile the
    /// cell ran with, the modelled total beside the measured overhead, and the gap the model leaves.
    /// </summary>
    private static IEnumerable<Section> RealmCosts(IReadOnlyList<RunData> runs)
    {
        var all = runs.SelectMany(r => RealmCostTable.For(r).Select(c => (Run: r, Costs: c))).ToList();
        if (all.Count == 0) yield break;
        yield return new Heading("Realm cost, term by term");
        yield return new Paragraph("Counts are measured inside the Realm (the agent counts every exit by cause, timer tick, stage-2 fault and RSI " +
                                   "call); prices come from the calibration profile named; a modelled figure is derived from both. The overhead is the " +
                                   "cell's against its baseline cell, with its interval over launches and the cell's own evidence (emulated on " +
                                   "cca-emulated: measured while the profile's costs were paid); the gap is what the model does not capture (real " +
                                   "mechanics such as page policy and bounce copies, and noise). Re-price with `perflab project RUN --profile P`.");
        foreach (var (run, c) in all)
        {
            var rows = RealmCostTable.Rows(c).Select(LabelNumbersEvidence).ToList();
            yield return new Paragraph(RealmCostTable.Caption(c) + (runs.Count > 1 ? $" ({run.RunId})" : ""));
            yield return new Table("realm-cost-" + c.CellId, RealmCostTable.Headers, rows);
        }
    }

    /// <summary>Memory per Realm cell: provisioned against what the agent used (its smaps), with the RMM's metadata.</summary>
    private static IEnumerable<Section> RealmMemory(IReadOnlyList<RunData> runs)
    {
        var all = runs.SelectMany(r => RealmMemoryTable.For(r)).ToList();
        if (all.Count == 0) yield break;
        yield return new Heading("Memory per Realm");
        yield return new Paragraph("What each Realm cell was provisioned with against what its agent used, medians over its launches: the peak " +
                                   "resident size (VmHWM) and the resident and anonymous sizes at the end of the launch from the agent's own smaps " +
                                   "(measured), the weights' file size, and the RMM's structures for a Realm of that size (derived: RD, RECs with 16 " +
                                   "auxiliary granules each, stage-2 tables; no level-3 tables where 2 MiB pages were obtained). A Realm's memory " +
                                   "is delegated to it for its life, so provisioned + metadata is what it holds; efficiency is the share the workload used.");
        yield return new Table("realm-memory", RealmMemoryTable.Headers, RealmMemoryTable.Rows(all).Select(LabelNumbersEvidence).ToList());
    }

    /// <summary>Creation to first token per cell: every lifecycle phase, the cold start and a warm pool's start.</summary>
    private static IEnumerable<Section> RealmStart(IReadOnlyList<RunData> runs)
    {
        var all = runs.SelectMany(r => RealmStartTable.For(r).Select(c => (Run: r, Start: c))).ToList();
        if (all.Count == 0) yield break;
        yield return new Heading("Realm start: creation to first token");
        yield return new Paragraph("Medians over each cell's launches, in ms. Launch: the process or guest up; measure: the RIM extended as the RMM " +
                                   "would (host); populate: the payload streamed in RSI batches (for encrypted weights after the key release, with " +
                                   "their decryption inside); attest: the broker's nonce and the Realm's token; verify: the broker's appraisal as the " +
                                   "Realm waited for it; key release: the wrapped model key's round trip; load inside: from the load request to " +
                                   "serving, timed by the agent (it contains attest, verify, key release and populate). Cold start = ready + first " +
                                   "token, on the host's clock, with the range of the launches' own cold starts. Warm start (derived) = load inside − attest − verify − key release + first token: a " +
                                   "pooled Realm, booted and attested before it is claimed, still fetches its key (from cached evidence) and loads " +
                                   "its model. `perflab tco --cold-boot-from RUN` sizes a warm pool from these figures.");
        var rows = all.Select(x =>
        {
            var r = RealmStartTable.Rows([x.Start], id => x.Run.Cells.First(c => c.Id == id).EvidenceLabel)[0];
            if (runs.Count > 1) r[0] = $"{x.Run.RunId} · {r[0]}";
            return LabelNumbersEvidence(r);
        }).ToList();
        yield return new Table("realm-start", RealmStartTable.Headers, rows);
    }

    /// <summary>A row as the Results tables format it (perflab project prints the same): its label, numbers, then the
    /// evidence word in its colour.</summary>
    private static IReadOnlyList<TableCell> LabelNumbersEvidence(string[] r) => [r[0], .. r[1..^1].Select(TableCell.Num), TableCell.Ev(r[^1])];

    private static IEnumerable<Section> Hosts(IReadOnlyList<RunData> runs)
    {
        var keys = HostKeys.Where(k => runs.Any(r => r.Host.ContainsKey(k))).ToList();
        var rows = keys.Select(k => (IReadOnlyList<TableCell>)[k, .. runs.Select(r => (TableCell)r.Host.GetValueOrDefault(k, "–"))]).ToList();
        var differ = keys.Select((k, i) => (k, i)).Where(x => runs.Select(r => r.Host.GetValueOrDefault(x.k, "–")).Distinct().Count() > 1).Select(x => x.i).ToHashSet();
        yield return new Heading("Host environments");
        yield return new Table("hosts", ["property", .. runs.Select(r => r.RunId)], rows, differ);
    }

    /// <summary>
    /// A merged run's shards side by side: the host each ran on (overheads are computed within a shard, never across two
    /// hosts), the scheduler's job and node, and any shard missing with the command that runs it again.
    /// </summary>
    private static IEnumerable<Section> Shards(IReadOnlyList<RunData> runs)
    {
        var merged = runs.Where(r => r.Manifest is { MergedFrom.Count: > 0 }).ToList();
        if (merged.Count == 0) yield break;
        yield return new Heading("Shards: which host measured which cells");
        yield return new Paragraph("A merged run's cells were measured on the hosts below, a shard each. A baseline was always in the shard of the " +
                                   "cells compared with it, so every overhead is between launches interleaved on one host; figures of different " +
                                   "shards compare hosts as well as settings when their host classes differ.");
        var rows = merged.SelectMany(r => r.Manifest!.MergedFrom.Select(sh => (IReadOnlyList<TableCell>)[
            r.RunId, $"{sh.Index}/{sh.Count}", sh.Host?.HostClass ?? "–", sh.Scheduler, sh.Job ?? "–", sh.Node,
            sh.State?.ToString().ToLowerInvariant() ?? "missing", TableCell.Num(sh.Cells.Count.ToString(Inv)), sh.Missing ?? ""])).ToList();
        yield return new Table("shards", ["run", "shard", "host class", "scheduler", "job", "node", "state", "cells", "missing"], rows);
        foreach (var r in merged.Where(r => r.Manifest!.CrossHostBaselines.Count > 0))
            yield return new Paragraph($"{r.RunId}: {r.Manifest!.CrossHostBaselines.Count} cell(s) have a baseline another host measured: " +
                                       string.Join("; ", r.Manifest.CrossHostBaselines));
    }

    /// <summary>One row per cell: its headline figures in ms.</summary>
    public static IEnumerable<IReadOnlyList<TableCell>> CellRows(IReadOnlyList<RunData> runs) =>
        runs.SelectMany(r => r.Cells.Select(c =>
        {
            var m = c.Result?.Metrics;
            TableCell Q(MetricInfo metric, Func<PerfLab.Core.Statistics.DistributionSummary, double> pick) =>
                TableCell.Num(m != null && m.TryGetValue(metric.Name, out var d) ? Num(pick(d) / 1e6, 3) : "–");
            return (IReadOnlyList<TableCell>)[r.RunId, c.Id, TableCell.Ev(c.EvidenceLabel), c.Status, c.Result?.Validity ?? "–",
                TableCell.Num((c.Summary.Launches?.Count ?? 1).ToString(Inv)),
                TableCell.Num(c.Result is { } res ? Num(res.QueriesPerS, 2) : "–"), TableCell.Num(c.Result is { } t ? Num(t.TokensPerS, 1) : "–"),
                Q(Metrics.Latency, d => d.Median.Value), Q(Metrics.Latency, d => d.P99.Value), Q(Metrics.Ttft, d => d.P99.Value), Q(Metrics.Tpot, d => d.Median.Value),
                string.Join("; ", new[] { c.Disturbed, c.Reason ?? string.Join("; ", c.Result?.Reasons ?? []) }.Where(x => !string.IsNullOrEmpty(x)))];
        }));

    /// <summary>How much each headline metric moves within a launch and between launches: where the noise lives.</summary>
    private static IEnumerable<Section> Spread(IReadOnlyList<RunData> runs)
    {
        string[] metrics = [Metrics.Latency.Name, Metrics.Ttft.Name, Metrics.Tpot.Name, Metrics.Throughput.Name];
        var rows = runs.SelectMany(r => r.Cells.Where(c => c.Summary.Spread != null && (c.Summary.Launches?.Count ?? 1) > 1)
            .SelectMany(c => metrics.Where(m => c.Summary.Spread!.ContainsKey(m)).Select(m =>
            {
                var sp = c.Summary.Spread![m];
                return (IReadOnlyList<TableCell>)[r.RunId, c.Id, m, TableCell.Num(sp.Launches.ToString(Inv)), TableCell.Num(Num(sp.WithinPct, 2)),
                    TableCell.Num(Num(sp.BetweenPct, 2))];
            }))).ToList();
        if (rows.Count == 0) yield break;
        yield return new Heading("Spread within and between launches");
        yield return new Paragraph("Within: the robust spread of one launch's queries (normalised MAD of the logs, % — the median over launches). " +
                                   "Between: the standard deviation of the launches' log medians (%). The gate and the overheads judge the " +
                                   "between-launch spread: a change must stand out of it, however many queries a launch has.");
        yield return new Table("spread", ["run", "cell", "metric", "launches", "within launch %", "between launches %"], rows);
    }

    private static IEnumerable<Section> Overheads(IReadOnlyList<RunData> runs)
    {
        var rows = runs.SelectMany(r => r.Cells.SelectMany(c => c.Overheads.Where(o => o.Metric != Metrics.Inside.Name)
            .Select(o => (IReadOnlyList<TableCell>)[r.RunId, c.Id, o.Metric, o.BaselineCell, TableCell.Num(Num(o.Pct, 2)),
                TableCell.Num($"[{Num(o.PctLower, 2)}, {Num(o.PctUpper, 2)}]"), o.Basis == "launches" ? "launches" : "queries of one launch",
                TableCell.Ev(c.EvidenceLabel)]))).ToList();
        yield return new Heading("Overhead against the baseline");
        if (rows.Count == 0)
        {
            yield return new Paragraph("No cell of these runs has a baseline cell to compare with.");
            yield break;
        }
        var confidence = string.Join(" / ", runs.Select(r => r.GateConfidence is { } c ? $"{c * 100:0.##} %" : "unknown (no manifest)").Distinct());
        yield return new Paragraph("Change of the typical value against the baseline cell, positive when the metric grew (slower for times, more " +
                                   $"for throughput); intervals at {confidence} confidence. Over launches: the ratio of the launches' geometric-mean " +
                                   "medians with a t interval over launches. Queries of one launch: the Hodges–Lehmann ratio, whose interval " +
                                   "leaves out how launches vary and is too narrow for a verdict.");
        yield return new Table("overhead", ["run", "cell", "metric", "baseline cell", "change %", "CI %", "interval over", "evidence"], rows);
    }

    private static IEnumerable<Section> Sweeps(IReadOnlyList<RunData> runs)
    {
        var rows = Charts.Sweeps(runs).SelectMany(s => s.Points.Select(p => (IReadOnlyList<TableCell>)[s.Run.RunId, s.Sweep, s.Workload, s.RealmId,
            TableCell.Num(Num(p.TargetQps, 2)), TableCell.Num(Num(p.QueriesPerSecond, 2)), TableCell.Num(Num(p.TokensPerSecond, 1)),
            TableCell.Num(p.PerUserTokensPerSecond is { } u ? Num(u, 1) : "–"), TableCell.Num(p.P99TtftNs is { } t ? Charts.Ms(t) : "–"),
            TableCell.Num(p.GoodputPerSecond is { } g ? Num(g, 2) : "–"), TableCell.Num(p.Failed.ToString(Inv)), p.Valid ? "VALID" : "INVALID",
            TableCell.Ev(p.Evidence)])).ToList();
        if (rows.Count == 0) yield break;
        yield return new Heading("Rate sweeps");
        yield return new Paragraph("Each rate of a sweep is a cell of its own (Poisson arrivals, its own launches). Per-user tokens/s is 1 / the " +
                                   "median TPOT; goodput counts the queries served within every limit of the scenario, per second; failed " +
                                   "queries (an HTTP error, a cut stream, a timeout) are counted, never dropped.");
        yield return new Table("sweeps", ["run", "sweep", "workload", "realm", "rate (QPS)", "served (QPS)", "tokens/s", "per-user tokens/s",
            "p99 TTFT", "goodput (QPS)", "failed", "validity", "evidence"], rows);
    }

    private static IEnumerable<Section> Capacity(IReadOnlyList<RunData> runs)
    {
        var rows = runs.SelectMany(r => r.Cells.Where(c => c.Capacity != null).Select(c =>
        {
            var mine = c.Capacity!.CapacityQps;
            var theirs = c.BaselineCell is { } b ? r.Cells.FirstOrDefault(x => x.Id == b)?.Capacity?.CapacityQps : null;
            var vs = mine is { } m && theirs is { } t && t > 0 ? $"{(m / t - 1) * 100:+0.0;-0.0;0.0} %" : c.IsBaseline ? "baseline" : "–";
            var spread = c.Summary.CapacitySpread;
            var perLaunch = spread is null ? "–" : string.Join(", ", spread.PerLaunchQps.Select(q => q is { } v ? Num(v, 1) : "none"));
            var interval = spread is { Lower: { } lo, Upper: { } up } ? $"[{Num(lo, 1)}, {Num(up, 1)}]" : "–";
            return (IReadOnlyList<TableCell>)[r.RunId, c.Id, TableCell.Num(mine is { } q ? Num(q, 2) : "none"), TableCell.Num(vs),
                TableCell.Num(perLaunch), TableCell.Num(interval),
                TableCell.Num(c.Capacity.LowestInvalidQps is { } hi ? Num(hi, 2) : "–"), TableCell.Num(c.Capacity.Probes.Count.ToString(Inv)),
                c.Capacity.Converged ? "yes" : "no", c.Capacity.Note, TableCell.Ev(c.EvidenceLabel)];
        })).ToList();
        if (rows.Count == 0) yield break;
        yield return new Heading("Capacity");
        yield return new Paragraph("The highest Poisson QPS that stayed VALID under the scenario's limits: the number a capacity planner multiplies. " +
                                   "Each launch searches on its own; the capacity shown is the median launch's (its search in the last columns), and " +
                                   "the interval is the t interval over launches widened to every launch's own VALID–INVALID bracket.");
        yield return new Table("capacity", ["run", "cell", "capacity (QPS)", "capacity change vs baseline (+ is more)", "per launch (QPS)", "interval (QPS)",
            "lowest INVALID (QPS)", "probes", "converged", "search", "evidence"], rows);
    }

    private static IEnumerable<Section> SideBySide(IReadOnlyList<RunData> runs)
    {
        yield return new Heading("Side by side");
        yield return new Paragraph("Cells present in more than one run; medians in ms, and the ratio of each run to the first.");
        var rows = Comparison(runs).Select(x => (IReadOnlyList<TableCell>)[x.Cell, x.Metric, .. x.Medians.Select((v, i) =>
            TableCell.Num((v is { } y ? Num(y / 1e6, 3) : "–") + (i > 0 && x.Medians[0] is { } b && v is { } z && b != 0 ? $" (×{z / b:0.###})" : "")))]).ToList();
        yield return new Table("comparison", ["cell", "metric", .. runs.Select(r => $"{r.RunId} ({r.HostLabel})")], rows);
    }

    public static IEnumerable<(string Cell, string Metric, IReadOnlyList<double?> Medians)> Comparison(IReadOnlyList<RunData> runs)
    {
        var ids = runs.SelectMany(r => r.Cells.Select(c => c.Id)).GroupBy(id => id).Where(g => g.Count() > 1).Select(g => g.Key).Distinct();
        foreach (var id in ids)
            foreach (var metric in new[] { Metrics.Latency, Metrics.Ttft, Metrics.Tpot, Metrics.OpCost })
            {
                var values = runs.Select(r => r.Cells.FirstOrDefault(c => c.Id == id)?.Result?.Metrics is { } m && m.TryGetValue(metric.Name, out var d) ? (double?)d.Median.Value : null).ToList();
                if (values.Count(v => v.HasValue) > 1) yield return (id, metric.Name, values);
            }
    }

    /// <summary>
    /// A number of perflab tco's JSON: a JSON number, or the named literal it writes for an unbounded cost ("Infinity":
    /// no Realm fits the host, so a million tokens cost without bound); NaN for anything else.
    /// </summary>
    private static double Dbl(JsonNode? n) => n switch
    {
        JsonValue v when v.TryGetValue<double>(out var d) => d,
        JsonValue v when v.TryGetValue<string>(out var text) && double.TryParse(text, NumberStyles.Float, Inv, out var d) => d,
        _ => double.NaN,
    };

    private static string Cost(double v) => double.IsPositiveInfinity(v) ? "unbounded (no Realm fits the host)" : Num(v, 3);

    private static IEnumerable<Section> Tco(JsonNode tco)
    {
        yield return new Heading("TCO");
        if (tco["result"] is { } t)
            yield return new Paragraph($"Memory per Realm {Num(Dbl(t["memory_per_realm_gb"]), 1)} GB; Realms per host {t["realms_per_host"]}; " +
                $"cost per million tokens {Cost(Dbl(t["cost_per_million_tokens_native"]))} native, " +
                $"{Cost(Dbl(t["cost_per_million_tokens_confidential"]))} confidential.");
        yield return new Table("tco", ["memory term", "GB", "basis"], (tco["result"]?["terms"]?.AsArray() ?? []).Select(x => (IReadOnlyList<TableCell>)
            [x?["name"]?.ToString() ?? "", TableCell.Num(Num(Dbl(x?["gb"]), 1)), x?["basis"]?.ToString() ?? ""]).ToList());
        yield return new Preformatted(tco.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
    }
}
