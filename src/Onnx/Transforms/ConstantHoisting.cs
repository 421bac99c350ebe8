using PolyNet.Onnx.Proto;

namespace PolyNet.Onnx.Transforms;

/// <summary>
/// Weights held in Constant nodes (PaddlePaddle and some PyTorch exports put every weight there) made initializers of
/// the graph that holds them, main graph and bodies alike, so that what treats weights as weights (float16 clamping,
/// fp32_ops, INT8 weight quantization, inspection) sees them. Same values, same names; a Constant whose output is
/// its graph's output stays a node.
/// </summary>
public static class ConstantHoisting
{
    /// <summary>The model with its tensor Constants as initializers, and how many there were.</summary>
    public static (OnnxModel Model, int Hoisted) Apply(OnnxModel model)
    {
        int count = 0;
        if (!ModelWalker.AllGraphs(model.Proto).Any(g => g.Node.Any(ModelWalker.IsTensorConstant))) return (model, 0);
        var proto = model.Proto.Clone();
        foreach (var g in ModelWalker.GraphAndSubgraphs(proto.Graph).ToList())
        {
            var outputs = g.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
            var keep = new List<NodeProto>();
            foreach (var n in g.Node)
            {
                if (ModelWalker.IsTensorConstant(n) && n.Output.Count == 1 && !outputs.Contains(n.Output[0]))
                {
                    var t = n.Attribute.First(a => a.Name == "value").T.Clone();
                    t.Name = n.Output[0];
                    g.Initializer.Add(t);
                    count++;
                }
                else keep.Add(n);
            }
            g.Node.Clear();
            g.Node.AddRange(keep);
        }
        return (model.WithProto(proto), count);
    }
}
