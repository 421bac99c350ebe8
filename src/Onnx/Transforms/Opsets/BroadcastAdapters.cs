using PolyNet.Onnx.Proto;

namespace PolyNet.Onnx.Transforms.Opsets;

/// <summary>Opset 7's switch from explicit 'broadcast'/'axis' attributes to numpy broadcasting.</summary>
internal static class BroadcastAdapters
{
    /// <summary>
    /// Before opset 7, B (with broadcast = 1) lines up with A from 'axis' (default: B's dimensions are A's last ones).
    /// Numpy broadcasting lines B up with A's last dimensions, so a B that ends before A does gets trailing axes.
    /// </summary>
    public static IReadOnlyList<NodeProto>? LegacyBroadcast(UpgradeStep s, NodeProto n)
    {
        var broadcast = UpgradeStep.Attr(n, "broadcast");
        var axis = UpgradeStep.Attr(n, "axis");
        if (broadcast is null && axis is null) return null;
        UpgradeStep.RemoveAttr(n, "broadcast");
        UpgradeStep.RemoveAttr(n, "axis");
        if (broadcast?.I != 1 || axis is null || n.Input.Count < 2) return [n];
        string a = n.Input[0], b = n.Input[1];
        if (s.Rank(a) is not { } ra || s.Rank(b) is not { } rb)
        {
            s.Refuse(n, $"broadcast with axis = {axis.I} needs the ranks of '{a}' and '{b}', which are not known (declare their shapes in the graph's value_info)");
            return null;
        }
        if (rb == 0) return [n];
        long ax = axis.I < 0 ? axis.I + ra : axis.I;
        long trailing = ra - ax - rb;
        if (ax < 0 || trailing < 0)
        {
            s.Refuse(n, $"axis = {axis.I} does not fit B '{b}' of rank {rb} into A '{a}' of rank {ra}");
            return null;
        }
        if (trailing == 0) return [n];
        var pre = s.Unsqueeze(b, Enumerable.Range(rb, (int)trailing).Select(i => (long)i).ToArray(), $"{UpgradeStep.NameOf(n)}_broadcast", out var unsqueezed).ToList();
        n.Input[1] = unsqueezed;
        return [.. pre, n];
    }

    public static IReadOnlyList<NodeProto>? DropGemmBroadcast(UpgradeStep s, NodeProto n) => LegacyAdapters.Drop(n, "broadcast");

    /// <summary>A 1-D slope of C values (one per channel, axis 1) gets trailing axes so it broadcasts along axis 1.</summary>
    public static IReadOnlyList<NodeProto>? PReluSlope(UpgradeStep s, NodeProto n)
    {
        if (n.Input.Count < 2) return null;
        string x = n.Input[0], slope = n.Input[1];
        if (s.Rank(slope) != 1 || s.Shape(slope) is [1]) return null;
        if (s.Rank(x) is not { } rx)
        {
            s.Refuse(n, $"a 1-D slope '{slope}' needs the rank of '{x}', which is not known (declare its shape in the graph's value_info)");
            return null;
        }
        if (rx < 3) return null;
        var pre = s.Unsqueeze(slope, Enumerable.Range(1, rx - 2).Select(i => (long)i).ToArray(), $"{UpgradeStep.NameOf(n)}_slope", out var unsqueezed).ToList();
        n.Input[1] = unsqueezed;
        return [.. pre, n];
    }
}
