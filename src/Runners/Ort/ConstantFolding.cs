using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using PolyNet.Onnx.Transforms;
using PolyNet.Runners.Inspect;
using PolyNet.Runners.Native;

namespace PolyNet.Runners.Ort;

/// <summary>
/// The main graph's constant subgraphs computed once, in float32, and made initializers, as TensorRT's builder folds
/// constants before it chooses precisions (so a weight computed from others is rounded to float16 once, as a weight,
/// not at every step of computing it). A node is constant when every input is an initializer that is not a graph
/// input, or the output of a constant node; random ops and nodes with subgraphs are never folded. Computed by ONNX
/// Runtime's CPU provider in one session; nothing is folded when the results would exceed <c>maxBytes</c>.
/// </summary>
public static class ConstantFolding
{
    private static readonly HashSet<string> Random = ["RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli", "Dropout"];

    /// <returns>The model with its constant nodes replaced by initializers, and how many nodes were folded.</returns>
    /// <param name="keep">Tensors that must stay computed (exposed for comparison): their nodes, and what depends on them, are not folded.</param>
    public static (OnnxModel Model, int Folded) Apply(OnnxModel model, IReadOnlyCollection<string>? keep = null, long maxBytes = 256L << 20)
    {
        var g = model.Graph;
        var view = new GraphView(g);
        var inputs = g.Input.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var constant = g.Initializer.Select(t => t.Name).Where(n => !inputs.Contains(n)).ToHashSet(StringComparer.Ordinal);
        var fold = new List<int>();
        foreach (var n in view.TopologicalOrder())
        {
            var node = g.Node[n];
            if (node.Domain is not ("" or "ai.onnx") || Random.Contains(node.OpType) || ModelWalker.Subgraphs(node).Any()) continue;
            var reads = node.Input.Where(i => i.Length > 0).ToList();
            if (reads.Count == 0 || !reads.All(constant.Contains) || (keep is not null && node.Output.Any(keep.Contains))) continue;
            fold.Add(n);
            foreach (var o in node.Output) if (o.Length > 0) constant.Add(o);
        }
        if (fold.Count == 0) return (model, 0);
        Extracted part;
        try { part = Subgraph.OfNodes(model, fold, OrtTypes.Infer(model), view); }
        catch (Exception e) when (e is RunnerException or InvalidInputException) { return (model, 0); }
        if (part.Outputs.Count == 0) return (model, 0);
        ValueMap values;
        try
        {
            using var session = CpuSessions.Create(part.Model.Proto, model);
            values = session.Run(new ValueMap());
        }
        catch (OrtException)
        {
            return (model, 0); // what ONNX Runtime cannot compute alone stays as it is
        }
        if (values.Values.Sum(v => v is TensorData t ? t.ByteCount : 0) > maxBytes || values.Values.Any(v => v is not TensorData { ElementType: not ElementType.String })) return (model, 0);
        var proto = model.Proto.Clone();
        var folded = fold.ToHashSet();
        var kept = proto.Graph.Node.Where((_, i) => !folded.Contains(i)).ToList();
        proto.Graph.Node.Clear();
        proto.Graph.Node.AddRange(kept);
        foreach (var (name, v) in values) proto.Graph.Initializer.Add(TensorProtos.FromTensorData(name, (TensorData)v));
        return (model.WithProto(proto), fold.Count);
    }
}
