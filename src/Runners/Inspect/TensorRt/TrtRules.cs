using PolyNet.Onnx;
namespace PolyNet.Runners.Inspect.TensorRt;

/// <summary>
/// One statically checkable restriction of the support table: it applies to <paramref name="Ops"/> when the op's
/// restriction text in the table holds <paramref name="Phrase"/> (so a rule follows the table of the chosen TensorRT
/// version, and a restriction a version does not state is not checked), and <paramref name="Check"/> returns why a
/// node breaks it, or null.
/// </summary>
public sealed record TrtRule(string[] Ops, string Phrase, Func<TrtNodeContext, string?> Check);

/// <summary>The restrictions of onnx-tensorrt's docs/operators.md that a model's graph alone can decide.</summary>
public static class TrtRules
{
    private static readonly string[] Reduces = ["ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSum", "ReduceSumSquare"];
    private static readonly string[] ResizeModes = ["half_pixel", "pytorch_half_pixel", "tf_half_pixel_for_nn", "asymmetric", "align_corners"];

    public static IReadOnlyList<TrtRule> All { get; } =
    [
        new(["AveragePool", "MaxPool", "LpPool"], "`dilations` must be empty or all ones",
            c => c.Attr("dilations") is { } d && d.Ints.Any(v => v != 1) ? $"dilations [{string.Join(", ", d.Ints)}]: must be empty or all ones" : null),
        new(["AveragePool", "MaxPool"], "2D or 3D", c => c.Rank(c.Input(0)) is { } r && r is not (4 or 5) ? $"input of rank {r}: 2D or 3D pooling only (rank 4 or 5)" : null),
        new(["MaxPool"], "`Indices` output tensor unsupported", c => c.Output(1) is { } o ? $"its Indices output '{o}' is used" : null),
        new(["Constant"], "`sparse_value`, `value_string`, and `value_strings` attributes are unsupported",
            c => c.Node.Attribute.FirstOrDefault(a => a.Name is "sparse_value" or "value_string" or "value_strings") is { } a ? $"a '{a.Name}' attribute" : null),
        new(["LSTM"], "`input_forget` attribute must be 0", c => c.Int("input_forget", 0) != 0 ? "input_forget = 1: must be 0" : null),
        new(["LSTM"], "`layout` attribute must be 0", c => c.Int("layout", 0) != 0 ? "layout = 1 (batch first): must be 0" : null),
        new(["RNN", "GRU", "LSTM"], "activation functions must be the same for both the forward and reverse pass", BidirectionalActivations),
        new(["Resize"], "Supported resize transformation modes", c => c.Str("coordinate_transformation_mode", "half_pixel") is var m && !ResizeModes.Contains(m)
            ? $"coordinate_transformation_mode '{m}': supported are {string.Join(", ", ResizeModes)}" : null),
        new(["Resize"], "Supported resize modes: `nearest`, `linear`", c => c.Str("mode", "nearest") is var m && m is not ("nearest" or "linear") ? $"mode '{m}': supported are nearest and linear" : null),
        new(["Resize"], "Supported aspect ratio policy: `stretch`", c => c.Str("keep_aspect_ratio_policy", "stretch") is var p && p != "stretch" ? $"keep_aspect_ratio_policy '{p}': only stretch" : null),
        new(["Resize"], "Antialiasing is not supported", c => c.Int("antialias", 0) != 0 ? "antialias = 1: not supported" : null),
        new(["Resize"], "`axes` must be an iota vector", c => c.Input(2) is { } s && !c.IsConstant(s) && c.Attr("axes") is { } a && c.Rank(c.Input(0)) is { } r
            && !a.Ints.Select(v => v < 0 ? v + r : v).SequenceEqual(Enumerable.Range(0, r).Select(i => (long)i)) ? "scales is computed at run time and axes is not 0, 1, …, rank − 1" : null),
        new(["ScatterND"], "`reduction` other than `none` is not supported", c => c.Str("reduction", "none") is var r && r != "none" ? $"reduction '{r}': only none" : null),
        new(["TopK"], "`sorted` must be 1", c => c.Int("sorted", 1) != 1 ? "sorted = 0: must be 1" : null),
        new(["TopK"], "`K` input must be less than 3840", c => c.Input(1) is { } k && c.Value(k) is { } v && v.ElementCount > 0 && v.GetDouble(0) >= 3840 ? $"K = {v.GetDouble(0)}: must be less than 3840" : null),
        new(["TopK"], "`K` input must be an initializer", c => NotInitializer(c, 1, "K")),
        new(["CumSum"], "`axis` must be a build-time constant", c => NotConstant(c, 1, "axis")),
        new(["CumSum"], "`axis` must be an initializer", c => NotInitializer(c, 1, "axis")),
        new(["OneHot"], "`depth` must be a build-time constant", c => NotConstant(c, 1, "depth")),
        new(Reduces, "`axes` must be an initializer", c => NotInitializer(c, 1, "axes")),
        new(["Squeeze", "Unsqueeze"], "`axes` must be resolvable to a constant", c => NotConstant(c, 1, "axes")),
        new(["Unsqueeze"], "`axes` must be a constant tensor", c => NotConstant(c, 1, "axes")),
        new(["Squeeze", "Slice"], "`axes` must be an initializer", c => NotInitializer(c, c.Node.OpType == "Slice" ? 3 : 1, "axes")),
        new(["STFT"], "`frame_step` and `window` must be an initializer", c => NotInitializer(c, 1, "frame_step") ?? NotInitializer(c, 2, "window")),
        new(["STFT"], "Input must be real-valued", c => c.Shape(c.Input(0)) is { Rank: > 0 } s && s.Dims[^1].Value == 2 ? "the signal is complex (last dimension 2): must be real-valued" : null),
        new(["Dropout"], "`is_training` must be an initializer and evaluate to False", c => c.Input(2) is not { } t ? null
            : !c.IsConstant(t) ? $"training_mode '{t}' is not an initializer" : c.Value(t) is { } v && v.ElementCount > 0 && v.GetDouble(0) != 0 ? "training_mode is true: must be false" : null),
        new(["DequantizeLinear"], "`x_zero_point` must be zero", c => NonZeroConstant(c, 2, "x_zero_point")),
        new(["QuantizeLinear"], "`y_zero_point` must be 0", c => NonZeroConstant(c, 2, "y_zero_point")),
        new(["GridSample"], "Input must be 4D input", c => c.Rank(c.Input(0)) is { } r && r != 4 ? $"input of rank {r}: must be 4D" : null),
        new(["EyeLike"], "`input` must have static dimensions", c => c.Shape(c.Input(0)) is { IsFullyKnown: false } s ? $"input shape {s} has dynamic dimensions" : null),
        new(["Hardmax"], "`axis` dimension of input must be a build-time constant", c => c.Shape(c.Input(0)) is { } s && s.Rank > 0 && c.Int("axis", -1) is var a
            && s.Dims[(int)(a < 0 ? a + s.Rank : a) % s.Rank].Value is null ? $"dimension {a} of input {s} is dynamic" : null),
        new(["LayerNormalization"], "Only the first output `Y` is supported", c => (c.Output(1) ?? c.Output(2)) is { } o ? $"its output '{o}' (Mean or InvStdDev) is used" : null),
        new(["If"], "must have different names", c => c.Attr("then_branch")?.G is { } t && c.Attr("else_branch")?.G is { } e
            && t.Output.Select(o => o.Name).Intersect(e.Output.Select(o => o.Name)).FirstOrDefault() is { } n ? $"both branches name an output '{n}'" : null),
        new(["If"], "must have the same rank", IfRanks),
        new(["RotaryEmbedding"], "`position_ids` must be INT64", c => c.Input(3) is { } p && c.TypeOf(p) is var t && t != ElementType.Int64 && t != ElementType.Undefined ? $"position_ids is {t.DisplayName()}: must be int64" : null),
        new(["TensorScatter"], "`axis` must be -2", c => c.Int("axis", -2) != -2 ? $"axis = {c.Int("axis", -2)}: must be -2" : null),
        new(["TensorScatter"], "`past_cache` and `update` must be 4D", c => new[] { c.Input(0), c.Input(1) }.FirstOrDefault(t => c.Rank(t) is { } r && r != 4) is { } bad ? $"'{bad}' has rank {c.Rank(bad)}: must be 4D" : null),
        new(["Attention"], "must be 4D", c => new[] { 0, 1, 2, 3 }.Select(c.Input).FirstOrDefault(t => c.Rank(t) is { } r && r != 4) is { } bad ? $"'{bad}' has rank {c.Rank(bad)}: Q, K, V and attn_mask must be 4D" : null),
        new(["Attention"], "inputs are unsupported", c => new[] { 4, 5, 6 }.Select(c.Input).FirstOrDefault(t => t is not null) is { } i ? $"input '{i}' (past_key, past_value or nonpad_kv_seqlen) is given" : null),
        new(["Attention"], "outputs are unsupported", c => new[] { 1, 2, 3 }.Select(c.Output).FirstOrDefault(t => t is not null) is { } o ? $"output '{o}' (present_key, present_value or qk_matmul_output) is used" : null),
        new(["Attention"], "attributes are unsupported", c => c.Node.Attribute.FirstOrDefault(a => a.Name is "qk_matmul_output_mode" or "softcap") is { } a ? $"attribute '{a.Name}' is set" : null),
        new(["DeformConv"], "must have 1D or 2D spatial dimensions", c => c.Rank(c.Input(0)) is { } r && r is not (3 or 4) ? $"input of rank {r}: 1D or 2D spatial dimensions only" : null),
        new(["DeformConv"], "`pads` for the beginning and end along each spatial axis must be the same", c => c.Attr("pads") is { } p && p.Ints.Count % 2 == 0
            && Enumerable.Range(0, p.Ints.Count / 2).Any(i => p.Ints[i] != p.Ints[i + p.Ints.Count / 2]) ? $"pads [{string.Join(", ", p.Ints)}] differ at the beginning and end" : null),
        new(["InstanceNormalization"], "`scale` and biases `B` must be initializers", c => NotInitializer(c, 1, "scale") ?? NotInitializer(c, 2, "B")),
        new(["InstanceNormalization"], "Input rank must be >=3 & <=5", c => c.Rank(c.Input(0)) is { } r && r is < 3 or > 5 ? $"input of rank {r}: must be 3 to 5" : null),
        new(["ReverseSequence"], "Dynamic input shapes are unsupported", c => c.Shape(c.Input(0)) is { IsFullyKnown: false } s ? $"input shape {s} is dynamic" : null),
        new(["Einsum"], "Ellipsis and diagonal operations are not supported", c => c.Str("equation", "") is var e && (e.Contains("...", StringComparison.Ordinal)
            || e.Split("->")[0].Split(',').Any(term => term.Trim().GroupBy(ch => ch).Any(g => char.IsLetter(g.Key) && g.Count() > 1))) ? $"equation '{e}' has an ellipsis or a diagonal" : null),
    ];

    /// <summary>Restriction sentences of the tables that no graph-only check can decide (they depend on values at run time or only warn).</summary>
    public static IReadOnlyList<string> NotStaticallyCheckable { get; } =
    [
        "`q_num_heads` and `kv_num_heads` attributes are supported via being specified",
        "Scan output length cannot be dynamic",
        "The shape of Loop carried dependencies must be the same across all loop iterations",
        "`seed` value is ignored by TensorRT",
        "TensorRT's IDynamicQuantize can be composed",
        "Supported nearest modes: `floor`, `ceil`, `round_prefer_floor`, `round_prefer_ceil`",
        "Broadcasting between inputs is not supported",
        "must have broadcastable shapes",
    ];

    private static string? NotConstant(TrtNodeContext c, int input, string what)
        => c.Input(input) is { } t && !c.IsConstant(t) ? $"{what} '{t}' is computed at run time: must be a build-time constant" : null;

    /// <summary>onnx-tensorrt reads a Constant node's output as weights too, so "must be an initializer" accepts both.</summary>
    private static string? NotInitializer(TrtNodeContext c, int input, string what)
        => c.Input(input) is { } t && !c.IsConstant(t) ? $"{what} '{t}' is not an initializer (it is computed at run time)" : null;

    private static string? NonZeroConstant(TrtNodeContext c, int input, string what)
        => c.Input(input) is { } t && c.Value(t) is { } v && Enumerable.Range(0, (int)Math.Min(v.ElementCount, 1 << 20)).Any(i => v.GetDouble(i) != 0) ? $"{what} is not zero: must be zero (symmetric quantization)" : null;

    private static string? BidirectionalActivations(TrtNodeContext c)
    {
        if (c.Str("direction", "forward") != "bidirectional" || c.Attr("activations") is not { } a || a.Strings.Count % 2 != 0) return null;
        var names = a.Strings.Select(s => s.ToStringUtf8().ToLowerInvariant()).ToList();
        int half = names.Count / 2;
        return names.Take(half).SequenceEqual(names.Skip(half)) ? null : $"bidirectional with activations [{string.Join(", ", names)}]: forward and reverse must be the same";
    }

    private static string? IfRanks(TrtNodeContext c)
    {
        if (c.Attr("then_branch")?.G is not { } t || c.Attr("else_branch")?.G is not { } e) return null;
        foreach (var (a, b) in t.Output.Zip(e.Output))
        {
            int? ra = a.Type?.TensorType?.Shape?.Dim.Count, rb = b.Type?.TensorType?.Shape?.Dim.Count;
            if (a.Type?.TensorType?.Shape is not null && b.Type?.TensorType?.Shape is not null && ra != rb)
                return $"branch outputs '{a.Name}' (rank {ra}) and '{b.Name}' (rank {rb}) differ in rank";
        }
        return null;
    }
}
