using PolyNet.Onnx;
using PolyNet.Onnx.Proto;
using PolyNet.Runners;
using PolyNet.Runners.Ort;
using PolyNet.Runners.Specs;
using PolyNet.Tests;
using Xunit;
using static PolyNet.Cli.Tests.CliHarness;

namespace PolyNet.Cli.Tests.Commands;

public class SurgeonCommandTests
{
    private static ValueMap RunModel(OnnxModel m, ValueMap feeds, params string[] extra)
    {
        using var r = RunnerRegistry.Create(RunnerSpec.Parse("onnxrt"), new RunnerContext { Model = m, ExtraOutputs = extra });
        r.Activate();
        return r.Infer(feeds);
    }

    [Fact]
    public void Extract_keeps_only_what_computes_the_outputs_from_the_new_inputs()
    {
        using var dir = new TempDir();
        var r = Run("surgeon", "extract", TestPaths.Model("mlp.onnx"), "--inputs", "relu1_out", "--outputs", "logits", "-o", dir.File("tail.onnx"));
        Assert.True(r.Code == 0, r.Out + r.Err);
        var tail = OnnxModel.Load(dir.File("tail.onnx"));
        Assert.Equal(["Gemm"], tail.Graph.Node.Select(n => n.OpType));
        Assert.Equal(["fc2.weight", "fc2.bias"], tail.Graph.Initializer.Select(i => i.Name).Order().Reverse());
        var input = Assert.Single(tail.Inputs);
        Assert.Equal("relu1_out: float32 [1, 32]", input.ToString()); // the type and shape came from ORT's inference
        // Fed the original's intermediate values, the tail computes the original's outputs.
        var full = OnnxModel.Load(TestPaths.Model("mlp.onnx"));
        var feeds = new ValueMap { { "x", TensorData.Create<float>([1, 16], Enumerable.Range(0, 16).Select(i => i / 16f).ToArray()) } };
        var original = RunModel(full, feeds, "relu1_out");
        var cut = RunModel(tail, new ValueMap { { "relu1_out", original["relu1_out"] } });
        Assert.Equal(original.Tensor("logits").ToArray<float>(), cut.Tensor("logits").ToArray<float>());
    }

    [Fact]
    public void Extract_carries_subgraphs_with_the_outer_tensors_they_read_and_keeps_empty_optional_inputs()
    {
        using var dir = new TempDir();
        var b = new ModelBuilder("branchy", opset: 17);
        var x = b.Input("x", ElementType.Float, 1, 1, 2, 2);
        var cond = b.Input("cond", ElementType.Bool);
        var r = b.Node("Relu", [x], name: "relu", output: "r");
        var thenBranch = new GraphProto { Name = "then", Node = { new NodeProto { OpType = "Identity", Input = { "r" }, Output = { "t" } } }, Output = { ModelBuilder.MakeValueInfo("t", ElementType.Float, [1, 1, 2, 2]) } };
        var elseBranch = new GraphProto { Name = "else", Node = { new NodeProto { OpType = "Neg", Input = { "r" }, Output = { "e" } } }, Output = { ModelBuilder.MakeValueInfo("e", ElementType.Float, [1, 1, 2, 2]) } };
        var chosen = b.Node("If", [cond], new Dictionary<string, object> { ["then_branch"] = thenBranch, ["else_branch"] = elseBranch }, name: "choose", output: "chosen");
        var scales = b.Initializer("scales", TensorData.Create<float>([4], 1f, 1f, 2f, 2f));
        b.Node("Resize", [chosen, "", scales], name: "up", output: "y");
        b.Node("Sigmoid", [x], name: "unused", output: "side");
        b.Output("y", ElementType.Float, 1, 1, 4, 4);
        b.Output("side", ElementType.Float, 1, 1, 2, 2);
        b.BuildModel().Save(dir.File("m.onnx"));

        var all = Run("surgeon", "extract", dir.File("m.onnx"), "--outputs", "y", "-o", dir.File("y.onnx"));
        Assert.True(all.Code == 0, all.Out + all.Err);
        var y = OnnxModel.Load(dir.File("y.onnx"));
        Assert.Equal(["Relu", "If", "Resize"], y.Graph.Node.Select(n => n.OpType)); // the If's body reads r, so Relu stays; Sigmoid goes
        Assert.Equal("", y.Graph.Node[2].Input[1]);
        Assert.Equal(["x", "cond"], y.Inputs.Select(i => i.Name));

        var cut = Run("surgeon", "extract", dir.File("m.onnx"), "--inputs", "r:1x1x2x2:float32", "cond", "--outputs", "y", "-o", dir.File("cut.onnx"));
        Assert.True(cut.Code == 0, cut.Out + cut.Err);
        var c = OnnxModel.Load(dir.File("cut.onnx"));
        Assert.Equal(["If", "Resize"], c.Graph.Node.Select(n => n.OpType));
        var outs = RunModel(c, new ValueMap { { "r", TensorData.Create<float>([1, 1, 2, 2], 1f, 2f, 3f, 4f) }, { "cond", TensorData.Scalar(false) } });
        Assert.Equal([1, 1, 4, 4], outs.Tensor("y").Shape.ToArray());
        Assert.Equal(-1f, outs.Tensor("y").ToArray<float>()[0]);
    }

    [Theory]
    [InlineData(new[] { "--outputs", "logit" }, "no tensor named 'logit' (did you mean 'logits'?)")]
    [InlineData(new[] { "--inputs", "x", "--outputs", "fc1_out", "--inputs", "relu1_out" }, "input 'relu1_out' is not needed to compute 'fc1_out'")]
    [InlineData(new[] { "--inputs", "relu1_out:1x3y" }, "no tensor named 'relu1_out:1x3y'")]
    public void Bad_extractions_are_one_line_errors(string[] args, string message)
    {
        using var dir = new TempDir();
        AssertOneLineError(Run(["surgeon", "extract", TestPaths.Model("mlp.onnx"), "-o", dir.File("o.onnx"), .. args]), 2, message);
        Assert.False(File.Exists(dir.File("o.onnx")));
    }

    [Fact]
    public void Sanitize_removes_dead_nodes_folds_constants_and_overrides_shapes()
    {
        using var dir = new TempDir();
        var b = new ModelBuilder("messy", opset: 17);
        var x = b.Input("x", ElementType.Float, "batch", 4);
        var c = b.Node("Constant", [], new Dictionary<string, object> { ["value"] = TensorData.Create<float>([4], 1f, 2f, 3f, 4f) }, name: "c", output: "c");
        var two = b.Initializer("two", TensorData.Scalar(2f));
        var folded = b.Node("Mul", [c, two], name: "double_c", output: "c2");
        var shape = b.Node("Shape", [x], name: "shape_of_x", output: "sx");
        b.Node("Relu", [x], name: "dead", output: "nobody_reads_this");
        b.Initializer("unused", TensorData.Scalar(7f));
        var y = b.Node("Add", [x, folded], name: "add", output: "y");
        b.Output("y", ElementType.Float, "batch", 4);
        b.Output("sx", ElementType.Int64, 2);
        b.BuildModel().Save(dir.File("m.onnx"));

        var plain = Run("surgeon", "sanitize", dir.File("m.onnx"), "-o", dir.File("clean.onnx"));
        Assert.True(plain.Code == 0, plain.Out + plain.Err);
        Assert.Contains("cleanup: removed 1 node(s) no output depends on, 1 unused initializer(s)", plain.Out);
        Assert.DoesNotContain(OnnxModel.Load(dir.File("clean.onnx")).Graph.Node, n => n.Name == "dead");

        // Folding alone leaves dead nodes to --cleanup, but drops the initializers only folded nodes read.
        var only = Run("surgeon", "sanitize", dir.File("m.onnx"), "--fold-constants", "-o", dir.File("only.onnx"));
        Assert.True(only.Code == 0, only.Out + only.Err);
        var om = OnnxModel.Load(dir.File("only.onnx"));
        Assert.Contains(om.Graph.Node, n => n.Name == "dead");
        Assert.DoesNotContain(om.Graph.Initializer, t => t.Name == "two");
        Assert.Contains(om.Graph.Initializer, t => t.Name == "unused");

        var fold = Run("surgeon", "sanitize", dir.File("m.onnx"), "--fold-constants", "--cleanup", "--override-input-shapes", "x:3x4", "-o", dir.File("folded.onnx"));
        Assert.True(fold.Code == 0, fold.Out + fold.Err);
        var m = OnnxModel.Load(dir.File("folded.onnx"));
        Assert.Equal(["Add"], m.Graph.Node.Select(n => n.OpType)); // Constant, Mul and Shape folded (x's shape is now known), Relu gone
        Assert.Equal("x: float32 [3, 4]", m.Inputs[0].ToString());
        Assert.Equal([2f, 4f, 6f, 8f], m.ReadTensor(m.Graph.Initializer.Single(i => i.Name == "c2")).ToArray<float>());
        Assert.Equal([3L, 4L], m.ReadTensor(m.Graph.Initializer.Single(i => i.Name == "sx")).ToArray<long>());
        Assert.Equal("y: float32 [3, 4]", m.Outputs[0].ToString());
        var outs = RunModel(m, new ValueMap { { "x", TensorData.Create<float>([3, 4], new float[12]) } });
        Assert.Equal([2f, 4f, 6f, 8f], outs.Tensor("y").ToArray<float>()[..4]);
    }
}
