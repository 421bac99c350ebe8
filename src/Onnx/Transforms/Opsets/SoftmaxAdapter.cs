using PolyNet.Onnx.Proto;

namespace PolyNet.Onnx.Transforms.Opsets;

/// <summary>
/// Before opset 13, Softmax, LogSoftmax and Hardmax flattened the input to 2-D at 'axis' (default 1) and worked on
/// the second dimension; from 13 they work on the one axis 'axis' (default −1). Where 'axis' is the last axis the
/// two agree; elsewhere the node becomes Flatten → op(axis = −1) → Reshape back to the input's shape.
/// </summary>
internal static class SoftmaxAdapter
{
    public static IReadOnlyList<NodeProto>? Adapt(UpgradeStep s, NodeProto n)
    {
        var attr = UpgradeStep.Attr(n, "axis");
        long axis = attr?.I ?? 1;
        var x = n.Input[0];
        if (s.Rank(x) is { } rank && (axis < 0 ? axis + rank : axis) == rank - 1)
        {
            if (attr is not null) return null;
            UpgradeStep.SetAttr(n, "axis", axis);
            return [n];
        }
        var name = UpgradeStep.NameOf(n);
        var flatten = s.NewNode("Flatten", $"{name}_flatten", [x], 1, ("axis", axis));
        var shape = s.NewNode("Shape", $"{name}_shape", [x]);
        var output = n.Output[0];
        n.Input[0] = flatten.Output[0];
        n.Output[0] = s.Fresh($"{name}_2d");
        UpgradeStep.SetAttr(n, "axis", -1L);
        var reshape = s.NewNode("Reshape", $"{name}_reshape", [n.Output[0], shape.Output[0]]);
        reshape.Output[0] = output;
        return [flatten, shape, n, reshape];
    }
}
