namespace PolyNet.Onnx.Transforms.Opsets;

/// <summary>
/// The changes of ONNX's default operator set (onnx/docs/Changelog.md) that a model must be converted across, from
/// opset 1 to 21. Every other version bump in the change log only adds types, attributes with defaults that keep
/// the old behaviour, or optional inputs, so a node crosses it unchanged. An operator that is not the ONNX
/// standard's (the experimental ones of early opsets) is converted where it has an exact equivalent and refused
/// otherwise.
/// </summary>
public static class OpsetChangeLog
{
    private static readonly string[] BroadcastAttributeOps = ["Add", "Sub", "Mul", "Div", "Pow", "And", "Or", "Xor", "Equal", "Greater", "Less"];
    private static readonly string[] ReduceOps18 = ["ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSumSquare"];
    private static readonly string[] RemovedExperimental = ["ATen", "ConstantFill", "Crop", "DynamicSlice", "GRUUnit", "GivenTensorFill", "ParametricSoftplus", "ScaledTanh"];

    public static IReadOnlyList<OpsetAdapter> All { get; } =
    [
        new(2, "Split", "the 'split' input became an attribute", LegacyAdapters.SplitInputToAttribute),
        new(2, "Pad", "'paddings' renamed 'pads'", LegacyAdapters.PaddingsToPads),
        new(2, "LpPool", "'p' became an integer", LegacyAdapters.IntegerP),
        new(2, "GlobalLpPool", "'p' became an integer", LegacyAdapters.IntegerP),
        new(4, "Concat", "'axis' became required (it was 1 by default)", LegacyAdapters.ConcatAxis),
        new(5, "Reshape", "the 'shape' attribute became an input", (s, n) => AttributeInputs.Move(s, n, ("shape", 1, false))),
        new(6, "*", "'consumed_inputs' removed", LegacyAdapters.DropConsumedInputs),
        new(6, "Cast", "'to' became a data type number instead of a name", LegacyAdapters.CastTo),
        new(6, "Tile", "'tiles' and 'axis' inputs replaced by 'repeats'", LegacyAdapters.TileRepeats),
        .. BroadcastAttributeOps.Select(op => new OpsetAdapter(7, op, "'broadcast' and 'axis' removed (numpy broadcasting)", BroadcastAdapters.LegacyBroadcast)),
        new(7, "Gemm", "'broadcast' removed (C broadcasts one way)", BroadcastAdapters.DropGemmBroadcast),
        new(7, "PRelu", "'slope' broadcasts one way (a per-channel slope needs trailing axes)", BroadcastAdapters.PReluSlope),
        new(7, "BatchNormalization", "'is_test' removed", (s, n) => LegacyAdapters.Drop(n, "is_test")),
        new(7, "Dropout", "'is_test' removed", (s, n) => LegacyAdapters.Drop(n, "is_test")),
        new(7, "GRU", "'output_sequence' removed", (s, n) => LegacyAdapters.Drop(n, "output_sequence")),
        new(7, "LSTM", "'output_sequence' removed", (s, n) => LegacyAdapters.Drop(n, "output_sequence")),
        new(7, "RNN", "'output_sequence' removed", (s, n) => LegacyAdapters.Drop(n, "output_sequence")),
        new(7, "Upsample", "experimental 'height_scale'/'width_scale' became 'scales'", ResizeAdapters.ExperimentalUpsample),
        new(9, "BatchNormalization", "'spatial' removed (statistics per channel only)", LegacyAdapters.BatchNormSpatial),
        new(9, "Upsample", "'scales' became an input", ResizeAdapters.UpsampleScalesInput),
        new(9, "Scan", "the batch axis and 'sequence_lens' removed", (s, n) => LegacyAdapters.Refuse(s, n, "Scan-8's batch axis has no automatic conversion to Scan-9")),
        new(10, "Upsample", "deprecated: replaced by Resize", ResizeAdapters.UpsampleToResize),
        new(10, "Dropout", "the mask output became boolean", LegacyAdapters.DropoutMask),
        new(10, "Slice", "'starts', 'ends' and 'axes' became inputs", (s, n) => AttributeInputs.Move(s, n, ("starts", 1, false), ("ends", 2, false), ("axes", 3, false))),
        new(10, "TopK", "'k' became an input", (s, n) => AttributeInputs.Move(s, n, ("k", 1, false))),
        new(10, "ImageScaler", "experimental operator removed: Mul and Add", ExperimentalAdapters.ImageScaler),
        new(10, "Scale", "experimental operator removed: Mul", ExperimentalAdapters.Scale),
        new(10, "Affine", "experimental operator removed: Mul and Add", ExperimentalAdapters.Affine),
        .. RemovedExperimental.Select(op => new OpsetAdapter(10, op, "experimental operator removed", (s, n) => LegacyAdapters.Refuse(s, n, "an experimental operator of early opsets with no standard equivalent"))),
        new(11, "Clip", "'min' and 'max' became inputs", AttributeInputs.ClipBounds),
        new(11, "Pad", "'pads' and 'value' became inputs", AttributeInputs.PadInputs),
        new(11, "Resize", "'roi' input and 'coordinate_transformation_mode' added (opset 10 meant asymmetric)", ResizeAdapters.Resize11),
        new(11, "Scatter", "deprecated: replaced by ScatterElements", (s, n) => { n.OpType = "ScatterElements"; return [n]; }),
        new(12, "Dropout", "'ratio' became an input", AttributeInputs.DropoutRatio),
        new(13, "Softmax", "'axis' names one axis instead of flattening from it", SoftmaxAdapter.Adapt),
        new(13, "LogSoftmax", "'axis' names one axis instead of flattening from it", SoftmaxAdapter.Adapt),
        new(13, "Hardmax", "'axis' names one axis instead of flattening from it", SoftmaxAdapter.Adapt),
        new(13, "Split", "'split' became an input", (s, n) => AttributeInputs.Move(s, n, ("split", 1, false))),
        new(13, "Squeeze", "'axes' became an input", (s, n) => AttributeInputs.Move(s, n, ("axes", 1, false))),
        new(13, "Unsqueeze", "'axes' became an input", (s, n) => AttributeInputs.Move(s, n, ("axes", 1, false))),
        new(13, "ReduceSum", "'axes' became an input", (s, n) => AttributeInputs.Move(s, n, ("axes", 1, false))),
        new(14, "BatchNormalization", "only training_mode = 1 has outputs beyond Y (saved_mean and saved_var removed)", LegacyAdapters.BatchNormOutputs),
        new(16, "RoiAlign", "'coordinate_transformation_mode' added, half_pixel by default (opset 10 meant output_half_pixel)", ResizeAdapters.RoiAlign16),
        .. ReduceOps18.Select(op => new OpsetAdapter(18, op, "'axes' became an input", (s, n) => AttributeInputs.Move(s, n, ("axes", 1, false)))),
        new(18, "Split", "'num_outputs' required when 'split' is not given", LegacyAdapters.SplitNumOutputs),
        new(20, "DFT", "'axis' became an input (and its default -2)", AttributeInputs.DftAxis),
        new(20, "GridSample", "modes renamed: bilinear → linear, bicubic → cubic", ResizeAdapters.GridSampleModes),
        new(21, "GroupNormalization", "'scale' and 'bias' per channel instead of per group", (s, n) => LegacyAdapters.Refuse(s, n, "GroupNormalization-18's per-group scale and bias have no automatic conversion to opset 21's per-channel ones")),
    ];

    public static ILookup<long, OpsetAdapter> ByVersion { get; } = All.ToLookup(a => a.Version);

    /// <summary>The IR version a model importing opset <paramref name="opset"/> needs at least (onnx/docs/Versioning.md).</summary>
    public static long MinIrVersion(long opset) => opset switch
    {
        <= 8 => 3,
        9 => 4,
        10 => 5,
        11 => 6,
        <= 14 => 7,
        <= 18 => 8,
        <= 20 => 9,
        _ => 10,
    };
}
