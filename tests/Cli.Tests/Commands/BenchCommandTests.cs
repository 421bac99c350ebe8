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

    [Fact]
    public void A_baseline_passes_the_same_configuration_and_fails_a_planted_slowdown_with_exit_1()
    {
        using var dir = new TempDir();
        var model = TestPaths.Model("convnet.onnx");
        // Runners are matched to the baseline's by name.
        var b = Run("bench", model, "--runner", "onnxrt:name=conv", "--iterations", "40", "--json", dir.File("base.json"));
        Assert.True(b.Code == 0, b.Out + b.Err);
        var same = Run("bench", model, "--runner", "onnxrt:name=conv", "--iterations", "40", "--baseline", dir.File("base.json"), "--max-slowdown", "50%");
        Assert.True(same.Code == 0, same.Out + same.Err);
        Assert.Contains("conv against", same.Out);
        // A planted slowdown: the same model and runner, each run now also handing inputs over and copying outputs back
        // (--with-copies), several times the microseconds the tiny MLP itself takes.
        var mlp = TestPaths.Model("mlp.onnx");
        var small = Run("bench", mlp, "--runner", "onnxrt:name=conv", "--iterations", "100", "--json", dir.File("small.json"));
        Assert.True(small.Code == 0, small.Out + small.Err);
        var slower = Run("bench", mlp, "--runner", "onnxrt:name=conv", "--iterations", "100", "--with-copies", "--baseline", dir.File("small.json"));
        Assert.True(slower.Code == 1, slower.Out + slower.Err);
        Assert.Matches(@"\[E\] conv against .*small.json: median [\d.]+ ms, was [\d.]+ ms: SLOWER by [\d.]+% \(p = .*\), beyond --max-slowdown 5%", slower.Out);
        // Another model, or other shapes, is no baseline.
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
