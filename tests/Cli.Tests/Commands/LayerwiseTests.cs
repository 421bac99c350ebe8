using System.Text.Json;
using System.Text.RegularExpressions;
using PolyNet.Tests;
using Xunit;
using static PolyNet.Cli.Tests.CliHarness;

namespace PolyNet.Cli.Tests.Commands;

public class LayerwiseTests
{
    private static readonly string Exp = TestPaths.Model("exp_divergence.onnx");

    [Fact]
    public void Mark_all_names_the_first_divergence_and_localization_the_introducing_node()
    {
        using var dir = new TempDir();
        var r = Run("run", Exp, "--runner", "onnxrt", "--runner", "onnxrt:precision=fp16", "--mark-all", "--json", dir.File("r.json"), "--report", dir.File("r.html"));
        Assert.True(r.Code == 1, r.Out + r.Err);
        Assert.Contains("[E] 'onnxrt:precision=fp16' vs 'onnxrt': 3 of 8 tensor(s) beyond tolerance; first divergence: 'exp_out' from exp (Exp)", r.Out);
        Assert.Matches(@"exp \(Exp\)\s+INTRODUCES\s+alone: ", r.Out);
        Assert.Matches(@"scale \(Mul\)\s+inherits", r.Out);
        Assert.Matches(@"mix \(Add\)\s+inherits", r.Out);
        // After the layerwise pass, localization of the single culprit takes at most 4 model runs.
        var runs = int.Parse(Regex.Match(r.Out, @"Localization \((\d+) more model run\(s\)\)").Groups[1].Value);
        Assert.InRange(runs, 1, 4);
        Assert.Matches(@"fixing exp \(Exp\) \(its output replaced by the reference's\) removes \d+(\.\d)?% of y's error", r.Out);

        using var json = JsonDocument.Parse(File.ReadAllBytes(dir.File("r.json")));
        var cand = json.RootElement.GetProperty("layerwise").GetProperty("candidates")[0];
        Assert.Equal("exp_out", cand.GetProperty("first_divergence").GetString());
        var nodes = cand.GetProperty("localization").GetProperty("nodes").EnumerateArray().ToList();
        Assert.Equal(["exp"], nodes.Where(n => n.GetProperty("introduces").GetBoolean()).Select(n => n.GetProperty("node_name").GetString()));
        var explained = cand.GetProperty("localization").GetProperty("explained").EnumerateArray().Single(e => e.GetProperty("output").GetString() == "y");
        Assert.True(explained.GetProperty("explained").GetDouble() > 0.5, "fixing the Exp removes most of y's error");
        Assert.Contains("data-figure=\"curve\"", File.ReadAllText(dir.File("r.html")));
    }

    [Fact]
    public void A_small_memory_bound_compares_in_chunks_with_the_same_verdicts()
    {
        var r = Run("run", Exp, "--runner", "onnxrt", "--runner", "onnxrt:precision=fp16", "--mark-all", "--max-memory", "300");
        Assert.Equal(1, r.Code);
        var m = Regex.Match(r.Out, @"Layerwise comparison on sample 0: 8 tensor\(s\) in topological order \((\d+) chunk\(s\), (\d+) model run\(s\)\)");
        Assert.True(m.Success, r.Out);
        int chunks = int.Parse(m.Groups[1].Value);
        Assert.True(chunks > 1, $"{chunks} chunk(s)");                  // 300 bytes hold one 1x32 float tensor per runner (128 B each)
        Assert.Equal(2 * chunks, int.Parse(m.Groups[2].Value));
        Assert.Contains("first divergence: 'exp_out' from exp (Exp)", r.Out);
        Assert.Matches(@"exp \(Exp\)\s+INTRODUCES", r.Out);
    }

    [Fact]
    public void Marked_tensors_are_compared_in_topological_order_and_a_file_can_name_them()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("marks.txt"), "# the tail first\nmix_out\nrelu_out  # after a comment\n\n");
        var r = Run("run", Exp, "--runner", "onnxrt", "--runner", "onnxrt:precision=fp16", "--mark-file", dir.File("marks.txt"), "--no-localize");
        Assert.Equal(1, r.Code);
        Assert.Contains("2 tensor(s) in topological order", r.Out);
        Assert.True(r.Out.IndexOf("relu_out ", StringComparison.Ordinal) < r.Out.IndexOf("mix_out ", StringComparison.Ordinal));
        Assert.DoesNotContain("Localization", r.Out);
    }

    [Fact]
    public void Marking_that_stops_a_fusion_is_reported()
    {
        // ORT folds each BatchNormalization into its Conv at the default level; exposing the Conv's output prevents it.
        var r = Run("run", TestPaths.Model("convnet.onnx"), "--runner", "onnxrt", "--runner", "onnxrt:opt=disable", "--mark", "conv1_out", "conv2_out");
        Assert.True(r.Code == 0, r.Out + r.Err);
        Assert.Contains("[W] onnxrt: with 2 tensor(s) marked as outputs its final outputs differ from the unmarked run", r.Out);
    }

    [Theory]
    [InlineData(new[] { "--mark", "exp_ot" }, "no node produces a tensor named 'exp_ot' (did you mean 'exp_out'?)")]
    [InlineData(new[] { "--mark", "x" }, "'x' is a graph input or an initializer")]
    [InlineData(new[] { "--mark-all", "--max-memory", "lots" }, "--max-memory lots: expected a size such as 512M")]
    [InlineData(new[] { "--max-memory", "1G" }, "--max-memory and --no-localize apply to layerwise comparison")]
    [InlineData(new[] { "--mark-file", "/nonexistent/marks.txt" }, "/nonexistent/marks.txt: no such file")]
    public void Bad_marks_are_one_line_errors_before_anything_runs(string[] args, string message)
    {
        var r = Run(["run", Exp, "--runner", "onnxrt", "--runner", "onnxrt:precision=fp16", .. args]);
        AssertOneLineError(r, 2, message);
        Assert.DoesNotContain("Comparing", r.Out);
    }
}
