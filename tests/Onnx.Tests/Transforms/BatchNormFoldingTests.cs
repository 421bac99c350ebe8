using PolyNet.Onnx;
using PolyNet.Onnx.Proto;
using PolyNet.Onnx.Transforms;
using Xunit;

namespace PolyNet.Onnx.Tests.Transforms;

public class BatchNormFoldingTests
{
    /// <summary>x → Conv(w, bias) → BatchNormalization → Relu → y, two output channels.</summary>
    private static OnnxModel ConvBn(bool withBias = true, bool convOutputIsGraphOutput = false)
    {
        var b = new ModelBuilder("conv_bn", opset: 17);
        var x = b.Input("x", ElementType.Float, 1, 1, 2, 2);
        var w = b.Initializer("w", TensorData.Create<float>([2, 1, 1, 1], 2f, -3f));
        var inputs = withBias ? new[] { x, w, b.Initializer("bias", TensorData.Create<float>([2], 0.5f, 1f)) } : new[] { x, w };
        var conv = b.Node("Conv", inputs, name: "conv");
        b.Node("BatchNormalization", [conv, b.Initializer("gamma", TensorData.Create<float>([2], 3f, 1f)), b.Initializer("beta", TensorData.Create<float>([2], 1f, -1f)),
            b.Initializer("mean", TensorData.Create<float>([2], 0.25f, 2f)), b.Initializer("var", TensorData.Create<float>([2], 1e8f, 4f))],
            new Dictionary<string, object> { ["epsilon"] = 0f }, name: "bn", output: "bn_out");
        b.Node("Relu", ["bn_out"], name: "relu", output: "y");
        b.Output("y", ElementType.Float, 1, 2, 2, 2);
        if (convOutputIsGraphOutput) b.Output("conv_out", ElementType.Float, 1, 2, 2, 2);
        return b.BuildModel();
    }

    private static float[] Init(OnnxModel m, string name) => m.ReadTensor(m.Graph.Initializer.Single(t => t.Name == name)).ToArray<float>();

    [Fact]
    public void A_batch_norm_after_a_conv_is_folded_into_its_weights_and_bias_in_float32()
    {
        var r = BatchNormFolding.Apply(ConvBn(), _ => 4);
        Assert.Equal((1, 0), (r.Folded, r.Scaled));
        Assert.Equal(["conv_out"], r.FusedAway);
        var g = r.Model.Graph;
        Assert.Equal(["Conv", "Relu"], g.Node.Select(n => n.OpType));
        var conv = g.Node[0];
        Assert.Equal("bn_out", conv.Output[0]);
        // s = gamma / sqrt(var): 3 / 1e4 and 1 / 2; bias' = (bias - mean) * s + beta.
        Assert.Equal([2f * 3e-4f, -3f * 0.5f], Init(r.Model, conv.Input[1]), new Tol(1e-9f));
        Assert.Equal([(0.5f - 0.25f) * 3e-4f + 1f, (1f - 2f) * 0.5f - 1f], Init(r.Model, conv.Input[2]), new Tol(1e-7f));
    }

    [Fact]
    public void A_conv_without_bias_gets_one_and_a_conv_output_others_read_is_not_folded_into()
    {
        var r = BatchNormFolding.Apply(ConvBn(withBias: false), _ => 4);
        Assert.Equal(3, r.Model.Graph.Node[0].Input.Count);
        Assert.Equal([-0.25f * 3e-4f + 1f, -2f * 0.5f - 1f], Init(r.Model, r.Model.Graph.Node[0].Input[2]), new Tol(1e-7f));
        // The Conv's output is a graph output too: the BatchNormalization becomes a scale and a shift instead.
        var kept = BatchNormFolding.Apply(ConvBn(convOutputIsGraphOutput: true), _ => 4);
        Assert.Equal((0, 1), (kept.Folded, kept.Scaled));
        Assert.Equal(["Conv", "Mul", "Add", "Relu"], kept.Model.Graph.Node.Select(n => n.OpType));
        Assert.Equal([2L, 1, 1], kept.Model.Graph.Initializer.Single(t => t.Name == "bn__bn_scale").Dims);
        Assert.Equal([3e-4f, 0.5f], Init(kept.Model, "bn__bn_scale"), new Tol(1e-9f));
    }

    [Fact]
    public void Engine_fusion_keeps_conv_bias_and_activation_unrounded_between_them()
    {
        var b = new ModelBuilder("fused", opset: 17);
        var x = b.Input("x", ElementType.Float, 1, 4);
        var mm = b.Node("MatMul", [x, b.Initializer("w", TensorData.Create<float>([4, 4], new float[16]))], name: "mm");
        var add = b.Node("Add", [mm, b.Initializer("bias", TensorData.Create<float>([4], new float[4]))], name: "add");
        var relu = b.Node("Relu", [add], name: "relu");
        var twice = b.Node("Add", [relu, relu], name: "twice");
        b.Node("Sigmoid", [twice], name: "sig", output: "y");
        b.Output("y", ElementType.Float, 1, 4);
        var model = b.BuildModel();
        var view = new GraphView(model.Graph);
        Assert.Equal(["add_out", "mm_out"], Float16Engine.FusedEdges(model.Graph, view, _ => true).Order(StringComparer.Ordinal));
        var types = model.Graph.Node.SelectMany(n => n.Output).Concat(["x", "w", "bias"]).ToDictionary(n => n, n => new ValueSpec(n, ValueKind.Tensor, ElementType.Float, null));
        var engine = Float16Conversion.Convert(model, types, new NoKernels(), engine: true).Model.Graph;
        // Inside the fused kernel the Add and the Relu read the float32 result itself; after it, values are float16 again.
        Assert.Contains("mm_out__fp32", engine.Node.Single(n => n.Name == "add").Input);
        Assert.Contains("add_out__fp32", engine.Node.Single(n => n.Name == "relu").Input);
        Assert.DoesNotContain(engine.Node.Single(n => n.Name == "twice").Input, i => i.EndsWith("__fp32", StringComparison.Ordinal));
        var naive = Float16Conversion.Convert(model, types, new NoKernels()).Model.Graph;
        Assert.DoesNotContain(naive.Node.Single(n => n.Name == "add").Input, i => i.EndsWith("__fp32", StringComparison.Ordinal));
    }

    private sealed class NoKernels : IKernelProbe
    {
        public IReadOnlyList<ElementType>? OutputTypes(NodeProto node, IReadOnlyList<ElementType> inputTypes) => null;
    }

    private sealed class Tol(float eps) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= eps;
        public int GetHashCode(float v) => 0;
    }
}
