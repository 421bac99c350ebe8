using System.Text.Json;
using PolyNet.Tests;
using Xunit;
using static PolyNet.Cli.Tests.CliHarness;

namespace PolyNet.Cli.Tests.Commands;

public class BenchCommandTests
{
    [Fact]
    public void Bench_reports_latency_percentiles_and_throughput_per_runner()
    {
        using var dir = new TempDir();
        var r = Run("bench", TestPaths.Model("convnet.onnx"), "--runner", "onnxrt", "onnxrt:opt=disable", "--warmup", "2", "--iterations", "5", "--rounds", "5", "--json", dir.File("b.json"));
        Assert.True(r.Code == 0, r.Out + r.Err);
        Assert.Matches(@"\[I\] onnxrt: 25 run\(s\) in 5 round\(s\), [\d.]+ s \(x in host memory, logits on Cpu\)", r.Out);
        Assert.Matches(@"median [\d.]+ ms, 95% CI \[[\d.]+, [\d.]+\]; round medians( [\d.]+){5} \(spread [\d.]+%\); \d+ upper outlier", r.Out);
        Assert.Matches(@"latency \(ms\): min [\d.]+  median [\d.]+  mean [\d.]+  p90 [\d.]+  p95 [\d.]+  p99 [\d.]+  max [\d.]+", r.Out);
        Assert.Contains("samples/s at batch 1", r.Out);
        using var json = JsonDocument.Parse(File.ReadAllBytes(dir.File("b.json")));
        var runners = json.RootElement.GetProperty("runners").EnumerateArray().ToList();
        Assert.Equal(["onnxrt", "onnxrt:opt=disable"], runners.Select(x => x.GetProperty("runner").GetString()));
        foreach (var x in runners)
        {
            var l = x.GetProperty("latency_ms");
            Assert.Equal(25, l.GetProperty("runs").GetInt32());
            double min = l.GetProperty("min").GetDouble(), med = l.GetProperty("median").GetDouble(), p99 = l.GetProperty("p99").GetDouble(), max = l.GetProperty("max").GetDouble();
            Assert.True(min > 0 && min <= med && med <= p99 && p99 <= max, $"{min} {med} {p99} {max}");
            Assert.True(x.GetProperty("throughput_per_s").GetDouble() > 0);
            Assert.Equal(5, x.GetProperty("round_medians_ms").GetArrayLength());
            Assert.Equal(25, x.GetProperty("samples_ms").GetArrayLength());
        }
        Assert.Equal(64, json.RootElement.GetProperty("model_sha256").GetString()!.Length);
        Assert.Equal("1.30.0", json.RootElement.GetProperty("ort_version").GetString());
        Assert.Equal("1x3x32x32", json.RootElement.GetProperty("input_shapes").GetProperty("x").GetString());
    }

    /// <summary>A copy of a bench JSON with every timed run scaled: a baseline this run must be faster or slower than.</summary>
    private static string Scaled(string path, double factor, string to)
    {
        var doc = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!;
        foreach (var r in doc["runners"]!.AsArray())
            r!["samples_ms"] = new System.Text.Json.Nodes.JsonArray(r["samples_ms"]!.AsArray().Select(v => (System.Text.Json.Nodes.JsonNode?)(v!.GetValue<double>() * factor)).ToArray());
        File.WriteAllText(to, doc.ToJsonString());
        return to;
    }

    [Fact]
    public void A_baseline_gives_exit_1_only_when_significantly_slower_and_says_by_how_much()
    {
        // The CLI's part, deterministically: the machine's noise is bench/run.sh latency's business, not a unit test's.
        using var dir = new TempDir();
        var model = TestPaths.Model("convnet.onnx");
        // Runners are matched to the baseline's by name.
        var b = Run("bench", model, "--runner", "onnxrt:name=conv", "--iterations", "40", "--json", dir.File("base.json"));
        Assert.True(b.Code == 0, b.Out + b.Err);
        var slower = Run("bench", model, "--runner", "onnxrt:name=conv", "--iterations", "40", "--baseline", Scaled(dir.File("base.json"), 0.001, dir.File("fast.json")), "--json", dir.File("v.json"));
        Assert.True(slower.Code == 1, slower.Out + slower.Err);
        Assert.Matches(@"\[E\] conv against .*fast.json: median [\d.]+ ms, was [\d.]+ ms: SLOWER: median \+[\d.]+%, shift \+[\d.]+% \(95% CI \+[\d.]+% to \+[\d.]+%\), significantly beyond 5% \(p [=<] .*\)", slower.Out);
        using (var json = JsonDocument.Parse(File.ReadAllBytes(dir.File("v.json"))))
        {
            var v = json.RootElement.GetProperty("baseline")[0];
            Assert.Equal("slower", v.GetProperty("verdict").GetString());
            Assert.True(v.GetProperty("fails").GetBoolean());
            Assert.True(v.GetProperty("shift_low").GetDouble() <= v.GetProperty("shift").GetDouble());
            Assert.True(v.GetProperty("p").GetDouble() < 0.01);
        }
        var faster = Run("bench", model, "--runner", "onnxrt:name=conv", "--iterations", "40", "--baseline", Scaled(dir.File("base.json"), 1000, dir.File("slow.json")));
        Assert.True(faster.Code == 0, faster.Out + faster.Err);
        Assert.Matches(@"\[I\] conv against .*slow.json: .*: faster: median -[\d.]+%", faster.Out);
        // A threshold so wide nothing exceeds it passes even the planted slowdown, and says it is no slowdown.
        var wide = Run("bench", model, "--runner", "onnxrt:name=conv", "--iterations", "40", "--baseline", dir.File("fast.json"), "--max-slowdown", "10000000%");
        Assert.True(wide.Code == 0, wide.Out + wide.Err);
        Assert.Contains("same: median +", wide.Out);
        Assert.Contains("not significantly slower beyond 10000000%", wide.Out);
        // Another model, or other shapes, is no baseline.
        Assert.Equal(0, Run("bench", TestPaths.Model("mlp.onnx"), "--runner", "onnxrt:name=conv", "--iterations", "5", "--rounds", "1", "--json", dir.File("small.json")).Code);
        AssertOneLineError(Run("bench", model, "--runner", "onnxrt:name=conv", "--baseline", dir.File("small.json")), 2, "small.json: was measured on another model");
        var dyn = TestPaths.Model("dynamic_batch.onnx");
        Assert.Equal(0, Run("bench", dyn, "--runner", "onnxrt:name=d", "--input-shapes", "x:2x8", "--iterations", "5", "--rounds", "1", "--json", dir.File("d2.json")).Code);
        AssertOneLineError(Run("bench", dyn, "--runner", "onnxrt:name=d", "--input-shapes", "x:4x8", "--baseline", dir.File("d2.json")), 2, "was measured at other input shapes (x 2x8; now x 4x8)");
        var missing = Run("bench", model, "--runner", "onnxrt:name=other", "--baseline", dir.File("base.json"));
        AssertOneLineError(missing, 2, "has no runner 'other' (it has conv)");
        AssertOneLineError(Run("bench", model, "--baseline", dir.File("nope.json")), 2, "nope.json: no such file");
        File.WriteAllText(dir.File("bad.json"), "{\"runners\": []}");
        AssertOneLineError(Run("bench", model, "--baseline", dir.File("bad.json")), 2, "holds no runner with timed runs");
    }

    [Fact]
    public void With_copies_times_what_run_does_and_says_how_much_is_polynets_own_work()
    {
        var r = Run("bench", TestPaths.Model("mlp.onnx"), "--with-copies", "--warmup", "1", "--iterations", "10");
        Assert.True(r.Code == 0, r.Out + r.Err);
        Assert.Contains("inputs from host memory and outputs copied back each run (--with-copies)", r.Out);
        Assert.Matches(@"of which PolyNet's own work .*: median [\d.]+ us, p99 [\d.]+ us", r.Out);
    }

    [Theory]
    [InlineData(new[] { "--iterations", "0" }, "--iterations 0: must be at least 1")]
    [InlineData(new[] { "--warmup", "-1" }, "--warmup -1: must be at least 0")]
    [InlineData(new[] { "--runner", "onnxrt:opt=fast" }, "opt=fast is not valid")]
    [InlineData(new[] { "--json", "/nonexistent/dir/b.json" }, "/nonexistent/dir/b.json: folder /nonexistent/dir does not exist")]
    public void Bad_bench_options_are_one_line_errors(string[] args, string message)
        => AssertOneLineError(Run(["bench", TestPaths.Model("mlp.onnx"), .. args]), 2, message);
}
