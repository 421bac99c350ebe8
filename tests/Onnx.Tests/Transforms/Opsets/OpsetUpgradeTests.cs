using PolyNet.Onnx;
using PolyNet.Onnx.Proto;
using PolyNet.Onnx.Transforms.Opsets;
using Xunit;

namespace PolyNet.Onnx.Tests.Transforms.Opsets;

public class OpsetUpgradeTests
{
    private static Dictionary<string, object> A(params (string K, object V)[] a) => a.ToDictionary(x => x.K, x => x.V);
    private static string[] Ops(OnnxModel m) => m.Graph.Node.Select(n => n.OpType).ToArray();
    private static AttributeProto? Attr(NodeProto n, string name) => n.Attribute.FirstOrDefault(a => a.Name == name);
    private static long[] ConstInts(OnnxModel m, string name) => m.ReadTensor(m.Graph.Node.Single(n => n.Output[0] == name).Attribute[0].T).ToArray<long>();

    [Fact]
    public void Broadcast_with_an_axis_gets_trailing_axes_and_the_attributes_go()
    {
        var b = new ModelBuilder(opset: 6, irVersion: 3);
        var x = b.Input("x", ElementType.Float, 2, 3, 4, 5);
        var bias = b.Input("b", ElementType.Float, 3);
        b.Node("Add", [x, bias], A(("broadcast", 1L), ("axis", 1L)), name: "add", output: "y");
        b.Output("y", ElementType.Float, 2, 3, 4, 5);
        var r = OpsetUpgrade.Apply(b.BuildModel(), 13);

        Assert.Equal(["Constant", "Unsqueeze", "Add"], Ops(r.Model));
        var add = r.Model.Graph.Node[2];
        Assert.Empty(add.Attribute);
        var unsq = r.Model.Graph.Node[1];
        Assert.Equal(["b", r.Model.Graph.Node[0].Output[0]], unsq.Input);
        Assert.Equal([1L, 2L], ConstInts(r.Model, unsq.Input[1]));  // [3] → [3, 1, 1], which lines up with axis 1 of [2, 3, 4, 5]
        Assert.Equal(unsq.Output[0], add.Input[1]);
        Assert.Equal((6L, 13L, 3L, 7L), (r.FromOpset, r.ToOpset, r.FromIrVersion, r.ToIrVersion));
        Assert.Equal(13, r.Model.OpsetVersion());
        Assert.Contains(r.Changes, c => c.Version == 7 && c.OpType == "Add" && c.Nodes == 1);
        Assert.Contains(r.Changes, c => c.Version == 13 && c.OpType == "Unsqueeze");  // the Unsqueeze made at 7 crossed 13 too
    }

    [Fact]
    public void Broadcast_without_axis_and_a_scalar_need_no_new_nodes()
    {
        var b = new ModelBuilder(opset: 6, irVersion: 3);
        var x = b.Input("x", ElementType.Float, 2, 3);
        var c = b.Node("Constant", [], A(("value", TensorData.Scalar(1f))));
        b.Node("Mul", [x, c], A(("broadcast", 1L)), output: "y");
        b.Output("y", ElementType.Float, 2, 3);
        var r = OpsetUpgrade.Apply(b.BuildModel(), 7);
        Assert.Equal(["Constant", "Mul"], Ops(r.Model));
        Assert.Empty(r.Model.Graph.Node[1].Attribute);
    }

    [Fact]
    public void A_model_whose_ops_did_not_change_only_gets_new_numbers()
    {
        var b = new ModelBuilder(opset: 9, irVersion: 4);
        var x = b.Input("x", ElementType.Float, 2);
        b.Node("Relu", [x], output: "y");
        b.Output("y", ElementType.Float, 2);
        var r = OpsetUpgrade.Apply(b.BuildModel(), 17);
        Assert.True(r.OnlyVersionChanged);
        Assert.Equal((17L, 8L), (r.Model.OpsetVersion()!.Value, r.Model.Proto.IrVersion));
    }

    [Fact]
    public void Softmax_on_the_last_axis_stays_and_elsewhere_becomes_flatten_softmax_reshape()
    {
        var b = new ModelBuilder(opset: 12, irVersion: 7);
        var x = b.Input("x", ElementType.Float, 2, 3, 4);
        var last = b.Node("Softmax", [x], A(("axis", 2L)), name: "last");
        b.Node("LogSoftmax", [last], name: "mid", output: "y");  // default axis 1: flattens [2, 3, 4] to [2, 12]
        b.Output("y", ElementType.Float, 2, 3, 4);
        var r = OpsetUpgrade.Apply(b.BuildModel(), 13);
        Assert.Equal(["Softmax", "Flatten", "Shape", "LogSoftmax", "Reshape"], Ops(r.Model));
        Assert.Equal(2, Attr(r.Model.Graph.Node[0], "axis")!.I);
        Assert.Equal(1, Attr(r.Model.Graph.Node[1], "axis")!.I);
        Assert.Equal(-1, Attr(r.Model.Graph.Node[3], "axis")!.I);
        Assert.Equal("y", r.Model.Graph.Node[4].Output[0]);
        Assert.Equal([r.Model.Graph.Node[3].Output[0], r.Model.Graph.Node[2].Output[0]], r.Model.Graph.Node[4].Input);
    }

    [Fact]
    public void Upsample_becomes_resize_with_an_empty_roi_asymmetric_coordinates_and_floor_rounding()
    {
        var b = new ModelBuilder(opset: 7, irVersion: 3);
        var x = b.Input("x", ElementType.Float, 1, 1, 2, 2);
        b.Node("Upsample", [x], A(("scales", new[] { 1f, 1f, 2f, 2f })), name: "up", output: "y");
        b.Output("y", ElementType.Float, 1, 1, 4, 4);
        var r = OpsetUpgrade.Apply(b.BuildModel(), 11);
        var resize = r.Model.Graph.Node.Single(n => n.OpType == "Resize");
        Assert.Equal(3, resize.Input.Count);
        Assert.Equal("asymmetric", Attr(resize, "coordinate_transformation_mode")!.S.ToStringUtf8());
        Assert.Equal("floor", Attr(resize, "nearest_mode")!.S.ToStringUtf8());
        Assert.Equal([0L], r.Model.Graph.Node.Single(n => n.Output[0] == resize.Input[1]).Attribute[0].T.Dims);
        Assert.Equal([1f, 1f, 2f, 2f], r.Model.ReadTensor(r.Model.Graph.Node.Single(n => n.Output[0] == resize.Input[2]).Attribute[0].T).ToArray<float>());
        Assert.Equal([9L, 10L, 11L], r.Changes.Where(c => c.OpType is "Upsample" or "Resize").Select(c => c.Version));
    }

    [Fact]
    public void Attributes_that_became_inputs_move_into_constants_of_the_right_type()
    {
        var b = new ModelBuilder(opset: 9, irVersion: 4);
        var x = b.Input("x", ElementType.Double, 4, 6);
        var clip = b.Node("Clip", [x], A(("max", 6f)), name: "clip");
        var pad = b.Node("Pad", [clip], A(("pads", new long[] { 0, 1, 0, 1 }), ("value", 2f)), name: "pad");
        var slice = b.Node("Slice", [pad], A(("starts", new long[] { 1 }), ("ends", new long[] { 3 })), name: "slice");
        b.NodeMulti("TopK", [slice], 2, A(("k", 2L)), name: "topk");
        b.Output("topk_out0", ElementType.Double, 2, 2);
        var r = OpsetUpgrade.Apply(b.BuildModel(), 11);
        var g = r.Model.Graph;
        var c = g.Node.Single(n => n.OpType == "Clip");
        Assert.Equal(["x", "", c.Input[2]], c.Input);  // no min: an empty input
        var max = g.Node.Single(n => n.Output[0] == c.Input[2]).Attribute[0].T;
        Assert.Equal((int)ElementType.Double, max.DataType);
        var p = g.Node.Single(n => n.OpType == "Pad");
        Assert.Equal([0L, 1, 0, 1], ConstInts(r.Model, p.Input[1]));
        Assert.Equal([2.0], r.Model.ReadTensor(g.Node.Single(n => n.Output[0] == p.Input[2]).Attribute[0].T).ToArray<double>());
        var s = g.Node.Single(n => n.OpType == "Slice");
        Assert.Equal(3, s.Input.Count);
        Assert.Equal([2L], ConstInts(r.Model, g.Node.Single(n => n.OpType == "TopK").Input[1]));
        Assert.All(g.Node.Where(n => n.OpType != "Constant"), n => Assert.DoesNotContain(n.Attribute, a => a.Name is "min" or "max" or "pads" or "starts" or "ends" or "k"));
    }

    [Fact]
    public void What_cannot_be_converted_is_refused_in_one_message_naming_every_node()
    {
        var b = new ModelBuilder(opset: 8, irVersion: 3);
        var x = b.Input("x", ElementType.Float, 1, 3, 2, 2);
        var s = b.Input("s", ElementType.Float, 3);
        var bn = b.Node("BatchNormalization", [x, s, s, s, s], A(("spatial", 0L)), name: "bn_per_activation");
        b.Node("BatchNormalization", [bn, s, s, s, s], A(("spatial", 0L)), name: "bn_again", output: "y");
        b.Output("y", ElementType.Float, 1, 3, 2, 2);
        var model = b.BuildModel();
        var e = Assert.Throws<InvalidInputException>(() => OpsetUpgrade.Apply(model, 13));
        Assert.Contains("'bn_per_activation'", e.Message);
        Assert.Contains("'bn_again'", e.Message);
        Assert.Contains("spatial = 0", e.Message);
        Assert.DoesNotContain("\n", e.Message);
        Assert.Equal(8, model.OpsetVersion());  // the input model is untouched

        var c = new ModelBuilder(opset: 8, irVersion: 3);
        var cx = c.Input("x", ElementType.Float, 1, 3, 4, 4);
        c.Node("Crop", [cx], name: "old_crop", output: "y");
        c.Output("y", ElementType.Float, 1, 3, 2, 2);
        Assert.Equal(9, OpsetUpgrade.Apply(c.BuildModel(), 9).Model.OpsetVersion());  // Crop exists until opset 10
        var crop = Assert.Throws<InvalidInputException>(() => OpsetUpgrade.Apply(c.BuildModel(), 10));
        Assert.Contains("'old_crop'", crop.Message);
        Assert.Contains("experimental", crop.Message);
    }

    [Fact]
    public void Batch_norm_training_outputs_are_dropped_at_14_when_unread_and_refused_when_read()
    {
        foreach (var read in new[] { false, true })
        {
            var b = new ModelBuilder(opset: 7, irVersion: 3);
            var x = b.Input("x", ElementType.Float, 1, 2, 2, 2);
            var s = b.Initializer("s", TensorData.Create<float>([2], 1f, 1f));
            b.NodeMulti("BatchNormalization", [x, s, s, s, s], 3, name: "bn", outputs: ["y", "mean", "var"]);
            b.Output("y", ElementType.Float, 1, 2, 2, 2);
            if (read) b.Output("mean", ElementType.Float, 2);
            if (read)
                Assert.Contains("'mean'", Assert.Throws<InvalidInputException>(() => OpsetUpgrade.Apply(b.BuildModel(), 14)).Message);
            else
                Assert.Equal(["y"], OpsetUpgrade.Apply(b.BuildModel(), 14).Model.Graph.Node.Single().Output);
        }
    }

    [Fact]
    public void Targets_outside_the_change_log_and_downgrades_are_refused()
    {
        var b = new ModelBuilder(opset: 17);
        var x = b.Input("x", ElementType.Float, 2);
        b.Node("Relu", [x], output: "y");
        b.Output("y", ElementType.Float, 2);
        Assert.Contains("does not downgrade", Assert.Throws<InvalidInputException>(() => OpsetUpgrade.Apply(b.BuildModel(), 13)).Message);
        Assert.Contains("7 to 21", Assert.Throws<InvalidInputException>(() => OpsetUpgrade.Apply(b.BuildModel(), 99)).Message);
    }

    [Fact]
    public void Subgraphs_are_converted_with_the_outer_graphs_facts()
    {
        var inner = new ModelBuilder("then", opset: 12);
        inner.Node("Unsqueeze", ["x"], A(("axes", new long[] { 0 })), name: "inner_unsqueeze", output: "t");
        inner.Output("t", ElementType.Float, 1, 2);
        var b = new ModelBuilder(opset: 12, irVersion: 7);
        var x = b.Input("x", ElementType.Float, 2);
        var cond = b.Input("cond", ElementType.Bool);
        b.Node("If", [cond], A(("then_branch", inner.Graph), ("else_branch", inner.Graph)), output: "y");
        b.Output("y", ElementType.Float, 1, 2);
        var r = OpsetUpgrade.Apply(b.BuildModel(), 13);
        var then = Attr(r.Model.Graph.Node[0], "then_branch")!.G;
        Assert.Equal(["Constant", "Unsqueeze"], then.Node.Select(n => n.OpType));
        Assert.Equal(2, then.Node[1].Input.Count);
        Assert.Equal(2, r.Changes.Single(c => c.OpType == "Unsqueeze").Nodes);
    }

    [Fact]
    public void Legacy_attributes_are_renamed_dropped_or_retyped()
    {
        var b = new ModelBuilder(opset: 1, irVersion: 3);
        var x = b.Input("x", ElementType.Float, 2, 3);
        var pad = b.Node("Pad", [x], A(("paddings", new long[] { 0, 0, 0, 0 })), name: "pad");
        var relu = b.Node("Relu", [pad], A(("consumed_inputs", new long[] { 0 })), name: "relu");
        var cast = b.Node("Cast", [relu], A(("to", "DOUBLE")), name: "cast");
        var reshape = b.Node("Reshape", [cast], A(("shape", new long[] { 6 })), name: "reshape");
        b.Node("Concat", [reshape, reshape], name: "concat", output: "y");
        b.Output("y", ElementType.Double, 12);
        var r = OpsetUpgrade.Apply(b.BuildModel(), 7);
        var g = r.Model.Graph;
        Assert.NotNull(Attr(g.Node.Single(n => n.OpType == "Pad"), "pads"));
        Assert.Empty(g.Node.Single(n => n.OpType == "Relu").Attribute);
        Assert.Equal((long)ElementType.Double, Attr(g.Node.Single(n => n.OpType == "Cast"), "to")!.I);
        Assert.Equal([6L], ConstInts(r.Model, g.Node.Single(n => n.OpType == "Reshape").Input[1]));
        Assert.Equal(1, Attr(g.Node.Single(n => n.OpType == "Concat"), "axis")!.I);
    }

    [Fact]
    public void ImageScaler_becomes_mul_and_add_with_a_per_channel_bias()
    {
        var b = new ModelBuilder(opset: 8, irVersion: 3);
        var x = b.Input("x", ElementType.Float, 1, 3, 2, 2);
        b.Node("ImageScaler", [x], A(("scale", 0.5f), ("bias", new[] { 1f, 2f, 3f })), name: "scaler", output: "y");
        b.Output("y", ElementType.Float, 1, 3, 2, 2);
        var r = OpsetUpgrade.Apply(b.BuildModel(), 10);
        Assert.Equal(["Constant", "Mul", "Constant", "Add"], Ops(r.Model));
        Assert.Equal("y", r.Model.Graph.Node[3].Output[0]);
        Assert.Equal([1L, 3, 1, 1], r.Model.Graph.Node[2].Attribute[0].T.Dims);
    }
}
