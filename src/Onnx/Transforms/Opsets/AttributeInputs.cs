using PolyNet.Onnx.Proto;

namespace PolyNet.Onnx.Transforms.Opsets;

/// <summary>Changes where attributes became inputs: the values move into Constant nodes feeding the new inputs.</summary>
internal static class AttributeInputs
{
    /// <summary>Moves each integer attribute present to input <c>Index</c> (missing inputs before it become "").</summary>
    public static IReadOnlyList<NodeProto>? Move(UpgradeStep s, NodeProto n, params (string Attribute, int Index, bool Scalar)[] moves)
    {
        var added = new List<NodeProto>();
        foreach (var (attribute, index, scalar) in moves)
            if (s.IntsToInput(n, attribute, scalar) is { } c)
            {
                SetInput(n, index, c.Output[0]);
                added.Add(c);
            }
        return added.Count == 0 ? null : [.. added, n];
    }

    public static void SetInput(NodeProto n, int index, string tensor)
    {
        while (n.Input.Count <= index) n.Input.Add("");
        n.Input[index] = tensor;
    }

    private static void TrimEmptyInputs(NodeProto n)
    {
        while (n.Input.Count > 0 && n.Input[^1].Length == 0) n.Input.RemoveAt(n.Input.Count - 1);
    }

    public static IReadOnlyList<NodeProto>? ClipBounds(UpgradeStep s, NodeProto n)
    {
        var added = new List<NodeProto>();
        foreach (var (name, index) in new[] { ("min", 1), ("max", 2) })
            if (UpgradeStep.Attr(n, name) is { } a)
            {
                n.Attribute.Remove(a);
                var c = s.ScalarLike(n.Input[0], a.F, $"{UpgradeStep.NameOf(n)}_{name}");
                SetInput(n, index, c.Output[0]);
                added.Add(c);
            }
        TrimEmptyInputs(n);
        return added.Count == 0 ? null : [.. added, n];
    }

    public static IReadOnlyList<NodeProto>? PadInputs(UpgradeStep s, NodeProto n)
    {
        var added = new List<NodeProto>();
        bool changed = false;
        if (s.IntsToInput(n, "pads") is { } pads)
        {
            SetInput(n, 1, pads.Output[0]);
            added.Add(pads);
        }
        if (UpgradeStep.Attr(n, "value") is { } v)
        {
            n.Attribute.Remove(v);
            changed = true;
            if (v.F != 0)
            {
                var c = s.ScalarLike(n.Input[0], v.F, $"{UpgradeStep.NameOf(n)}_value");
                SetInput(n, 2, c.Output[0]);
                added.Add(c);
            }
        }
        return added.Count == 0 && !changed ? null : [.. added, n];
    }

    public static IReadOnlyList<NodeProto>? DropoutRatio(UpgradeStep s, NodeProto n)
    {
        if (UpgradeStep.Attr(n, "ratio") is not { } a) return null;
        n.Attribute.Remove(a);
        var c = s.ConstantNode(TensorData.Scalar(a.F), $"{UpgradeStep.NameOf(n)}_ratio");
        SetInput(n, 1, c.Output[0]);
        return [c, n];
    }

    public static IReadOnlyList<NodeProto>? DftAxis(UpgradeStep s, NodeProto n)
    {
        long axis = UpgradeStep.Attr(n, "axis")?.I ?? 1;
        UpgradeStep.RemoveAttr(n, "axis");
        var c = s.ConstantInts([axis], $"{UpgradeStep.NameOf(n)}_axis", scalar: true);
        SetInput(n, 2, c.Output[0]);
        return [c, n];
    }
}
