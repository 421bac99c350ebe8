using System.Text.Json;
using System.Xml.Linq;
using PolyNet.Tests;
using Xunit;
using static PolyNet.Cli.Tests.CliHarness;

namespace PolyNet.Cli.Tests.Commands;

/// <summary>A suite case's `latency:`: a baseline beside the golden outputs and budgets per percentile, told apart from accuracy.</summary>
public class SuiteLatencyTests
{
    [Fact]
    public void A_baseline_is_written_by_update_golden_and_a_blown_budget_is_too_slow_not_an_accuracy_failure()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("s.yaml"), "cases:\n"
            + $"  - name: fast\n    model: {TestPaths.Model("mlp.onnx")}\n    latency: {{ baseline: true, max_slowdown: 400%, p99_ms: 1000, iterations: 30 }}\n"
            + $"  - name: regressed\n    model: {TestPaths.Model("mlp.onnx")}\n    latency: {{ baseline: true, iterations: 30 }}\n"
            + $"  - name: budget\n    model: {TestPaths.Model("convnet.onnx")}\n    latency: {{ p50_ms: 0.00001, iterations: 10, rounds: 2 }}\n");
        var update = Run("suite", "run", dir.File("s.yaml"), "--update-golden");
        Assert.Contains("fast: PASSED", update.Out);
        Assert.Contains("latency baseline created", update.Out);
        Assert.True(File.Exists(dir.File("golden/fast.latency.json")));
        // Deterministic verdicts whatever this machine's noise: one baseline a thousand times slower, one a thousand times faster.
        Scale(dir.File("golden/fast.latency.json"), 1000);
        Scale(dir.File("golden/regressed.latency.json"), 0.001);

        var r = Run("suite", "run", dir.File("s.yaml"), "--junit", dir.File("j.xml"), "--json", dir.File("r.json"), "--markdown", dir.File("m.md"), "--report", dir.File("r.html"));
        Assert.Equal(1, r.Code);
        Assert.Contains("budget: TOO SLOW", r.Out);
        Assert.Matches(@"too slow \(onnxrt\): p50 [\d.]+ ms > 0 ms", r.Out);
        var failure = XDocument.Load(dir.File("j.xml")).Descendants("testcase").Single(t => t.Attribute("name")!.Value == "budget").Element("failure")!;
        Assert.Equal("LatencyBudget", failure.Attribute("type")!.Value);
        using var json = JsonDocument.Parse(File.ReadAllText(dir.File("r.json")));
        var fast = json.RootElement.GetProperty("cases")[0];
        Assert.Equal("passed", fast.GetProperty("status").GetString());
        Assert.Equal("faster", fast.GetProperty("latency").GetProperty("baseline").GetProperty("verdict").GetString());
        var regressed = json.RootElement.GetProperty("cases")[1];
        Assert.Equal("too slow", regressed.GetProperty("status").GetString());
        Assert.Equal("slower", regressed.GetProperty("latency").GetProperty("baseline").GetProperty("verdict").GetString());
        Assert.Matches(@"regressed: TOO SLOW.*against the baseline's [\d.]+ ms: SLOWER: median \+[\d.]+%, shift \+[\d.]+% \(95% CI", r.Out);
        Assert.Equal("too slow", json.RootElement.GetProperty("cases")[2].GetProperty("status").GetString());
        Assert.Contains("2 were too slow", File.ReadAllText(dir.File("m.md")));
        var html = File.ReadAllText(dir.File("r.html"));
        Assert.Contains("Latency of onnxrt: median", html);
        Assert.Contains(": TOO SLOW (p50", html);
    }

    private static void Scale(string path, double factor)
    {
        var doc = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!;
        foreach (var r in doc["runners"]!.AsArray())
            r!["samples_ms"] = new System.Text.Json.Nodes.JsonArray(r["samples_ms"]!.AsArray().Select(v => (System.Text.Json.Nodes.JsonNode?)(v!.GetValue<double>() * factor)).ToArray());
        File.WriteAllText(path, doc.ToJsonString());
    }

    [Theory]
    [InlineData("latency: { }", "latency: checks nothing")]
    [InlineData("latency: { p99_ms: -1 }", "latency.p99_ms '-1' must be a positive number")]
    [InlineData("latency: { runner: cuda, p99_ms: 1 }", "latency.runner 'cuda' is not one of the case's runners")]
    [InlineData("latency: { max_slowdown: 5%, p99_ms: 1 }", "latency.max_slowdown applies to baseline: true")]
    [InlineData("latency: { baseline: maybe }", "latency.baseline 'maybe' must be true or false")]
    [InlineData("latency: { p98_ms: 1 }", "unknown key 'p98_ms'")]
    public void Bad_latency_keys_are_one_line_naming_the_file(string line, string message)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("s.yaml"), $"cases:\n  - name: a\n    model: {TestPaths.Model("mlp.onnx")}\n    {line}\n");
        AssertOneLineError(Run("suite", "run", dir.File("s.yaml")), 2, "s.yaml", message);
    }

    [Fact]
    public void A_missing_latency_baseline_names_the_command_that_creates_it()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("s.yaml"), $"cases:\n  - name: a\n    model: {TestPaths.Model("mlp.onnx")}\n");
        Assert.Equal(0, Run("suite", "run", dir.File("s.yaml"), "--update-golden").Code);
        File.AppendAllText(dir.File("s.yaml"), "    latency: { baseline: true }\n");
        var r = Run("suite", "run", dir.File("s.yaml"));
        Assert.Equal(2, r.Code);
        Assert.Contains("a.latency.json: does not exist", r.Out + r.Err);
        Assert.Contains("--update-golden --case a", r.Out + r.Err);
    }
}
