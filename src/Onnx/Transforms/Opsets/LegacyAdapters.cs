using System.Globalization;
using PolyNet.Onnx.Proto;

namespace PolyNet.Onnx.Transforms.Opsets;

/// <summary>Attribute renames, removals and output changes of the change log.</summary>
internal static class LegacyAdapters
{
    public static IReadOnlyList<NodeProto>? Drop(NodeProto n, string attribute) => UpgradeStep.RemoveAttr(n, attribute) ? [n] : null;

    public static IReadOnlyList<NodeProto>? Refuse(UpgradeStep s, NodeProto n, string reason)
    {
        s.Refuse(n, reason);
        return null;
    }

    public static IReadOnlyList<NodeProto>? DropConsumedInputs(UpgradeStep s, NodeProto n) => Drop(n, "consumed_inputs");

    public static IReadOnlyList<NodeProto>? SplitInputToAttribute(UpgradeStep s, NodeProto n)
    {
        if (n.Input.Count < 2) return null;
        if (n.Input[1].Length > 0)
        {
            if (s.Constant(n.Input[1]) is not { } split) { s.Refuse(n, $"its 'split' input '{n.Input[1]}' is not a constant"); return null; }
            UpgradeStep.SetAttr(n, "split", UpgradeStep.Ints(split));
        }
        n.Input.RemoveAt(1);
        return [n];
    }

    public static IReadOnlyList<NodeProto>? PaddingsToPads(UpgradeStep s, NodeProto n)
    {
        if (UpgradeStep.Attr(n, "paddings") is not { } a) return null;
        a.Name = "pads";
        return [n];
    }

    public static IReadOnlyList<NodeProto>? IntegerP(UpgradeStep s, NodeProto n)
    {
        if (UpgradeStep.Attr(n, "p") is not { Type: AttributeProto.Types.AttributeType.Float } a) return null;
        if (a.F != MathF.Round(a.F) || a.F < 1) { s.Refuse(n, $"p = {a.F.ToString(CultureInfo.InvariantCulture)} is not a positive integer, which opset 2 requires"); return null; }
        UpgradeStep.SetAttr(n, "p", (long)a.F);
        return [n];
    }

    public static IReadOnlyList<NodeProto>? ConcatAxis(UpgradeStep s, NodeProto n)
    {
        if (UpgradeStep.Attr(n, "axis") is not null) return null;
        UpgradeStep.SetAttr(n, "axis", 1L);
        return [n];
    }

    public static IReadOnlyList<NodeProto>? CastTo(UpgradeStep s, NodeProto n)
    {
        if (UpgradeStep.Attr(n, "to") is not { Type: AttributeProto.Types.AttributeType.String } a) return null;
        var name = a.S.ToStringUtf8();
        if (!Enum.TryParse<ElementType>(name, ignoreCase: true, out var t) || t == ElementType.Undefined || int.TryParse(name, out _))
        {
            s.Refuse(n, $"'to' = '{name}' is not an ONNX data type name");
            return null;
        }
        UpgradeStep.SetAttr(n, "to", (long)t);
        return [n];
    }

    public static IReadOnlyList<NodeProto>? TileRepeats(UpgradeStep s, NodeProto n)
    {
        if (n.Input.Count != 3) return null;
        var tiles = s.Constant(n.Input[1]);
        var axis = s.Constant(n.Input[2]);
        if (tiles is null || axis is null || s.Rank(n.Input[0]) is not { } rank)
        {
            s.Refuse(n, "Tile-1's 'tiles' and 'axis' must be constants and the input's rank known to become 'repeats'");
            return null;
        }
        var repeats = Enumerable.Repeat(1L, rank).ToArray();
        long ax = UpgradeStep.Ints(axis)[0];
        repeats[ax < 0 ? ax + rank : ax] = UpgradeStep.Ints(tiles)[0];
        var c = s.ConstantInts(repeats, $"{UpgradeStep.NameOf(n)}_repeats");
        n.Input.RemoveAt(2);
        n.Input[1] = c.Output[0];
        return [c, n];
    }

    public static IReadOnlyList<NodeProto>? BatchNormSpatial(UpgradeStep s, NodeProto n)
    {
        if (UpgradeStep.Attr(n, "spatial") is not { } a) return null;
        if (a.I == 0) { s.Refuse(n, "spatial = 0 (statistics per activation, not per channel) has no equivalent from opset 9"); return null; }
        n.Attribute.Remove(a);
        return [n];
    }

    /// <summary>Outputs that nothing reads are dropped; a read one cannot cross the change.</summary>
    private static IReadOnlyList<NodeProto>? TrimOutputs(UpgradeStep s, NodeProto n, int keep, string what)
    {
        if (n.Output.Count <= keep) return null;
        if (n.Output.Skip(keep).FirstOrDefault(s.IsUsed) is { } used) { s.Refuse(n, $"its output '{used}' ({what}) is used"); return null; }
        while (n.Output.Count > keep) n.Output.RemoveAt(n.Output.Count - 1);
        return [n];
    }

    /// <summary>From opset 14 an inference BatchNormalization (training_mode 0) has one output: running mean and variance, and saved mean and variance, are training outputs.</summary>
    public static IReadOnlyList<NodeProto>? BatchNormOutputs(UpgradeStep s, NodeProto n)
        => TrimOutputs(s, n, 1, "a training statistic; from opset 14 an inference BatchNormalization has one output");

    public static IReadOnlyList<NodeProto>? DropoutMask(UpgradeStep s, NodeProto n)
        => TrimOutputs(s, n, 1, "the mask, whose type changes to bool in opset 10");

    public static IReadOnlyList<NodeProto>? SplitNumOutputs(UpgradeStep s, NodeProto n)
    {
        if (n.Input.Count > 1 && n.Input[1].Length > 0 || UpgradeStep.Attr(n, "num_outputs") is not null) return null;
        UpgradeStep.SetAttr(n, "num_outputs", (long)n.Output.Count);
        return [n];
    }
}
