using System.Text.Json;
using PolyNet.Tests;
using Xunit;
using static PolyNet.Cli.Tests.CliHarness;

namespace PolyNet.Cli.Tests.Commands;

/// <summary>`--input-shapes` repeated: `run` and `suite run` compare at every shape set; commands that take one shape refuse.</summary>
public class ShapeSweepCommandTests
{
    private static string M(string name) => TestPaths.Model(name);

    [Fact]
    public void Run_compares_at_every_shape_set_and_reports_each()
    {
        using var dir = new TempDir();
        var r = Run("run", M("dynamic_batch.onnx"), "--runner", "onnxrt", "--runner", "onnxrt:opt=disable", "--input-shapes", "x:1x8", "--input-shapes", "x:16x8", "x:64x8",
            "--json", dir.File("r.json"), "--report", dir.File("r.html"));
        Assert.True(r.Code == 0, r.Out + r.Err);
        Assert.Contains("shape sweep: 3 shape sets", r.Out);
        Assert.Contains("shape set 2 (x:16x8): PASSED over 1 sample(s)", r.Out);
        Assert.Contains("shape set 3 (x:64x8): PASSED", r.Out);
        using var json = JsonDocument.Parse(File.ReadAllText(dir.File("r.json")));
        var sets = json.RootElement.GetProperty("shape_sets");
        Assert.Equal(3, sets.GetArrayLength());
        Assert.Equal("x:64x8", sets[2].GetProperty("shapes").GetString());
        var comparisons = json.RootElement.GetProperty("comparisons");
        Assert.Equal([64, 4], comparisons[2].GetProperty("outputs")[0].GetProperty("reference_shape").EnumerateArray().Select(d => d.GetInt32()));
        Assert.Contains("data-figure=\"sweep\"", File.ReadAllText(dir.File("r.html")));
    }

    [Fact]
    public void Commands_that_take_one_shape_per_input_refuse_a_sweep()
    {
        AssertOneLineError(Run("bench", M("dynamic_batch.onnx"), "--runner", "onnxrt", "--input-shapes", "x:1x8", "x:2x8"), 2, "2 shape sets", "polynet bench takes one shape per input");
    }

    [Fact]
    public void A_suite_case_lists_several_shape_sets()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("s.yaml"), $"cases:\n  - name: dyn\n    model: {M("dynamic_batch.onnx")}\n    runners: [onnxrt, \"onnxrt:opt=disable\"]\n    inputs: {{ input_shapes: [x:2x8, x:32x8] }}\n");
        var update = Run("suite", "run", dir.File("s.yaml"), "--update-golden");
        Assert.True(update.Code == 0, update.Out + update.Err);
        var r = Run("suite", "run", dir.File("s.yaml"), "--json", dir.File("s.json"));
        Assert.True(r.Code == 0, r.Out + r.Err);
        using var json = JsonDocument.Parse(File.ReadAllText(dir.File("s.json")));
        var sets = json.RootElement.GetProperty("cases")[0].GetProperty("shape_sets");
        Assert.Equal(["x:2x8", "x:32x8"], sets.EnumerateArray().Select(s => s.GetProperty("shapes").GetString()));
    }
}
