using System.Diagnostics;
using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using PolyNet.Tests;
using Xunit;
using static PolyNet.Cli.Tests.CliHarness;

namespace PolyNet.Cli.Tests.Commands;

public class CompareCommandTests
{
    private static ValueMap Outputs(float delta, bool extra = false, long rows = 2)
    {
        var y = TensorData.Create<float>([rows, 3], Enumerable.Range(0, (int)rows * 3).Select(i => i * 0.5f).ToArray());
        y.Span<float>()[1] += delta;
        var m = new ValueMap { { "y", y }, { "ids", TensorData.Create<long>([2], 3, 4) } };
        if (extra) m.Add("debug", TensorData.Scalar(1f));
        return m;
    }

    [Fact]
    public void Matching_files_pass_and_a_difference_fails_with_its_numbers()
    {
        using var dir = new TempDir();
        Npz.Write(dir.File("a.npz"), Outputs(0));
        Npz.Write(dir.File("b.npz"), Outputs(1e-7f));
        Npz.Write(dir.File("c.npz"), Outputs(0.01f));
        var ok = Run("compare", dir.File("a.npz"), dir.File("b.npz"));
        Assert.True(ok.Code == 0, ok.Out + ok.Err);
        var bad = Run("compare", dir.File("a.npz"), dir.File("c.npz"), "--json", dir.File("r.json"));
        Assert.Equal(1, bad.Code);
        Assert.Contains("y (float32 2x3): FAILED  1 of 6 elements", bad.Out);
        Assert.Contains("largest abs error at [0, 1]", bad.Out);
        Assert.Contains("ids (int64 2): PASSED  every element equal  (exact)", bad.Out);
        Assert.True(File.Exists(dir.File("r.json")));
    }

    [Fact]
    public void Names_on_one_side_only_and_differing_shapes_are_reported_then_exit_2()
    {
        using var dir = new TempDir();
        Npz.Write(dir.File("a.npz"), Outputs(0, extra: true));
        Npz.Write(dir.File("b.npz"), Outputs(0, rows: 3));
        var r = Run("compare", dir.File("a.npz"), dir.File("b.npz"));
        Assert.Equal(2, r.Code);
        Assert.Contains("polynet: error: a.npz has output 'debug' but b.npz does not", r.Err);
        Assert.Contains("polynet: error: y: shapes differ: reference 2x3, candidate 3x3", r.Err);
        Assert.Contains("ids (int64 2): PASSED", r.Out); // what matches is still compared
    }

    [Fact]
    public void Polygraphy_run_results_with_several_runners_compare_against_the_first()
    {
        using var dir = new TempDir();
        PolygraphyJson.WriteRunResults(dir.File("runs.json"), [
            new RunnerResults("onnxrt-runner", [Outputs(0)], [null]),
            new RunnerResults("trt-runner", [Outputs(0.5f)], [null])]);
        var r = Run("compare", dir.File("runs.json"), "--atol", "y:1");
        Assert.True(r.Code == 0, r.Out + r.Err);
        Assert.Contains("Comparing 'runs.json:trt-runner' against reference 'runs.json:onnxrt-runner'", r.Out);
        var strict = Run("compare", dir.File("runs.json"));
        Assert.Equal(1, strict.Code);
    }

    [Fact]
    public void Top_k_judges_class_indices()
    {
        using var dir = new TempDir();
        Npz.Write(dir.File("a.npz"), new ValueMap { { "p", TensorData.Create<float>([1, 4], 0.1f, 0.7f, 0.15f, 0.05f) } });
        Npz.Write(dir.File("b.npz"), new ValueMap { { "p", TensorData.Create<float>([1, 4], 0.12f, 0.6f, 0.2f, 0.08f) } });
        var r = Run("compare", dir.File("a.npz"), dir.File("b.npz"), "--top-k", "2", "--json", dir.File("r.json"));
        Assert.True(r.Code == 0, r.Out);
        Assert.Contains("top-2 classes agree in every row (1)", r.Out);
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(dir.File("r.json")));
        var k = doc.RootElement.GetProperty("comparisons")[0].GetProperty("outputs")[0].GetProperty("top_k");
        Assert.Equal(2, k.GetProperty("k").GetInt32());
        Assert.Equal(1, k.GetProperty("sets_equal").GetInt64());
    }

    [Theory]
    [InlineData("npy")]
    [InlineData("npz")]
    [InlineData("pb")]
    [InlineData("json")]
    public void Corrupt_or_truncated_files_are_one_line_errors(string kind)
    {
        using var dir = new TempDir();
        var good = dir.File("good." + kind);
        var values = new ValueMap { { "y", TensorData.Create<float>([64], new float[64]) } };
        switch (kind)
        {
            case "npy": using (var f = File.Create(good)) Npy.Write(f, values.Tensor("y")); break;
            case "npz": Npz.Write(good, values); break;
            case "pb": BackendTestData.WriteSet(dir.Path, DataRole.Outputs, values); File.Move(dir.File("output_0.pb"), good); break;
            case "json": PolygraphyJson.WriteRunResults(good, [new RunnerResults("r", [values], [null])]); break;
        }
        var bytes = File.ReadAllBytes(good);
        File.WriteAllBytes(dir.File("cut." + kind), bytes[..(bytes.Length * 2 / 3)]);
        var r = Run("compare", good, dir.File("cut." + kind));
        AssertOneLineError(r, 2, "cut." + kind);
    }
}

public class InspectCommandTests
{
    [Fact]
    public void Data_shows_types_shapes_statistics_and_values()
    {
        var r = Run("inspect", "data", Path.Combine(TestPaths.Fixtures, "data", "mlp_inputs.npz"), "--values", "3");
        Assert.Equal(0, r.Code);
        Assert.Contains("x: float32 1x16 (16 elements)", r.Out);
        Assert.Matches(@"min -?[\d.]+, max [\d.]+, mean -?[\d.]+, std [\d.]+, median -?[\d.]+", r.Out);
        Assert.Matches(@"values: -?[\d.]+, -?[\d.]+, -?[\d.]+, \.\.\. \(13 more\)", r.Out);
    }

    [Fact]
    public void Model_lists_io_opsets_ops_initializers_external_data_and_what_ort_cannot_run()
    {
        var r = Run("inspect", "model", TestPaths.Model("external/mlp_external.onnx"), "--layers", "--attributes");
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("x: float32 [1, 16]", r.Out);
        Assert.Contains("opsets: ai.onnx 17", r.Out);
        Assert.Contains("nodes: 4 (Gemm 2, Relu 1, Softmax 1)", r.Out);
        Assert.Contains("external data files: mlp_external.onnx.data", r.Out);
        Assert.Contains("transB = 1", r.Out);
        Assert.Contains("ONNX Runtime's CPU provider can run every node", r.Out);
        var dir = Path.Combine(TestPaths.BackendData, "pytorch-converted", "test_PReLU_1d");
        Assert.True(Directory.Exists(dir), "libonnx-testdata is missing: ./setup.sh --test installs it");
        var bad = Run("inspect", "model", Path.Combine(dir, "model.onnx"));
        Assert.Contains("ONNX Runtime's CPU provider cannot run node #0 (unnamed) (PRelu): Could not find an implementation for PRelu(6) node with name '#0'", bad.Out);
    }
    [Fact]
    public void Model_whose_external_data_is_missing_is_described_and_said_to_be_broken()
    {
        using var dir = new TempDir();
        var copy = dir.File("mlp_external.onnx");
        File.Copy(TestPaths.Model("external/mlp_external.onnx"), copy); // without its .data file
        var r = Run("inspect", "model", copy);
        Assert.Equal(2, r.Code);
        Assert.Contains("nodes: 4 (Gemm 2, Relu 1, Softmax 1)", r.Out);
        Assert.Contains("external data files: mlp_external.onnx.data", r.Out);
        Assert.Contains("the graph is described below; its external weights were not read and ONNX Runtime's check is skipped", r.Err);
        Assert.Contains("polynet: error: ", r.Err);
        Assert.Contains("mlp_external.onnx.data", r.Err);
        Assert.DoesNotContain("   at ", r.Err);
    }
}
