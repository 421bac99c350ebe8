using PolyNet.Onnx.Proto;

namespace PolyNet.Onnx;

/// <summary>Visits every graph and every stored tensor of a model, subgraphs (If/Loop/Scan bodies) and functions included.</summary>
public static class ModelWalker
{
    /// <summary>The main graph, then every subgraph nested in node attributes, depth first; then training graphs.</summary>
    public static IEnumerable<GraphProto> AllGraphs(ModelProto model)
    {
        if (model.Graph is not null)
            foreach (var g in GraphAndSubgraphs(model.Graph)) yield return g;
        foreach (var ti in model.TrainingInfo)
        {
            if (ti.Initialization is not null)
                foreach (var g in GraphAndSubgraphs(ti.Initialization)) yield return g;
            if (ti.Algorithm is not null)
                foreach (var g in GraphAndSubgraphs(ti.Algorithm)) yield return g;
        }
    }

    public static IEnumerable<GraphProto> GraphAndSubgraphs(GraphProto graph)
    {
        yield return graph;
        foreach (var node in graph.Node)
            foreach (var sub in Subgraphs(node))
                foreach (var g in GraphAndSubgraphs(sub)) yield return g;
    }

    /// <summary>The graphs held directly in a node's attributes (If's branches, Loop's and Scan's bodies).</summary>
    public static IEnumerable<GraphProto> Subgraphs(NodeProto node)
    {
        foreach (var a in node.Attribute)
        {
            if (a.G is not null) yield return a.G;
            foreach (var g in a.Graphs) yield return g;
        }
    }

    /// <summary>Every TensorProto stored in the model: initializers, sparse parts, attribute tensors, in all graphs and functions.</summary>
    public static IEnumerable<TensorProto> AllTensors(ModelProto model)
    {
        foreach (var g in AllGraphs(model))
        {
            foreach (var t in g.Initializer) yield return t;
            foreach (var s in g.SparseInitializer)
                foreach (var t in SparseParts(s)) yield return t;
            foreach (var n in g.Node)
                foreach (var t in AttributeTensors(n.Attribute)) yield return t;
        }
        foreach (var f in model.Functions)
            foreach (var n in f.Node)
            {
                foreach (var t in AttributeTensors(n.Attribute)) yield return t;
                foreach (var sub in Subgraphs(n))
                    foreach (var g in GraphAndSubgraphs(sub))
                    {
                        foreach (var t in g.Initializer) yield return t;
                        foreach (var m in g.Node)
                            foreach (var t in AttributeTensors(m.Attribute)) yield return t;
                    }
            }
    }

    private static IEnumerable<TensorProto> AttributeTensors(IEnumerable<AttributeProto> attributes)
    {
        foreach (var a in attributes)
        {
            if (a.T is not null) yield return a.T;
            foreach (var t in a.Tensors) yield return t;
            if (a.SparseTensor is not null)
                foreach (var t in SparseParts(a.SparseTensor)) yield return t;
            foreach (var s in a.SparseTensors)
                foreach (var t in SparseParts(s)) yield return t;
        }
    }

    private static IEnumerable<TensorProto> SparseParts(SparseTensorProto s)
    {
        if (s.Values is not null) yield return s.Values;
        if (s.Indices is not null) yield return s.Indices;
    }

    /// <summary>A Constant node whose value is a dense tensor (its `value` attribute).</summary>
    public static bool IsTensorConstant(NodeProto n)
        => n.OpType == "Constant" && n.Domain is "" or "ai.onnx" && n.Attribute.Count == 1 && n.Attribute[0].Name == "value" && n.Attribute[0].T is not null;
}
