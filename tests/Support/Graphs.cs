using PolyNet.Onnx;

namespace PolyNet.Tests;

/// <summary>
/// Generated graphs for reducer tests and benchmarks. Every tensor is float32 [1, 64] with a value info. Apart from the
/// culprit, nodes only scale by powers of two (Mul 2, Mul 0.5, Add of two equal branches), which float16 computes
/// exactly, so FP16 emulation diverges at the culprit alone: an Exp of values near 9 (Add 8 before it, Mul 2^-13
/// after it), whose float16 rounding of the input moves the result by up to 0.4%.
/// </summary>
public static class Graphs
{
    public const string FailDomain = "polynet.test";

    public enum Culprit
    {
        /// <summary>No culprit.</summary>
        None,
        /// <summary>An Exp on large values (FP16 emulation diverges there); the node is named "culprit_exp".</summary>
        Exp,
        /// <summary>An op no runtime knows (polynet.test::Fail): the model cannot be built; the node is named "culprit_fail".</summary>
        Unbuildable,
        /// <summary>A Softsign a quarter of the way and a Sigmoid three quarters of the way (a check can fail on both together).</summary>
        Pair,
    }

    /// <summary>A chain of <paramref name="nodes"/> nodes (about); the culprit sits at <paramref name="at"/> (a fraction of the way).</summary>
    public static OnnxModel Chain(int nodes, Culprit culprit = Culprit.None, double at = 0.5)
    {
        var b = Start(out var x);
        int where = (int)(nodes * at);
        for (int i = 0; i < nodes; i++)
        {
            if (culprit == Culprit.Pair && (i == nodes / 4 || i == 3 * nodes / 4)) { x = Node(b, i == nodes / 4 ? "Softsign" : "Sigmoid", [x], i == nodes / 4 ? "pair_a" : "pair_b"); continue; }
            if (i == where && culprit is Culprit.Exp or Culprit.Unbuildable) { x = Insert(b, x, culprit); continue; }
            x = Node(b, "Mul", [x, i % 2 == 0 ? Two : Half], $"n{i}");
        }
        return Finish(b, x);
    }

    /// <summary>
    /// Diamonds of four nodes, a → (a·2, a·2) → sum → ·0.25, one after the other: about <paramref name="nodes"/> nodes,
    /// the culprit (Exp or Unbuildable) at a fraction <paramref name="at"/> of the way.
    /// </summary>
    public static OnnxModel Branchy(int nodes, Culprit culprit = Culprit.None, double at = 0.5)
    {
        var b = Start(out var x);
        int stages = Math.Max(1, nodes / 4), where = (int)(stages * at);
        for (int s = 0; s < stages; s++)
        {
            if (s == where && culprit is Culprit.Exp or Culprit.Unbuildable) x = Insert(b, x, culprit);
            var l = Node(b, "Mul", [x, Two], $"s{s}_left");
            var r = Node(b, "Mul", [x, Two], $"s{s}_right");
            var sum = Node(b, "Add", [l, r], $"s{s}_sum");
            x = Node(b, "Mul", [sum, Quarter], $"s{s}_scale");
        }
        return Finish(b, x);
    }

    /// <summary>
    /// Control flow with a weight in a Constant node, as real exports have them: x[1,64] and a bool input "big"; an If
    /// whose then-branch computes Exp(x·w + 8)·2^-13 (the culprit of FP16 emulation, with w = 1 held by a Constant node
    /// inside the branch, and one weight of 1e6, beyond float16, that the branch multiplies by 0) and whose
    /// else-branch computes Neg(x); then y = that · 2. Branch tensors are named then_*, else_*.
    /// </summary>
    /// <summary>
    /// x [1, 64] → 24 Muls by 4/3 and 3/4 in turn (each rounds to float16, beyond a 1e-5 tolerance) → "overflow", a Mul
    /// by 1e5 that overflows float16 → "back", a Mul by 1e-5 (which overflows again even from exact inputs: its input is
    /// beyond 65504) → "tail", an Add of 0 → y.
    /// </summary>
    public static OnnxModel RoundingThenOverflow()
    {
        var b = new ModelBuilder("rounding_then_overflow", opset: 17);
        var t = b.Input("x", ElementType.Float, 1, 64);
        b.Initializer("up", TensorData.Scalar(4f / 3));
        b.Initializer("down", TensorData.Scalar(0.75f));
        for (int i = 0; i < 24; i++) t = b.Node("Mul", [t, i % 2 == 0 ? "up" : "down"], name: $"round{i}");
        t = b.Node("Mul", [t, b.Initializer("big", TensorData.Scalar(1e5f))], name: "overflow");
        t = b.Node("Mul", [t, b.Initializer("small", TensorData.Scalar(1e-5f))], name: "back");
        b.Node("Add", [t, b.Initializer("zero", TensorData.Scalar(0f))], name: "tail", output: "y");
        b.Output("y", ElementType.Float, 1, 64);
        return b.BuildModel();
    }

    /// <summary>x values for <see cref="RoundingThenOverflow"/>: 0.6 to 1.6.</summary>
    public static ValueMap RoundingThenOverflowSample() => new() { { "x", TensorData.Create<float>([1, 64], Enumerable.Range(0, 64).Select(i => 0.6f + i / 64f).ToArray()) } };

    public static OnnxModel WithIf()
    {
        var b = new ModelBuilder("branchy", opset: 17);
        var x = b.Input("x", ElementType.Float, 1, 64);
        var big = b.Input("big", ElementType.Bool);
        b.Initializer(Two, TensorData.Scalar(2f));
        b.Initializer(Eight, TensorData.Scalar(8f));
        b.Initializer(Tiny, TensorData.Scalar(1f / 8192));
        b.Initializer(Zero, TensorData.Scalar(0f));
        var then = new ModelBuilder("then");
        then.Node("Constant", [], new Dictionary<string, object> { ["value"] = TensorData.Scalar(1f) }, name: "then_w", output: "then_w_out");
        then.Node("Constant", [], new Dictionary<string, object> { ["value"] = TensorData.Scalar(1e6f) }, name: "then_huge", output: "then_huge_out");
        then.Node("Mul", [x, "then_w_out"], name: "then_scale", output: "then_scale_out");
        then.Node("Add", ["then_scale_out", Eight], name: "then_shift", output: "then_shift_out");
        then.Node("Exp", ["then_shift_out"], name: "then_exp", output: "then_exp_out");
        then.Node("Mul", ["then_exp_out", Tiny], name: "then_small", output: "then_small_out");
        then.Node("Mul", ["then_huge_out", Tiny], name: "then_huge_scaled", output: "then_huge_scaled_out");
        then.Node("Mul", ["then_huge_scaled_out", Zero], name: "then_nothing", output: "then_nothing_out");
        then.Node("Add", ["then_small_out", "then_nothing_out"], name: "then_out", output: "then_out_out");
        then.Output("then_out_out", ElementType.Float, 1, 64);
        var otherwise = new ModelBuilder("else");
        otherwise.Node("Neg", [x], name: "else_neg", output: "else_neg_out");
        otherwise.Output("else_neg_out", ElementType.Float, 1, 64);
        var chosen = b.Node("If", [big], new Dictionary<string, object> { ["then_branch"] = then.Graph, ["else_branch"] = otherwise.Graph }, name: "choose", output: "chosen");
        b.Node("Mul", [chosen, Two], name: "double", output: "y");
        b.Output("y", ElementType.Float, 1, 64);
        return b.BuildModel();
    }

    /// <summary>A Loop with no trip count whose condition stays true: it never ends (for --timeout).</summary>
    public static OnnxModel EndlessLoop()
    {
        var b = new ModelBuilder("endless", opset: 17);
        var x = b.Input("x", ElementType.Float, 1);
        b.Initializer("keep_going", TensorData.Create<bool>([], true));
        b.Initializer("step", TensorData.Create<float>([1], 1f));
        var body = new ModelBuilder("body");
        body.Input("i", ElementType.Int64);
        body.Input("cond_in", ElementType.Bool);
        body.Input("v_in", ElementType.Float, 1);
        body.Node("Identity", ["cond_in"], name: "carry_cond", output: "cond_out");
        body.Node("Add", ["v_in", "step"], name: "count", output: "v_out");
        body.Output("cond_out", ElementType.Bool);
        body.Output("v_out", ElementType.Float, 1);
        b.Node("Loop", ["", "keep_going", x], new Dictionary<string, object> { ["body"] = body.Graph }, name: "forever", output: "y");
        b.Output("y", ElementType.Float, 1);
        return b.BuildModel();
    }

    private const string Zero = "c_zero";
    private const string Two = "c_two", Half = "c_half", Quarter = "c_quarter", Eight = "c_eight", Tiny = "c_tiny";

    private static ModelBuilder Start(out string x)
    {
        var b = new ModelBuilder("generated", opset: 17);
        b.Opset(FailDomain, 1);
        x = b.Input("x", ElementType.Float, 1, 64);
        b.Initializer(Two, TensorData.Scalar(2f));
        b.Initializer(Half, TensorData.Scalar(0.5f));
        b.Initializer(Quarter, TensorData.Scalar(0.25f));
        b.Initializer(Eight, TensorData.Scalar(8f));
        b.Initializer(Tiny, TensorData.Scalar(1f / 8192));
        return b;
    }

    private static string Insert(ModelBuilder b, string x, Culprit culprit)
    {
        if (culprit == Culprit.Unbuildable) return Node(b, "Fail", [x], "culprit_fail", FailDomain);
        var shifted = Node(b, "Add", [x, Eight], "culprit_shift");
        var e = Node(b, "Exp", [shifted], "culprit_exp");
        return Node(b, "Mul", [e, Tiny], "culprit_scale");
    }

    private static string Node(ModelBuilder b, string op, string[] inputs, string name, string domain = "")
    {
        var o = b.Node(op, inputs, name: name, output: name + "_out", domain: domain);
        b.ValueInfo(o, ElementType.Float, 1, 64);
        return o;
    }

    private static OnnxModel Finish(ModelBuilder b, string x)
    {
        b.Node("Identity", [x], name: "out", output: "y");
        b.Output("y", ElementType.Float, 1, 64);
        return b.BuildModel();
    }
}
