using System.Diagnostics;
using PolyNet.Compare;
using PolyNet.Jobs;
using PolyNet.Jobs.Runs;
using PolyNet.Reports;
using PolyNet.Onnx;
using PolyNet.Tests;
using Xunit;

namespace PolyNet.Reports.Tests;

public class HtmlReportTests
{
    internal static RunJobResult Sample()
    {
        var r = TensorData.Allocate(ElementType.Float, new TensorShape(1, 3, 16, 16));
        var rs = r.Span<float>();
        for (int i = 0; i < rs.Length; i++) rs[i] = MathF.Sin(i * 0.1f);
        var c = r.Clone();
        c.Span<float>()[300] += 0.25f;
        var pair = PairComparer.Compare(0, "onnxrt", new ValueMap { { "feat<&>", r } }, "cuda", new ValueMap { { "feat<&>", c } }, new ToleranceSet(), new CompareOptions { Explain = ExplainMode.All }, false);
        return new RunJobResult { Runners = [], Pairs = [pair], Samples = 1 };
    }

    /// <summary><see cref="Sample"/> as if swept over two shape sets, the second failing.</summary>
    internal static RunJobResult Swept() => Sample() with
    {
        ShapeSets = [new ShapeSetResult(0, "x:1x3x16x16", [], true, 0), new ShapeSetResult(1, "x:8x3x16x16", [0], false, 1)],
    };

    /// <summary>A three-node model whose middle node (Unique) TensorRT does not take.</summary>
    internal static Runners.Inspect.TensorRt.TrtCapabilityResult Capability()
    {
        var b = new ModelBuilder(opset: 17);
        var x = b.Input("x", ElementType.Float, 4);
        var r = b.Node("Relu", [x], name: "relu");
        var u = b.Node("Unique", [r], name: "unique<&>");
        b.Node("Neg", [u], name: "neg", output: "y");
        b.OutputUnknownShape("y", ElementType.Float);
        return Runners.Inspect.TensorRt.TrtCapability.Analyze(b.BuildModel(), Runners.Inspect.TensorRt.TrtSupportMatrix.For(), new Dictionary<string, ValueSpec>());
    }

    [Fact]
    public void A_sweep_and_a_trt_runner_add_the_shape_sets_and_the_tensorrt_cut()
    {
        var html = HtmlReport.Render([new ReportSection("t", Swept(), Capability: Capability())], "polynet run m.onnx");
        Assert.Contains("<h2>Shape sweep</h2>", html);
        Assert.Contains("<td>x:8x3x16x16</td><td>1</td><td>FAILED</td>", html);
        Assert.Contains("data-figure=\"sweep\"", html);
        Assert.Contains("TensorRT 10.15 capability (static", html);
        Assert.Contains("2 engines, 1 of 3 nodes fall back", html);
        Assert.Contains("unique&lt;&amp;&gt;", html);
        Assert.Contains("data-figure=\"partitions\"", html);
        Assert.DoesNotContain("Shape sweep", HtmlReport.Render([new ReportSection("t", Sample())], "polynet run m.onnx"));
    }

    [Fact]
    public void Is_one_self_contained_file_with_every_figure_and_escaped_names()
    {
        var html = HtmlReport.Render([new ReportSection("t", Sample())], "polynet run m.onnx");
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/2000/svg", ""));
        Assert.DoesNotContain("https://", html);
        Assert.DoesNotContain("<script src", html);
        Assert.Contains("feat&lt;&amp;&gt;", html);
        Assert.DoesNotContain("feat<&>", html);
        Assert.Contains("data:image/png;base64,", html);
        Assert.True(System.Text.RegularExpressions.Regex.Matches(html, "data-figure=").Count >= 6);
        Assert.Equal(html, HtmlReport.Render([new ReportSection("t", Sample())], "polynet run m.onnx")); // deterministic
    }

    [Fact]
    public void Histogram_bins_are_labelled_in_readable_text_with_their_counts_and_wide_tables_scroll()
    {
        var result = Sample();
        var html = HtmlReport.Render([new ReportSection("t", result)], "polynet run m.onnx");
        var bins = result.Pairs[0].Outputs[0].Metrics!.AbsHistogram!.Bins;
        // Each bin's label is upright text of its own (no rotated 8-pixel labels), and its count stands beside the bar.
        foreach (var b in bins)
            Assert.Contains($"text-anchor=\"end\">{System.Net.WebUtility.HtmlEncode(b.Label)}</text>", html);
        Assert.DoesNotContain("rotate(", html);
        Assert.Contains("font-size=\"11\"", html);
        Assert.Contains("overflow-x: auto", html);
    }

    [Fact]
    public void The_heat_map_is_a_valid_png_with_the_error_where_it_is()
    {
        if (Python.WhyUnavailable is { } why) Assert.Skip(why);
        var rgb = new byte[4 * 3 * 3];
        rgb[3 * 5] = 255; // pixel (x=1, y=1) red
        var png = Png.Encode(4, 3, rgb);
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("x.png"), png);
        var output = Python.Check($$"""
            import struct, zlib
            d = open('{{dir.File("x.png")}}', 'rb').read()
            assert d[:8] == b'\x89PNG\r\n\x1a\n'
            pos, chunks = 8, {}
            while pos < len(d):
                n, = struct.unpack('>I', d[pos:pos+4]); t = d[pos+4:pos+8]; body = d[pos+8:pos+8+n]
                crc, = struct.unpack('>I', d[pos+8+n:pos+12+n]); assert crc == zlib.crc32(t + body) & 0xffffffff, t
                chunks[t] = chunks.get(t, b'') + body; pos += 12 + n
            w, h = struct.unpack('>II', chunks[b'IHDR'][:8]); raw = zlib.decompress(chunks[b'IDAT'])
            rows = [raw[y*(1+w*3)+1:(y+1)*(1+w*3)] for y in range(h)]
            print(w, h, rows[1][3], rows[1][4], rows[0][0])
            """);
        Assert.Equal("4 3 255 0 0", output.Trim());
    }

    [Fact]
    public void Html_report_renders_every_figure_in_headless_chromium()
    {
        var chromium = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists);
        Assert.True(chromium is not null, "Debian's chromium is not installed (./setup.sh --test installs it)");
        using var dir = new TempDir();
        HtmlReport.Default.WriteFile(dir.File("report.html"), new RunReport(Swept(), "m.onnx", "polynet run m.onnx") { Capability = Capability() });
        string Chromium(params string[] args)
        {
            var psi = new ProcessStartInfo(chromium!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", $"--user-data-dir={dir.File("profile")}" }.Concat(args)) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            _ = p.StandardError.ReadToEndAsync();
            Assert.True(p.WaitForExit(120_000), "chromium did not finish in 120 s");
            return stdout.Result;
        }
        var dom = Chromium("--virtual-time-budget=5000", "--dump-dom", $"file://{dir.File("report.html")}");
        var body = System.Text.RegularExpressions.Regex.Match(dom, "<body data-figures=\"(\\d+)\" data-rendered=\"(\\d+)\">");
        Assert.True(body.Success, "the report's check script did not run");
        Assert.True(int.Parse(body.Groups[1].Value) >= 8, $"{body.Groups[1].Value} figures");  // the sweep's bars and the TensorRT cut included
        Assert.Equal(body.Groups[1].Value, body.Groups[2].Value);
        var shot = Path.Combine(TestPaths.RepoRoot, ".build", "report-screenshot.png");
        Directory.CreateDirectory(Path.GetDirectoryName(shot)!);
        Chromium("--window-size=1280,1800", $"--screenshot={shot}", $"file://{dir.File("report.html")}");
        Assert.True(new FileInfo(shot).Length > 10_000, "the screenshot is empty");
    }
}
