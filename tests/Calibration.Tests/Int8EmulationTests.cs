using PolyNet.Calibration;
using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using Xunit;

namespace PolyNet.Calibration.Tests;

public class Int8EmulationTests
{
    // x [1,4] → MatMul W [4,3] → h → Relu → r → Add bias → y (graph output)
    private static OnnxModel Model(long opset = 17)
    {
        var b = new ModelBuilder("m", opset);
        b.Input("x", ElementType.Float, 1, 4);
        b.Initializer("W", TensorData.Create<float>([4, 3], [1, -2, 0.5f, 2, 4, -0.25f, -3, 1, 0.125f, 0.5f, 0, 1]));
        b.Initializer("bias", TensorData.Create<float>([3], [0, 0, 0]));
        b.Node("MatMul", ["x", "W"], name: "mm", output: "h");
        b.Node("Relu", ["h"], name: "relu", output: "r");
        b.Node("Add", ["r", "bias"], name: "add", output: "y");
        b.Output("y", ElementType.Float, 1, 3);
        return b.BuildModel();
    }

    private static readonly HashSet<string> Floats = ["x", "h", "r", "y"];

    private static CalibrationCache Cache(params (string, uint)[] e) =>
        new() { Version = new TrtVersion(100300), Algorithm = "EntropyCalibration2", Entries = e.Select(x => new CacheEntry(x.Item1, x.Item2)).ToList() };

    [Fact]
    public void Quantize_dequantize_pairs_sit_between_each_tensor_and_its_readers()
    {
        var cache = Cache(("x", 0x3c010204), ("h", 0x3d000000), ("r", 0), ("y", 0x3c010204), ("nope", 0x3c010204));
        var res = Int8Emulation.Apply(Model(), cache, Floats);
        Assert.Equal(["x", "h"], res.Quantized);
        Assert.Equal(1, res.Weights);
        Assert.Contains(res.Skipped, s => s.StartsWith("r: scale 0", StringComparison.Ordinal));
        Assert.Contains(res.Skipped, s => s.StartsWith("y: read by no node", StringComparison.Ordinal));
        Assert.Contains(res.Skipped, s => s.StartsWith("nope: not a float tensor", StringComparison.Ordinal));

        var g = res.Model.Graph;
        var byOut = g.Node.ToDictionary(n => n.Output[0]);
        var q = byOut["x__int8"];
        Assert.Equal("QuantizeLinear", q.OpType);
        Assert.Equal(["x", "x__int8_scale", "x__int8_zero"], q.Input);
        Assert.Equal("DequantizeLinear", byOut["x__dq"].OpType);
        Assert.Equal(["x__dq", "W__dq"], byOut["h"].Input);   // MatMul reads quantized x and quantized weights
        Assert.Equal(["h__dq"], byOut["r"].Input);            // Relu reads quantized h
        Assert.Equal(["r", "bias"], byOut["y"].Input);         // r had scale 0: left float
        Assert.Equal("y", Assert.Single(g.Output).Name);       // outputs untouched
        var inits = g.Initializer.ToDictionary(t => t.Name);
        Assert.Equal(1f / 127f, res.Model.ReadTensor(inits["x__int8_scale"]).Span<float>()[0]);
        Assert.Equal(ElementType.Int8, (ElementType)inits["x__int8_zero"].DataType);
        Assert.Equal(0, res.Model.ReadTensor(inits["x__int8_zero"]).Span<sbyte>()[0]);
        // Topological order: every input is a graph input, an initializer or made by an earlier node.
        var known = new HashSet<string>(g.Input.Select(i => i.Name).Concat(inits.Keys));
        foreach (var n in g.Node)
        {
            foreach (var i in n.Input) Assert.True(known.Contains(i), $"{n.Name} reads {i} before it is made");
            foreach (var o in n.Output) known.Add(o);
        }
    }

    [Fact]
    public void MatMul_weights_are_quantized_per_output_column()
    {
        var res = Int8Emulation.Apply(Model(), Cache(("x", 0x3c010204)), Floats);
        var g = res.Model.Graph;
        var inits = g.Initializer.ToDictionary(t => t.Name);
        var scales = res.Model.ReadTensor(inits["W__int8_scales"]).Span<float>().ToArray();
        Assert.Equal([3f / 127f, 4f / 127f, 1f / 127f], scales); // max |w| of each column
        var q = res.Model.ReadTensor(inits["W__int8"]).Span<sbyte>().ToArray();
        Assert.Equal([42, -64, 64, 85, 127, -32, -127, 32, 16, 21, 0, 127], q.Select(v => (int)v));
        var dq = g.Node.Single(n => n.Output[0] == "W__dq");
        Assert.Equal(1, dq.Attribute.Single(a => a.Name == "axis").I);
        Assert.Equal([4L, 3L], inits["W__int8"].Dims);
    }

    [Fact]
    public void Weights_can_stay_float_and_old_opsets_quantize_them_per_tensor()
    {
        var cache = Cache(("x", 0x3c010204), ("h", 0x3d000000));
        var floatWeights = Int8Emulation.Apply(Model(), cache, Floats, weights: false);
        Assert.Equal(["x", "h"], floatWeights.Quantized);
        Assert.Equal(0, floatWeights.Weights);
        Assert.Equal(["x__dq", "W"], floatWeights.Model.Graph.Node.Single(n => n.Output[0] == "h").Input);
        var old = Int8Emulation.Apply(Model(opset: 12), cache, Floats);
        Assert.False(old.PerChannel); // DequantizeLinear has an axis from opset 13: one scale for the tensor before
        Assert.Equal(1, old.Weights);
        var inits = old.Model.Graph.Initializer.ToDictionary(t => t.Name);
        Assert.Equal(4f / 127f, old.Model.ReadTensor(inits["W__int8_scales"]).Span<float>()[0]);
        Assert.Empty(inits["W__int8_scales"].Dims);
        Assert.DoesNotContain(old.Model.Graph.Node.Single(n => n.Output[0] == "W__dq").Attribute, a => a.Name == "axis");
        var e = Assert.Throws<InvalidInputException>(() => Int8Emulation.Apply(Model(opset: 9), cache, Floats));
        Assert.Contains("opset 10 or later", e.Message);
    }

    [Fact]
    public void Added_names_never_collide_with_the_graphs_own()
    {
        var b = new ModelBuilder("m", 17);
        b.Input("x", ElementType.Float, 1, 4);
        b.Initializer("x__int8_scale", TensorData.Scalar(3f));
        b.Node("Mul", ["x", "x__int8_scale"], name: "x__quantize", output: "x__dq");
        b.Node("Relu", ["x__dq"], name: "relu", output: "y");
        b.Output("y", ElementType.Float, 1, 4);
        var res = Int8Emulation.Apply(b.BuildModel(), Cache(("x", 0x3c010204)), new HashSet<string> { "x", "x__dq", "y" });
        var g = res.Model.Graph;
        Assert.Equal(g.Initializer.Count, g.Initializer.Select(t => t.Name).Distinct().Count());
        var outputs = g.Node.SelectMany(n => n.Output).ToList();
        Assert.Equal(outputs.Count, outputs.Distinct().Count());
        Assert.Equal(g.Node.Count, g.Node.Select(n => n.Name).Distinct().Count());
        var mul = g.Node.Single(n => n.OpType == "Mul");
        Assert.Equal("x__int8_scale", mul.Input[1]);              // the model's own initializer, untouched
        Assert.Equal("DequantizeLinear", g.Node.Single(n => n.Output[0] == mul.Input[0]).OpType);
    }

    [Fact]
    public void A_batched_MatMul_weight_is_quantized_along_its_last_axis()
    {
        var b = new ModelBuilder("m", 17);
        b.Input("x", ElementType.Float, 2, 1, 2);
        b.Initializer("W", TensorData.Create<float>([2, 2, 3], [1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -12]));
        b.Node("MatMul", ["x", "W"], name: "mm", output: "y");
        b.Output("y", ElementType.Float, 2, 1, 3);
        var res = Int8Emulation.Apply(b.BuildModel(), Cache(("x", 0x3c010204)), new HashSet<string> { "x", "y" });
        var inits = res.Model.Graph.Initializer.ToDictionary(t => t.Name);
        Assert.Equal([4f / 127f, 5f / 127f, 12f / 127f], res.Model.ReadTensor(inits["W__int8_scales"]).Span<float>().ToArray());
        Assert.Equal(2, res.Model.Graph.Node.Single(n => n.Output[0] == "W__dq").Attribute.Single(a => a.Name == "axis").I);
    }

    [Fact]
    public void A_selector_input_switches_one_tensors_quantization()
    {
        var cache = Cache(("x", 0x3c010204), ("h", 0x3d000000));
        foreach (var quantizes in new[] { true, false })
        {
            var res = Int8Emulation.Apply(Model(), cache, Floats, weights: false, selector: "sel", selectQuantizes: quantizes);
            var g = res.Model.Graph;
            Assert.Equal(ElementType.Int64, (ElementType)g.Input.Single(i => i.Name == "sel").Type.TensorType.ElemType);
            var byOut = g.Node.ToDictionary(n => n.Output[0]);
            // Relu reads h through Where(sel == 1, h quantized, h) (or the two swapped: quantized unless selected).
            var where = byOut[byOut["r"].Input[0]];
            Assert.Equal("Where", where.OpType);
            Assert.Equal(quantizes ? ["h__int8_chosen", "h__dq", "h"] : ["h__int8_chosen", "h", "h__dq"], where.Input);
            var eq = byOut["h__int8_chosen"];
            Assert.Equal(["sel", "h__int8_index"], eq.Input);
            Assert.Equal(1L, res.Model.ReadTensor(g.Initializer.Single(t => t.Name == "h__int8_index")).Span<long>()[0]);
        }
    }

    [Fact]
    public void Bodies_read_cached_tensors_through_their_own_pairs_their_own_and_outer_ones_alike()
    {
        var model = PolyNet.Tests.Graphs.WithIf();
        var q = Int8Emulation.Apply(model, Cache(("x", 0x3c010204), ("then_shift_out", 0x3e000000)), new HashSet<string>(["x", "then_shift_out", "chosen", "y"]));
        Assert.Equal(["x", "then_shift_out"], q.Quantized);
        var then = q.Model.Graph.Node.Single(n => n.OpType == "If").Attribute.Single(a => a.Name == "then_branch").G;
        // The branch reads the outer x and its own then_shift_out through pairs of its own.
        Assert.Equal("x__dq", then.Node.Single(n => n.Name == "then_scale").Input[0]);
        Assert.Equal("then_shift_out__dq", then.Node.Single(n => n.Name == "then_exp").Input[0]);
        Assert.Equal(2, then.Node.Count(n => n.OpType == "QuantizeLinear"));
        var otherwise = q.Model.Graph.Node.Single(n => n.OpType == "If").Attribute.Single(a => a.Name == "else_branch").G;
        Assert.Equal("x__dq_1", otherwise.Node.Single(n => n.Name == "else_neg").Input[0]);
        // Names stay unique across scopes, and each body is in an order its values allow.
        var names = PolyNet.Onnx.ModelWalker.GraphAndSubgraphs(q.Model.Graph).SelectMany(g => g.Node.SelectMany(n => n.Output)).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
    }
}
