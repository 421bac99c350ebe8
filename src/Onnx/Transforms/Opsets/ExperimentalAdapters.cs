using PolyNet.Onnx.Proto;

namespace PolyNet.Onnx.Transforms.Opsets;

/// <summary>
/// The experimental operators of opsets 1 to 9 that have an exact standard equivalent (old model-zoo models use
/// ImageScaler): rewritten as Mul and Add over float constants.
/// </summary>
internal static class ExperimentalAdapters
{
    public static IReadOnlyList<NodeProto>? ImageScaler(UpgradeStep s, NodeProto n)
    {
        if (!IsFloat(s, n)) return null;
        float scale = UpgradeStep.Attr(n, "scale")?.F ?? 1f;
        var bias = UpgradeStep.Attr(n, "bias")?.Floats.ToArray() ?? [];
        var biasValue = TensorData.Create(new long[] { 1, bias.Length, 1, 1 }, bias);
        return MulAdd(s, n, scale, bias.Length == 0 ? null : biasValue);
    }

    public static IReadOnlyList<NodeProto>? Scale(UpgradeStep s, NodeProto n)
        => IsFloat(s, n) ? MulAdd(s, n, UpgradeStep.Attr(n, "scale")?.F ?? 1f, null) : null;

    public static IReadOnlyList<NodeProto>? Affine(UpgradeStep s, NodeProto n)
        => IsFloat(s, n) ? MulAdd(s, n, UpgradeStep.Attr(n, "alpha")?.F ?? 1f, TensorData.Scalar(UpgradeStep.Attr(n, "beta")?.F ?? 0f)) : null;

    private static bool IsFloat(UpgradeStep s, NodeProto n)
    {
        var t = s.TypeOf(n.Input[0]);
        if (t is ElementType.Float or ElementType.Undefined) return true;
        s.Refuse(n, $"input '{n.Input[0]}' is {t.DisplayName()}; PolyNet rewrites this operator for float inputs only");
        return false;
    }

    /// <summary>y = x · scale (+ bias), keeping the node's name on the Mul and its output on the last node.</summary>
    private static IReadOnlyList<NodeProto> MulAdd(UpgradeStep s, NodeProto n, float scale, TensorData? bias)
    {
        var name = UpgradeStep.NameOf(n);
        var scaleNode = s.ConstantNode(TensorData.Scalar(scale), $"{name}_scale");
        var mul = s.NewNode("Mul", $"{name}_mul", [n.Input[0], scaleNode.Output[0]]);
        if (bias is null)
        {
            mul.Output[0] = n.Output[0];
            return [scaleNode, mul];
        }
        var biasNode = s.ConstantNode(bias, $"{name}_bias");
        var add = s.NewNode("Add", $"{name}_add", [mul.Output[0], biasNode.Output[0]]);
        add.Output[0] = n.Output[0];
        return [scaleNode, mul, biasNode, add];
    }
}
