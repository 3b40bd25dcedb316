using PerfLab.Results;
using System.Text.RegularExpressions;

namespace PerfLab.Report.Tests;

/// <summary>
/// The report in a real browser: Debian's Chromium, headless, opens the page from disk with networking off. The test
/// adds a load handler to a copy of the page (shipped reports carry no script) that records how many images decoded
/// and which key tables exist, and reads that from the DOM.
/// A screenshot is kept in TestResults/screenshots/ for a person to look at.
/// </summary>
public class BrowserTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const string Chromium = "/usr/bin/chromium";

    private static string RunChromium(string profile, params string[] args) =>
        TestProcess.Run(Chromium, new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--user-data-dir=" + profile }.Concat(args), timeoutS: 120).Stdout;

    /// <summary>The test's own check, run by the browser once the page has loaded.</summary>
    private const string Probe = """
        <script>
        window.addEventListener('load', function () {
          var imgs = Array.prototype.slice.call(document.images);
          var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
          document.body.setAttribute('data-images', ok + '/' + imgs.length);
          document.body.setAttribute('data-tables', ['runs', 'hosts', 'summary'].filter(function (id) { return document.getElementById(id); }).join(','));
        });
        </script>

        """;

    [SkippableFact]
    public void Chromium_loads_every_image_and_the_key_tables()
    {
        Skip.IfNot(File.Exists(Chromium), "no Chromium at /usr/bin/chromium (apt-get install chromium)");
        using var rec = new RecordedRuns();
        var o = ReportWriter.Write(rec.Load(RecordedRuns.All), Path.Combine(rec.Dir, "out"));
        Assert.DoesNotContain("<script", File.ReadAllText(o.Html));
        var probed = Path.Combine(Path.GetDirectoryName(o.Html)!, "report.probed.html");
        File.WriteAllText(probed, File.ReadAllText(o.Html).Replace("</body>", Probe + "</body>"));
        var url = new Uri(probed).AbsoluteUri;

        var dom = RunChromium(Path.Combine(rec.Dir, "profile-dom"), "--virtual-time-budget=10000", "--dump-dom", url);
        var body = Regex.Match(dom, "<body[^>]*>").Value;
        output.WriteLine(body);
        var images = Regex.Match(body, "data-images=\"(\\d+)/(\\d+)\"");
        Assert.True(images.Success, "the page's load handler did not run: " + body);
        Assert.Equal(o.Charts, int.Parse(images.Groups[2].Value));
        Assert.Equal(images.Groups[2].Value, images.Groups[1].Value);  // every image decoded
        Assert.Contains("data-tables=\"runs,hosts,summary\"", body);
        Assert.Contains("id=\"overhead\"", dom);
        Assert.Contains("id=\"capacity\"", dom);

        var shots = Path.Combine(RecordedRuns.RepoRoot(), "TestResults", "screenshots");
        Directory.CreateDirectory(shots);
        var shot = Path.Combine(shots, "report.png");
        File.Delete(shot);
        RunChromium(Path.Combine(rec.Dir, "profile-shot"), "--window-size=1280,4000", "--hide-scrollbars", "--screenshot=" + shot, url);
        Assert.True(File.Exists(shot) && new FileInfo(shot).Length > 50_000, "no screenshot written");
        output.WriteLine("screenshot: " + shot);
    }
}
