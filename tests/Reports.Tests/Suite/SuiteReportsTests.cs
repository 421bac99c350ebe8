using System.Text.Json;
using System.Xml.Linq;
using PolyNet.Jobs.Suite;
using PolyNet.Onnx.Data;
using PolyNet.Reports.Suite;
using PolyNet.Tests;
using Xunit;

namespace PolyNet.Reports.Tests.Suite;

/// <summary>JUnit, Markdown, JSON and HTML of a suite whose first case fails on one golden value and whose second has no golden file.</summary>
public sealed class SuiteReportsTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly SuiteResult _result;

    public SuiteReportsTests()
    {
        var path = _dir.File("t.suite.yaml");
        File.WriteAllText(path, $"""
            defaults:
              runners: [onnxrt, "onnxrt:opt=disable"]
            cases:
              - name: mlp
                model: {TestPaths.Fixtures}/models/mlp.onnx
                inputs: {"{"} samples: 2 {"}"}
              - name: conv
                model: {TestPaths.Fixtures}/models/convnet.onnx
            """);
        var suite = SuiteFile.Load(path);
        SuiteRunner.RunCase(suite, suite.Cases[0], updateGolden: true);
        var golden = Npz.Read(_dir.File("golden/mlp.npz"));
        golden.Tensor("1/probs").Span<float>()[3] += 0.01f;
        Npz.Write(_dir.File("golden/mlp.npz"), golden);
        _result = SuiteRunner.Run(suite, new SuiteRunOptions(), cancel: TestContext.Current.CancellationToken);
    }

    public void Dispose() => _dir.Dispose();

    private static byte[] Bytes<T>(ReportWriter<T> w, T r)
    {
        var s = new MemoryStream();
        w.Write(r, s);
        return s.ToArray();
    }

    [Fact]
    public void JUnit_has_a_failure_naming_the_output_and_an_error_for_bad_input()
    {
        var x = XDocument.Load(new MemoryStream(Bytes(JUnitReport.Default, _result)));
        Assert.Equal(("2", "1", "1"), (x.Root!.Attribute("tests")!.Value, x.Root.Attribute("failures")!.Value, x.Root.Attribute("errors")!.Value));
        var cases = x.Root.Element("testsuite")!.Elements("testcase").ToDictionary(c => c.Attribute("name")!.Value);
        var failure = cases["mlp"].Element("failure")!;
        Assert.Equal("OutputMismatch", failure.Attribute("type")!.Value);
        Assert.StartsWith("probs: ", failure.Attribute("message")!.Value);
        Assert.Contains("(onnxrt vs golden, sample 1)", failure.Attribute("message")!.Value);
        Assert.Equal("BadInput", cases["conv"].Element("error")!.Attribute("type")!.Value);
        // The case's log, without progress lines and their timings.
        var output = cases["mlp"].Element("system-out")!.Value;
        Assert.Contains("[I] inputs: 2 sample(s) generated", output);
        Assert.DoesNotContain("ready in", output);
    }

    [Fact]
    public void Markdown_says_what_went_wrong_per_case()
    {
        var md = MarkdownReport.Render(_result);
        Assert.StartsWith("## PolyNet suite `t`: ❌ FAILED", md);
        Assert.Contains("0 of 2 cases passed, 1 failed, 1 had bad input", md);
        Assert.Contains("- **mlp** (failed): probs: ", md);
        Assert.Contains("- **conv** (bad input): golden file ", md);
    }

    [Fact]
    public void Json_holds_every_case_and_every_comparison()
    {
        using var doc = JsonDocument.Parse(Bytes(SuiteJsonReport.Default, _result));
        var root = doc.RootElement;
        Assert.Equal(2, root.GetProperty("exit_code").GetInt32()); // bad input outranks a mismatch
        var cases = root.GetProperty("cases").EnumerateArray().ToList();
        Assert.Equal(["failed", "bad input"], cases.Select(c => c.GetProperty("status").GetString()));
        Assert.Equal("golden/mlp.npz", cases[0].GetProperty("golden").GetString());
        // 2 samples x (2 runners vs golden + 1 runner vs runner)
        Assert.Equal(6, cases[0].GetProperty("comparisons").GetArrayLength());
        Assert.False(cases[1].TryGetProperty("comparisons", out _));
    }

    [Fact]
    public void Html_has_a_section_per_case()
    {
        var html = System.Text.Encoding.UTF8.GetString(Bytes(SuiteHtmlReport.Default, _result));
        Assert.Contains("<h2 class=\"section\">mlp <span class=\"fail\">FAILED</span></h2>", html);
        Assert.Contains("<h2 class=\"section\">conv <span class=\"fail\">ERROR</span></h2>", html);
    }
}
