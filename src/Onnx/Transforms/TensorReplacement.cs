using PolyNet.Onnx.Proto;

namespace PolyNet.Onnx.Transforms;

/// <summary>
/// Turns computed tensors into graph inputs, so that a run can be fed other values for them ("what if this node's
/// output were the reference's?"). Each tensor's producer keeps computing, into a renamed output nothing reads; every
/// reader, subgraph bodies included, reads the new input instead, whose type and shape are those given (exact, so
/// shape inference downstream knows as much as it did). The rest of the model is untouched, so a runtime's own
/// conversions (float16 emulation) treat the new input as they treat any input.
/// </summary>
public static class TensorReplacement
{
    public const string DeadSuffix = "__polynet_replaced";

    public static OnnxModel AsInputs(OnnxModel model, IReadOnlyDictionary<string, TensorData> values)
    {
        var proto = model.Proto.Clone();
        var g = proto.Graph;
        foreach (var node in g.Node)
            for (int k = 0; k < node.Output.Count; k++)
                if (values.ContainsKey(node.Output[k])) node.Output[k] += DeadSuffix;
        var infos = g.ValueInfo.Where(v => !values.ContainsKey(v.Name)).ToList();
        g.ValueInfo.Clear();
        g.ValueInfo.AddRange(infos);
        foreach (var (name, t) in values)
        {
            if (g.Input.Any(i => i.Name == name)) continue;
            g.Input.Add(Subgraph.ToValueInfo(new ValueSpec(name, ValueKind.Tensor, t.ElementType, new SymbolicShape(t.Shape.ToArray().Select(SymbolicDim.Fixed).ToList()))));
        }
        return model.WithProto(proto);
    }
}
