using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using PolyNet.Onnx.Proto;
using PolyNet.Onnx.Transforms;
using Xunit;

namespace PolyNet.Onnx.Tests.Transforms;

public class Float16ConversionTests
{
    /// <summary>A back end with float16 kernels for the listed op types only.</summary>
    private sealed class Probe(params string[] native) : IKernelProbe
    {
        public List<string> Asked { get; } = [];
        public IReadOnlyList<ElementType>? OutputTypes(NodeProto node, IReadOnlyList<ElementType> inputTypes)
        {
            Asked.Add(node.OpType);
            if (!native.Contains(node.OpType) || inputTypes.Any(t => t == ElementType.Float)) return null;
            return node.Output.Select(_ => node.OpType == "Shape" ? ElementType.Int64 : ElementType.Float16).ToList();
        }
    }

    /// <summary>x → Relu → Exp(·+c) → y, plus Shape(x) → s; every tensor typed as ORT would infer.</summary>
    private static (OnnxModel Model, Dictionary<string, ValueSpec> Types) Chain()
    {
        var b = new ModelBuilder("chain", opset: 17);
        var x = b.Input("x", ElementType.Float, 2, 3);
        var c = b.Initializer("c", TensorData.Create<float>([3], 1f, 70000f, -1e6f));
        var r = b.Node("Relu", [x], name: "relu");
        var a = b.Node("Add", [r, c], name: "add");
        b.Node("Exp", [a], name: "exp", output: "y");
        b.Node("Shape", [x], name: "shape", output: "s");
        b.Output("y", ElementType.Float, 2, 3);
        b.Output("s", ElementType.Int64, 2);
        var types = new Dictionary<string, ValueSpec>();
        foreach (var n in new[] { "x", "c", "relu_out", "add_out", "y" }) types[n] = new ValueSpec(n, ValueKind.Tensor, ElementType.Float, null);
        types["s"] = new ValueSpec("s", ValueKind.Tensor, ElementType.Int64, null);
        return (b.BuildModel(), types);
    }

    private static NodeProto Node(GraphProto g, string name) => g.Node.Single(n => n.Name == name);

    [Fact]
    public void Native_nodes_read_and_write_float16_the_others_compute_in_float32_between_roundings()
    {
        var (model, types) = Chain();
        var probe = new Probe("Relu", "Shape");
        var r = Float16Conversion.Convert(model, types, probe);
        var g = r.Model.Graph;

        Assert.Equal(2, r.Native);
        Assert.Equal(["add", "exp"], r.Kept.Select(k => k.Name));
        Assert.All(r.Kept, k => Assert.Equal(Float16Mode.Float32Compute, k.Mode));
        // The interface is unchanged.
        Assert.Equal(["x"], g.Input.Select(i => i.Name));
        Assert.Equal((int)ElementType.Float, g.Input[0].Type.TensorType.ElemType);
        Assert.Equal(["y", "s"], g.Output.Select(o => o.Name));
        // Relu reads x cast to float16 and writes float16.
        Assert.Equal(["x__fp16"], Node(g, "relu").Input);
        Assert.Equal(["relu_out__fp16"], Node(g, "relu").Output);
        // Add computes in float32 on float16 values cast up, including the weight (rounded, clamped), and its output is rounded.
        Assert.Equal(["relu_out", "c"], Node(g, "add").Input);
        Assert.Equal(["add_out__fp32"], Node(g, "add").Output);
        var c = TensorProtos.ToTensorData(g.Initializer.Single(t => t.Name == "c"), "test").ToArray<float>();
        Assert.Equal([1f, 65504f, -65504f], c);
        Assert.Equal(2, r.ClampedWeights);
        Assert.Contains(g.Node, n => n.OpType == "Cast" && n.Input[0] == "add_out__fp32" && n.Output[0] == "add_out__fp16");
        Assert.Equal(["add_out"], Node(g, "exp").Input);
        // The graph output y is the float16 result cast back; Shape reads the float16 x and still outputs int64 s.
        Assert.Contains(g.Node, n => n.OpType == "Cast" && n.Input[0] == "y__fp16" && n.Output[0] == "y");
        Assert.Equal(["x__fp16"], Node(g, "shape").Input);
        Assert.Equal(["s"], Node(g, "shape").Output);
        Assert.Equal(1, g.Node.Count(n => n.Output.Contains("x__fp16")));
        // Every version is produced once.
        var produced = g.Node.SelectMany(n => n.Output).Concat(g.Initializer.Select(i => i.Name)).ToList();
        Assert.Equal(produced.Count, produced.Distinct().Count());
    }

    [Fact]
    public void Exposed_tensors_come_out_in_their_original_type_and_kept_ops_stay_float32_entirely()
    {
        var (model, types) = Chain();
        var r = Float16Conversion.Convert(model, types, new Probe("Relu", "Add", "Exp", "Shape"), expose: ["relu_out"], keepOpTypes: new HashSet<string> { "Exp" });
        var g = r.Model.Graph;
        Assert.Equal(["y", "s", "relu_out"], g.Output.Select(o => o.Name));
        Assert.Equal((int)ElementType.Float, g.Output[2].Type.TensorType.ElemType);
        Assert.Contains(g.Node, n => n.OpType == "Cast" && n.Input[0] == "relu_out__fp16" && n.Output[0] == "relu_out");
        var exp = Assert.Single(r.Kept);
        Assert.Equal(Float16Mode.Float32, exp.Mode);
        Assert.Equal(["add_out"], Node(g, "exp").Input);   // the float16 sum cast up
        Assert.Equal(["y"], Node(g, "exp").Output);        // written in float32, not rounded
        Assert.DoesNotContain(g.Node, n => n.Output.Contains("y__fp16"));
    }

    [Fact]
    public void Resize_scales_keep_their_exact_float32_values()
    {
        var b = new ModelBuilder("resize", opset: 17);
        var x = b.Input("x", ElementType.Float, 1, 1, 2, 2);
        var scales = b.Initializer("scales", TensorData.Create<float>([4], 1f, 1f, 1.0001f, 3f));
        b.Node("Resize", [x, "", scales], name: "resize", output: "y");
        b.Output("y", ElementType.Float, 1, 1, 2, 6);
        var types = new Dictionary<string, ValueSpec>
        {
            ["x"] = new("x", ValueKind.Tensor, ElementType.Float, null),
            ["scales"] = new("scales", ValueKind.Tensor, ElementType.Float, null),
            ["y"] = new("y", ValueKind.Tensor, ElementType.Float, null),
        };
        var g = Float16Conversion.Convert(b.BuildModel(), types, new Probe()).Model.Graph;
        var resize = Node(g, "resize");
        Assert.Equal("", resize.Input[1]);             // the empty optional input stays empty
        Assert.Equal("scales__exact", resize.Input[2]);
        Assert.Equal([1f, 1f, 1.0001f, 3f], TensorProtos.ToTensorData(g.Initializer.Single(t => t.Name == "scales__exact"), "t").ToArray<float>());
    }

    [Fact]
    public void A_weight_that_is_also_a_graph_input_stays_an_overridable_float32_default()
    {
        var b = new ModelBuilder("overridable", opset: 17);
        var x = b.Input("x", ElementType.Float, 3);
        var w = b.Initializer("w", TensorData.Create<float>([3], 1f, 2f, 3f));
        b.Graph.Input.Add(ModelBuilder.MakeValueInfo("w", ElementType.Float, [3L])); // older exporters list weights as inputs
        b.Node("Mul", [x, w], name: "mul", output: "y");
        b.Output("y", ElementType.Float, 3);
        var types = new[] { "x", "w", "y" }.ToDictionary(n => n, n => new ValueSpec(n, ValueKind.Tensor, ElementType.Float, null));
        var g = Float16Conversion.Convert(b.BuildModel(), types, new Probe("Mul")).Model.Graph;
        var init = Assert.Single(g.Initializer, t => t.Name == "w");
        Assert.Equal((int)ElementType.Float, init.DataType);
        Assert.Contains(g.Input, i => i.Name == "w");
        Assert.Equal(["x__fp16", "w__fp16"], Node(g, "mul").Input);
        Assert.Contains(g.Node, n => n.OpType == "Cast" && n.Input[0] == "w" && n.Output[0] == "w__fp16"); // a fed w is used
    }
}
