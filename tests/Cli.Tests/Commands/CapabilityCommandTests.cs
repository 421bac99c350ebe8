using System.Text.Json;
using PolyNet.Onnx;
using PolyNet.Tests;
using Xunit;
using static PolyNet.Cli.Tests.CliHarness;

namespace PolyNet.Cli.Tests.Commands;

/// <summary>`polynet inspect capability` and `surgeon extract --trt-partition`.</summary>
public class CapabilityCommandTests
{
    /// <summary>x → Relu → TopK(sorted = 0, unsupported by TensorRT) → Sigmoid → y.</summary>
    private static string Model(TempDir dir)
    {
        var b = new ModelBuilder(opset: 17);
        var x = b.Input("x", ElementType.Float, 1, 8);
        var r = b.Node("Relu", [x], name: "relu", output: "r");
        b.NodeMulti("TopK", [r, b.Initializer("k", TensorData.Create<long>([1], 3))], 2, new Dictionary<string, object> { ["sorted"] = 0L }, name: "unsorted_topk", outputs: ["top", "idx"]);
        b.Node("Sigmoid", ["top"], name: "sigmoid", output: "y");
        b.Output("y", ElementType.Float, 1, 3);
        var path = dir.File("m.onnx");
        b.BuildModel().Save(path);
        return path;
    }

    [Fact]
    public void Names_the_unsupported_node_and_the_engines_in_text_json_and_html()
    {
        using var dir = new TempDir();
        var model = Model(dir);
        var r = Run("inspect", "capability", model, "--json", dir.File("c.json"), "--report", dir.File("c.html"));
        Assert.True(r.Code == 0, r.Out + r.Err);
        Assert.Contains("2 engines, 1 of 3 nodes fall back to ONNX Runtime", r.Out);
        Assert.Contains("falls back to ONNX Runtime: unsorted_topk (TopK): sorted = 0: must be 1", r.Out);
        Assert.Contains("Not checked against TensorRT:", r.Out);
        using var json = JsonDocument.Parse(File.ReadAllText(dir.File("c.json")));
        var root = json.RootElement;
        Assert.Equal("10.15", root.GetProperty("tensorrt_version").GetString());
        Assert.Equal(2, root.GetProperty("partitions").GetArrayLength());
        Assert.Equal("unsorted_topk", root.GetProperty("unsupported")[0].GetProperty("name").GetString());
        Assert.False(root.GetProperty("tensorrt_check").GetProperty("available").GetBoolean());
        var html = File.ReadAllText(dir.File("c.html"));
        Assert.Contains("data-figure=\"partitions\"", html);
        Assert.Contains("unsorted_topk", html);

        var old = Run("inspect", "capability", model, "--trt-version", "8.5");
        Assert.Contains("TensorRT 8.5", old.Out);
        AssertOneLineError(Run("inspect", "capability", model, "--trt-version", "7.0"), 2, "8.5, 10.15");
    }

    [Fact]
    public void Surgeon_extract_writes_one_engine_as_its_own_model()
    {
        using var dir = new TempDir();
        var model = Model(dir);
        var r = Run("surgeon", "extract", model, "--trt-partition", "1", "-o", dir.File("e1.onnx"));
        Assert.True(r.Code == 0, r.Out + r.Err);
        var e1 = OnnxModel.Load(dir.File("e1.onnx"));
        Assert.Equal(["Sigmoid"], e1.Graph.Node.Select(n => n.OpType));
        Assert.Equal(["top"], e1.Inputs.Select(i => i.Name));
        AssertOneLineError(Run("surgeon", "extract", model, "--trt-partition", "2", "-o", dir.File("e2.onnx")), 2, "2 TensorRT engine(s)");
        AssertOneLineError(Run("surgeon", "extract", model, "--trt-partition", "0", "--outputs", "r", "-o", dir.File("e0.onnx")), 2, "--trt-partition");
    }
}
