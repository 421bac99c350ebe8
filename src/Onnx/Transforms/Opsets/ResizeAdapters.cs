using Google.Protobuf;
using PolyNet.Onnx.Proto;

namespace PolyNet.Onnx.Transforms.Opsets;

/// <summary>Upsample's path to Resize, Resize's and RoiAlign's coordinate modes, GridSample's mode names.</summary>
internal static class ResizeAdapters
{
    public static IReadOnlyList<NodeProto>? ExperimentalUpsample(UpgradeStep s, NodeProto n)
    {
        var h = UpgradeStep.Attr(n, "height_scale");
        var w = UpgradeStep.Attr(n, "width_scale");
        var mode = UpgradeStep.Attr(n, "mode");
        bool upper = mode is not null && mode.S.ToStringUtf8() != mode.S.ToStringUtf8().ToLowerInvariant();
        if (h is null && w is null && !upper) return null;
        if (h is not null || w is not null)
        {
            UpgradeStep.RemoveAttr(n, "height_scale");
            UpgradeStep.RemoveAttr(n, "width_scale");
            UpgradeStep.SetAttr(n, "scales", new[] { 1f, 1f, h?.F ?? 1f, w?.F ?? 1f });
        }
        if (mode is not null)
        {
            var m = mode.S.ToStringUtf8().ToLowerInvariant();
            mode.S = ByteString.CopyFromUtf8(m == "bilinear" ? "linear" : m);
        }
        return [n];
    }

    public static IReadOnlyList<NodeProto>? UpsampleScalesInput(UpgradeStep s, NodeProto n)
    {
        if (UpgradeStep.Attr(n, "scales") is not { } a) return null;
        n.Attribute.Remove(a);
        var c = s.ConstantNode(TensorData.Create(new[] { (long)a.Floats.Count }, a.Floats.ToArray()), $"{UpgradeStep.NameOf(n)}_scales");
        AttributeInputs.SetInput(n, 1, c.Output[0]);
        return [c, n];
    }

    public static IReadOnlyList<NodeProto>? UpsampleToResize(UpgradeStep s, NodeProto n)
    {
        n.OpType = "Resize";
        return [n];
    }

    /// <summary>
    /// Resize-10 computed input coordinates as output / scale (asymmetric) and, in nearest mode, rounded them down
    /// where a dimension is enlarged and up where it is shrunk (ONNX Runtime's opset-10 rule).
    /// </summary>
    public static IReadOnlyList<NodeProto>? Resize11(UpgradeStep s, NodeProto n)
    {
        if (n.Input.Count != 2) return null;
        var mode = UpgradeStep.Attr(n, "mode")?.S.ToStringUtf8() ?? "nearest";
        if (mode == "nearest")
        {
            var scales = s.Constant(n.Input[1])?.ToArray<float>();
            bool shrinks = scales?.Any(v => v < 1) == true, grows = scales?.Any(v => v > 1) == true;
            if (shrinks && grows)
            {
                s.Refuse(n, "nearest mode that enlarges some dimensions and shrinks others rounds differently per dimension, which Resize-11 cannot say");
                return null;
            }
            UpgradeStep.SetAttr(n, "nearest_mode", shrinks ? "ceil" : "floor");
        }
        UpgradeStep.SetAttr(n, "coordinate_transformation_mode", "asymmetric");
        var roi = s.ConstantNode(TensorData.Create(new long[] { 0 }, Array.Empty<float>()), $"{UpgradeStep.NameOf(n)}_roi");
        n.Input.Insert(1, roi.Output[0]);
        return [roi, n];
    }

    public static IReadOnlyList<NodeProto>? RoiAlign16(UpgradeStep s, NodeProto n)
    {
        if (UpgradeStep.Attr(n, "coordinate_transformation_mode") is not null) return null;
        UpgradeStep.SetAttr(n, "coordinate_transformation_mode", "output_half_pixel");
        return [n];
    }

    public static IReadOnlyList<NodeProto>? GridSampleModes(UpgradeStep s, NodeProto n)
    {
        if (UpgradeStep.Attr(n, "mode") is not { } a) return null;
        var renamed = a.S.ToStringUtf8() switch { "bilinear" => "linear", "bicubic" => "cubic", _ => null };
        if (renamed is null) return null;
        a.S = ByteString.CopyFromUtf8(renamed);
        return [n];
    }
}
