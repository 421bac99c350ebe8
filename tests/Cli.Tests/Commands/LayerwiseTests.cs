using System.Text.Json;
using PolyNet.Tests;
using Xunit;
using static PolyNet.Cli.Tests.CliHarness;

namespace PolyNet.Cli.Tests.Commands;

public class LayerwiseTests
{
    private static readonly string Exp = TestPaths.Model("exp_divergence.onnx");

    [Fact]
    public void Mark_all_prints_the_layerwise_table_and_localization_and_writes_them_to_the_reports()
    {
        using var dir = new TempDir();
        var r = Run("run", Exp, "--runner", "onnxrt", "--runner", "onnxrt:precision=fp16", "--mark-all", "--max-memory", "1G", "--json", dir.File("r.json"), "--report", dir.File("r.html"));
        Assert.True(r.Code == 1, r.Out + r.Err);
        Assert.Contains("[E] 'onnxrt:precision=fp16' vs 'onnxrt': 3 of 8 tensor(s) beyond tolerance; first divergence: 'exp_out' from exp (Exp)", r.Out);
        Assert.Matches(@"\[E\] Localization \(\d more model run\(s\)\)", r.Out);
        using var json = JsonDocument.Parse(File.ReadAllBytes(dir.File("r.json")));
        Assert.Equal("exp_out", json.RootElement.GetProperty("layerwise").GetProperty("candidates")[0].GetProperty("first_divergence").GetString());
        Assert.Contains("data-figure=\"curve\"", File.ReadAllText(dir.File("r.html")));
    }

    [Fact]
    public void A_mark_file_names_tensors_one_per_line_with_comments()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("marks.txt"), "# the tail first\nmix_out\nrelu_out  # after a comment\n\n");
        var r = Run("run", Exp, "--runner", "onnxrt", "--runner", "onnxrt:precision=fp16", "--mark-file", dir.File("marks.txt"), "--no-localize");
        Assert.Equal(1, r.Code);
        Assert.Contains("2 tensor(s) in topological order", r.Out);
        Assert.DoesNotContain("Localization", r.Out);
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
