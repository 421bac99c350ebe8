using PolyNet.Onnx;
using PolyNet.Onnx.Proto;
using PolyNet.Runners.Inspect.TensorRt;
using Xunit;

namespace PolyNet.Runners.Tests.Inspect.TensorRt;

public class TrtSupportMatrixTests
{
    public static TheoryData<string> Versions => new(TrtSupportMatrix.Versions);

    private static readonly Dictionary<string, ElementType> TokenTypes = new()
    {
        ["FP32"] = ElementType.Float, ["FP16"] = ElementType.Float16, ["BF16"] = ElementType.BFloat16, ["INT32"] = ElementType.Int32,
        ["INT64"] = ElementType.Int64, ["INT8"] = ElementType.Int8, ["BOOL"] = ElementType.Bool, ["FP8"] = ElementType.Float8E4M3FN, ["INT4"] = ElementType.Int4,
    };

    [Fact]
    public void The_encoded_versions_are_8_5_and_10_15_and_the_newest_is_the_default()
    {
        Assert.Equal(["8.5", "10.15"], TrtSupportMatrix.Versions);
        Assert.Equal("10.15", TrtSupportMatrix.For().Version);
        Assert.Contains("8.5, 10.15", Assert.Throws<InvalidInputException>(() => TrtSupportMatrix.For("9.9")).Message);
        var m = TrtSupportMatrix.For("10.15");
        Assert.Equal((9L, 24L), (m.MinOpset!.Value, m.MaxOpset!.Value));
        Assert.Null(TrtSupportMatrix.For("8.5").MinOpset);
        Assert.Contains("fa5aa9f61e7781d2ca8f5351d42c1f19525a6124", m.Source);
        // Spot checks against docs/operators.md as published.
        Assert.True(m.Ops["NonMaxSuppression"].Supported);
        Assert.False(m.Ops["QLinearConv"].Supported);
        Assert.False(m.Ops["Unique"].Supported);
        Assert.Equal(["BOOL"], m.Ops["Not"].Types);
        Assert.Equal(158, m.Ops.Values.Count(o => o.Supported));
        Assert.Equal(142, TrtSupportMatrix.For("8.5").Ops.Values.Count(o => o.Supported));
    }

    /// <summary>Every row of every table, as one node with no attributes: supported rows pass with a listed type and fail with an unlisted one; rows marked N fail on the op.</summary>
    [Theory]
    [MemberData(nameof(Versions))]
    public void Every_row_of_the_table_decides_a_single_node_as_it_says(string version)
    {
        var m = TrtSupportMatrix.For(version);
        foreach (var row in m.Ops.Values)
        {
            var listed = row.Types.Select(t => TokenTypes.GetValueOrDefault(t)).FirstOrDefault(t => t != ElementType.Undefined);
            var verdict = One(m, row.Op, listed == ElementType.Undefined ? ElementType.Float : listed);
            if (!row.Supported)
            {
                Assert.False(verdict.Supported, $"{version} {row.Op}");
                Assert.Contains($"not supported by TensorRT {version}", verdict.Reasons[0]);
                continue;
            }
            Assert.True(verdict.Supported, $"{version} {row.Op}: {string.Join("; ", verdict.Reasons)}");
            if (row.Types.Count > 0 && !row.Types.Contains("INT16"))
            {
                var wrong = One(m, row.Op, ElementType.Int16);
                Assert.False(wrong.Supported, $"{version} {row.Op} took int16");
                Assert.Contains("int16", wrong.Reasons[0]);
            }
        }
        var unknown = One(m, "NoSuchOp", ElementType.Float);
        Assert.Contains("not in TensorRT", unknown.Reasons[0]);
    }

    /// <summary>No rule is dead (each one's phrase is in a table for one of its ops), and every restriction sentence of every table is checked by a rule or listed as not decidable from the graph.</summary>
    [Fact]
    public void Every_restriction_sentence_is_a_rule_or_listed_as_not_statically_checkable()
    {
        var tables = TrtSupportMatrix.Versions.Select(v => TrtSupportMatrix.For(v)).ToList();
        foreach (var rule in TrtRules.All)
            Assert.True(tables.Any(t => rule.Ops.Any(op => t.Ops.TryGetValue(op, out var r) && r.Restrictions.Contains(rule.Phrase, StringComparison.Ordinal))), $"rule '{rule.Phrase}' matches no table");
        foreach (var t in tables)
            foreach (var row in t.Ops.Values.Where(r => r.Supported && r.Restrictions.Length > 0))
                foreach (var sentence in System.Text.RegularExpressions.Regex.Split(row.Restrictions, @"(?<=\.) ").Select(s => s.Trim().TrimEnd('.')))
                    Assert.True(TrtRules.All.Any(r => r.Ops.Contains(row.Op) && (sentence.Contains(r.Phrase, StringComparison.Ordinal) || r.Phrase.Contains(sentence, StringComparison.Ordinal)))
                        || TrtRules.NotStaticallyCheckable.Any(p => sentence.Contains(p, StringComparison.Ordinal)), $"TensorRT {t.Version} {row.Op}: '{sentence}' is checked by no rule");
    }

    internal static TrtNodeVerdict One(TrtSupportMatrix m, string op, ElementType type, Dictionary<string, object>? attrs = null, long[]? shape = null)
    {
        var b = new ModelBuilder(opset: 17);
        var x = b.Input("x", type, 2, 3);
        b.Node(op, [x], attrs, name: "n", output: "y");
        b.OutputUnknownShape("y", type);
        // Shape unknown: rules on ranks and dimensions cannot decide, so only the op, its type and its attributes count.
        var types = new Dictionary<string, ValueSpec>
        {
            ["x"] = new("x", ValueKind.Tensor, type, shape is null ? null : new SymbolicShape(shape.Select(SymbolicDim.Fixed).ToList())),
            ["y"] = new("y", ValueKind.Tensor, type, null),
        };
        return TrtCapability.Analyze(b.BuildModel(), m, types).Nodes.Single();
    }
}

public class TrtCapabilityTests
{
    private static Dictionary<string, object> A(params (string K, object V)[] a) => a.ToDictionary(x => x.K, x => x.V);
    private static TrtSupportMatrix V10 => TrtSupportMatrix.For("10.15");

    private static Dictionary<string, ValueSpec> Floats(OnnxModel m, params (string Name, long[] Shape)[] known)
    {
        var types = new Dictionary<string, ValueSpec>();
        foreach (var n in m.Graph.Node.SelectMany(n => n.Output).Concat(m.Graph.Input.Select(i => i.Name)))
            types[n] = new ValueSpec(n, ValueKind.Tensor, ElementType.Float, null);
        foreach (var (name, shape) in known) types[name] = new ValueSpec(name, ValueKind.Tensor, ElementType.Float, new SymbolicShape(shape.Select(SymbolicDim.Fixed).ToList()));
        return types;
    }

    [Fact]
    public void An_unsupported_node_splits_the_graph_into_two_engines_and_is_named_with_its_reason()
    {
        var b = new ModelBuilder(opset: 17);
        var x = b.Input("x", ElementType.Float, 1, 4);
        var r = b.Node("Relu", [x], name: "relu", output: "r");
        var u = b.Node("Unique", [r], name: "unique", output: "u");
        var s = b.Node("Sigmoid", [u], name: "sigmoid", output: "s");
        b.Node("Neg", [s], name: "neg", output: "y");
        b.OutputUnknownShape("y", ElementType.Float);
        var model = b.BuildModel();
        var c = TrtCapability.Analyze(model, V10, Floats(model));
        Assert.False(c.WholeModel);
        var bad = Assert.Single(c.Unsupported);
        Assert.Equal(("unique", "Unique"), (bad.Name, bad.OpType));
        Assert.Contains("not supported by TensorRT 10.15", bad.Reasons[0]);
        Assert.Equal(2, c.Partitions.Count);
        Assert.Equal(["relu"], c.Partitions[0].Nodes);
        Assert.Equal(["x"], c.Partitions[0].Inputs);
        Assert.Equal(["r"], c.Partitions[0].Outputs);
        Assert.Equal(["sigmoid", "neg"], c.Partitions[1].Nodes);
        Assert.Equal(["u"], c.Partitions[1].Inputs);
        Assert.Equal(["y"], c.Partitions[1].Outputs);
        Assert.Equal(["r", "u"], c.CrossingTensors);
    }

    [Fact]
    public void Independent_supported_branches_share_an_engine_and_no_engine_depends_on_itself_through_a_fallback_node()
    {
        var b = new ModelBuilder(opset: 17);
        var x = b.Input("x", ElementType.Float, 4);
        var a = b.Node("Relu", [x], name: "a", output: "a");
        var u = b.Node("Unique", [a], name: "u", output: "u");         // falls back
        var side = b.Node("Sigmoid", [x], name: "side", output: "side"); // independent of u: joins a's engine
        b.Node("Add", [a, u], name: "join", output: "j");              // needs a directly and through u
        b.Node("Mul", [b.Graph.Node[^1].Output[0], side], name: "mul", output: "y");
        b.OutputUnknownShape("y", ElementType.Float);
        var model = b.BuildModel();
        var c = TrtCapability.Analyze(model, V10, Floats(model));
        Assert.Equal(["a", "side"], c.Partitions[0].Nodes);
        Assert.Equal(["join", "mul"], c.Partitions[1].Nodes);
        Assert.Equal(2, c.Partitions.Count);
    }

    [Fact]
    public void Restrictions_that_the_graph_decides_are_checked_per_version()
    {
        var m = V10;
        Assert.Contains("dilations", TrtSupportMatrixTests.One(m, "MaxPool", ElementType.Float, A(("kernel_shape", new long[] { 2, 2 }), ("dilations", new long[] { 2, 2 }))).Reasons[0]);
        Assert.Contains("input of rank 3: 2D or 3D pooling only", TrtSupportMatrixTests.One(m, "AveragePool", ElementType.Float, A(("kernel_shape", new long[] { 2 })), shape: [1, 2, 8]).Reasons[0]);
        Assert.True(TrtSupportMatrixTests.One(m, "AveragePool", ElementType.Float, A(("kernel_shape", new long[] { 2, 2 })), shape: [1, 2, 8, 8]).Supported);
        Assert.Contains("mode 'cubic'", TrtSupportMatrixTests.One(m, "Resize", ElementType.Float, A(("mode", "cubic"))).Reasons[0]);
        Assert.Contains("tf_crop_and_resize", TrtSupportMatrixTests.One(m, "Resize", ElementType.Float, A(("coordinate_transformation_mode", "tf_crop_and_resize"))).Reasons[0]);
        Assert.Contains("sorted = 0", TrtSupportMatrixTests.One(m, "TopK", ElementType.Float, A(("sorted", 0L))).Reasons[0]);
        Assert.Contains("layout = 1", TrtSupportMatrixTests.One(m, "LSTM", ElementType.Float, A(("layout", 1L))).Reasons[0]);
        Assert.True(TrtSupportMatrixTests.One(m, "LSTM", ElementType.Float, A(("layout", 0L))).Supported);

        // Squeeze's axes from a computed tensor: 10.15 needs them resolvable to a constant; an initializer passes.
        foreach (var (computed, supported) in new[] { (true, false), (false, true) })
        {
            var b = new ModelBuilder(opset: 17);
            var x = b.Input("x", ElementType.Float, 1, 4);
            var axes = computed ? b.Node("Shape", [x], name: "shape", output: "axes") : b.Initializer("axes", TensorData.Create<long>([1], 0));
            b.Node("Squeeze", [x, axes], name: "squeeze", output: "y");
            b.OutputUnknownShape("y", ElementType.Float);
            var model = b.BuildModel();
            var types = new Dictionary<string, ValueSpec> { ["x"] = new("x", ValueKind.Tensor, ElementType.Float, null), ["axes"] = new("axes", ValueKind.Tensor, ElementType.Int64, null) };
            var v = TrtCapability.Analyze(model, m, types).Nodes.Single(n => n.Name == "squeeze");
            Assert.Equal(supported, v.Supported);
            if (!supported) Assert.Contains("axes 'axes' is computed at run time", v.Reasons[0]);
        }

        // Slice's axes from a computed tensor: TensorRT 8.5 wants an initializer; 10.15 states no such restriction.
        {
            var b = new ModelBuilder(opset: 17);
            var x = b.Input("x", ElementType.Float, 4, 4);
            var axes = b.Node("Shape", [b.Initializer("one", TensorData.Create<float>([1], 1f))], name: "shape", output: "axes");
            b.Node("Slice", [x, b.Initializer("st", TensorData.Create<long>([1], 0)), b.Initializer("en", TensorData.Create<long>([1], 2)), axes], name: "slice", output: "y");
            b.OutputUnknownShape("y", ElementType.Float);
            var model = b.BuildModel();
            var types = new Dictionary<string, ValueSpec> { ["x"] = new("x", ValueKind.Tensor, ElementType.Float, null) };
            Assert.True(TrtCapability.Analyze(model, m, types).Nodes.Single(n => n.Name == "slice").Supported);
            var old = TrtCapability.Analyze(model, TrtSupportMatrix.For("8.5"), types).Nodes.Single(n => n.Name == "slice");
            Assert.Contains("axes 'axes' is not an initializer (it is computed at run time)", old.Reasons.Single());
        }

        // A non-zero zero point (an initializer) breaks DequantizeLinear's symmetric-only rule; a zero one passes.
        foreach (var zero in new[] { 0, 3 })
        {
            var b = new ModelBuilder(opset: 17);
            var q = b.Input("q", ElementType.Int8, 4);
            b.Node("DequantizeLinear", [q, b.Initializer("s", TensorData.Scalar(0.1f)), b.Initializer("z", TensorData.Scalar((sbyte)zero))], name: "dq", output: "y");
            b.OutputUnknownShape("y", ElementType.Float);
            var types = new Dictionary<string, ValueSpec> { ["q"] = new("q", ValueKind.Tensor, ElementType.Int8, null) };
            Assert.Equal(zero == 0, TrtCapability.Analyze(b.BuildModel(), m, types).Nodes.Single().Supported);
        }
    }

    [Fact]
    public void Uint8_is_taken_at_the_network_boundary_only_and_dynamic_inputs_and_old_opsets_are_caveats()
    {
        var b = new ModelBuilder(opset: 6, irVersion: 3);
        var x = b.Input("image", ElementType.UInt8, "batch", 3);
        var f = b.Node("Cast", [x], A(("to", (long)ElementType.Float)), name: "to_float", output: "f");
        var back = b.Node("Cast", [f], A(("to", (long)ElementType.UInt8)), name: "to_uint8", output: "u8");
        b.Node("Cast", [back], A(("to", (long)ElementType.Float)), name: "again", output: "y");
        b.OutputUnknownShape("y", ElementType.Float);
        var model = b.BuildModel();
        var types = new Dictionary<string, ValueSpec>
        {
            ["image"] = new("image", ValueKind.Tensor, ElementType.UInt8, null), ["f"] = new("f", ValueKind.Tensor, ElementType.Float, null),
            ["u8"] = new("u8", ValueKind.Tensor, ElementType.UInt8, null), ["y"] = new("y", ValueKind.Tensor, ElementType.Float, null),
        };
        var c = TrtCapability.Analyze(model, V10, types);
        Assert.True(c.Nodes[0].Supported);
        Assert.Equal(["to_uint8", "again"], c.Unsupported.Select(n => n.Name));
        Assert.Contains("uint8 inside the network", c.Unsupported[0].Reasons.Last());
        Assert.Contains(c.Caveats, w => w.Contains("input 'image' has dynamic dimensions [batch, 3]"));
        Assert.Contains(c.Caveats, w => w.Contains("opset 6") && w.Contains("surgeon upgrade"));
    }

    [Fact]
    public void Constant_nodes_count_as_initializers_and_bodies_see_the_outer_graphs_constants()
    {
        // ReduceMean-18 with axes from a Constant node (how PyTorch exports it): TensorRT reads it as weights.
        var b = new ModelBuilder(opset: 18);
        var x = b.Input("x", ElementType.Float, 2, 3);
        var axes = b.Node("Constant", [], A(("value", TensorData.Create<long>([1], 1))), name: "axes_const", output: "ax");
        b.Node("ReduceMean", [x, axes], name: "mean", output: "y");
        b.OutputUnknownShape("y", ElementType.Float);
        var types = new Dictionary<string, ValueSpec> { ["x"] = new("x", ValueKind.Tensor, ElementType.Float, null) };
        var c = TrtCapability.Analyze(b.BuildModel(), V10, types);
        Assert.True(c.WholeModel, string.Join("; ", c.Unsupported.SelectMany(n => n.Reasons)));
        Assert.Equal(["mean"], Assert.Single(c.Partitions).Nodes);  // the Constant is a weight, not an engine's node

        // An If body squeezes with axes that are an initializer of the main graph.
        var then = new GraphProto { Name = "then", Node = { new NodeProto { OpType = "Squeeze", Name = "inner", Input = { "x", "outer_axes" }, Output = { "t" } } }, Output = { ModelBuilder.MakeValueInfo("t", ElementType.Float, [3]) } };
        var g = new ModelBuilder(opset: 17);
        var gx = g.Input("x", ElementType.Float, 1, 3);
        var cond = g.Input("cond", ElementType.Bool);
        g.Initializer("outer_axes", TensorData.Create<long>([1], 0));
        var other = new GraphProto { Name = "else", Node = { new NodeProto { OpType = "Squeeze", Name = "inner2", Input = { "x", "outer_axes" }, Output = { "e" } } }, Output = { ModelBuilder.MakeValueInfo("e", ElementType.Float, [3]) } };
        g.Node("If", [cond], A(("then_branch", then), ("else_branch", other)), name: "branch", output: "y");
        g.OutputUnknownShape("y", ElementType.Float);
        Assert.True(TrtCapability.Analyze(g.BuildModel(), V10, new Dictionary<string, ValueSpec>()).WholeModel);
    }

    [Fact]
    public void Constant_of_shape_is_typed_by_its_output_and_a_graph_with_a_cycle_is_refused()
    {
        var b = new ModelBuilder(opset: 17);
        var x = b.Input("x", ElementType.Float, 2, 3);
        var shape = b.Node("Shape", [x], name: "shape", output: "s");
        b.Node("ConstantOfShape", [shape], name: "fill", output: "y");
        b.OutputUnknownShape("y", ElementType.Float);
        var types = new Dictionary<string, ValueSpec> { ["x"] = new("x", ValueKind.Tensor, ElementType.Float, null), ["s"] = new("s", ValueKind.Tensor, ElementType.Int64, null), ["y"] = new("y", ValueKind.Tensor, ElementType.Float, null) };
        Assert.True(TrtCapability.Analyze(b.BuildModel(), TrtSupportMatrix.For("8.5"), types).WholeModel);

        var cyc = new ModelBuilder(opset: 17);
        var cx = cyc.Input("x", ElementType.Float, 2);
        cyc.Node("Add", [cx, "b"], name: "a", output: "a");
        cyc.Node("Relu", ["a"], name: "b", output: "b");
        cyc.OutputUnknownShape("b", ElementType.Float);
        Assert.Contains("cycle", Assert.Throws<InvalidInputException>(() => TrtCapability.Analyze(cyc.BuildModel(), V10, new Dictionary<string, ValueSpec>())).Message);
    }

    [Fact]
    public void A_node_with_a_body_is_supported_only_when_its_body_is()
    {
        var body = new GraphProto { Name = "then", Node = { new NodeProto { OpType = "Unique", Name = "inner_unique", Input = { "x" }, Output = { "t" } } }, Output = { ModelBuilder.MakeValueInfo("t", ElementType.Float, [4]) } };
        var other = new GraphProto { Name = "else", Node = { new NodeProto { OpType = "Neg", Name = "inner_neg", Input = { "x" }, Output = { "e" } } }, Output = { ModelBuilder.MakeValueInfo("e", ElementType.Float, [4]) } };
        var b = new ModelBuilder(opset: 17);
        var x = b.Input("x", ElementType.Float, 4);
        var cond = b.Input("cond", ElementType.Bool);
        b.Node("If", [cond], A(("then_branch", body), ("else_branch", other)), name: "branch", output: "y");
        b.OutputUnknownShape("y", ElementType.Float);
        var model = b.BuildModel();
        var types = new Dictionary<string, ValueSpec> { ["cond"] = new("cond", ValueKind.Tensor, ElementType.Bool, null), ["x"] = new("x", ValueKind.Tensor, ElementType.Float, null) };
        var v = TrtCapability.Analyze(model, V10, types).Nodes.Single();
        Assert.False(v.Supported);
        Assert.Contains("its body 'then_branch' holds 1 unsupported node(s), first inner_unique", v.Reasons[0]);
    }
}

public class TrtRealCheckTests
{
    private static OnnxModel Mlp() => OnnxModel.Load(PolyNet.Tests.TestPaths.Model("mlp.onnx"));

    [Fact]
    public void Without_TensorRT_the_check_says_what_is_missing_and_claims_nothing()
    {
        using var probe = new PolyNet.Runners.Ort.TensorRtRunner(PolyNet.Runners.Specs.RunnerSpec.Parse("trt"), new RunnerContext { Model = Mlp() });
        if (probe.WhatIsMissing(PolyNet.Runners.Native.OrtRuntime.Current) is null) Assert.Skip("TensorRT is installed here: the real check runs in the next test");
        var c = TrtCapability.Analyze(Mlp(), TrtSupportMatrix.For(), new Dictionary<string, ValueSpec>());
        var real = TrtRealCheck.Run(Mlp(), c);
        Assert.False(real.Available);
        Assert.Null(real.WholeModelBuilt);
        Assert.Contains("TensorRT", real.Missing);
        Assert.Empty(real.Differences);
    }

    [Fact]
    public void Where_TensorRT_exists_it_agrees_that_a_plain_mlp_builds_whole()
    {
        using var probe = new PolyNet.Runners.Ort.TensorRtRunner(PolyNet.Runners.Specs.RunnerSpec.Parse("trt"), new RunnerContext { Model = Mlp() });
        if (probe.WhatIsMissing(PolyNet.Runners.Native.OrtRuntime.Current) is { } missing) Assert.Skip($"needs TensorRT: {missing}");
        var c = TrtCapability.Analyze(Mlp(), TrtSupportMatrix.For(), PolyNet.Runners.Inspect.OrtTypes.Infer(Mlp()));
        Assert.True(c.WholeModel);
        var real = TrtRealCheck.Run(Mlp(), c);
        Assert.True(real.WholeModelBuilt, real.Error);
        Assert.Empty(real.Differences);
    }
}
