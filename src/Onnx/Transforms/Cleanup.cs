using PolyNet.Onnx.Proto;

namespace PolyNet.Onnx.Transforms;

/// <summary>What <see cref="Cleanup.Apply"/> removed.</summary>
public sealed record CleanupResult(OnnxModel Model, int NodesRemoved, int InitializersRemoved, int ValueInfosRemoved);

/// <summary>
/// Graph hygiene for `surgeon sanitize`: drop nodes that no graph output depends on, initializers and value infos
/// nobody reads, sort nodes topologically, and override input shapes. Graph inputs are kept even when unused (callers
/// feed them). Pure: returns a new model.
/// </summary>
public static class Cleanup
{
    public static CleanupResult Apply(OnnxModel model)
    {
        var proto = model.Proto.Clone();
        var g = proto.Graph;
        var view = new GraphView(g);
        var live = new HashSet<int>();
        var needed = new HashSet<string>(g.Output.Select(o => o.Name), StringComparer.Ordinal);
        var stack = new Stack<string>(needed);
        while (stack.TryPop(out var t))
            if (view.Producer(t) is { } p && live.Add(p))
                foreach (var i in view.AllInputs(p))
                    if (needed.Add(i)) stack.Push(i);
        var nodes = g.Node.Where((_, i) => live.Contains(i)).ToList();
        int nodesRemoved = g.Node.Count - nodes.Count;
        g.Node.Clear();
        g.Node.AddRange(nodes);
        var inits = g.Initializer.Where(t => needed.Contains(t.Name)).ToList();
        int initsRemoved = g.Initializer.Count - inits.Count;
        g.Initializer.Clear();
        g.Initializer.AddRange(inits);
        var infos = g.ValueInfo.Where(v => needed.Contains(v.Name)).ToList();
        int infosRemoved = g.ValueInfo.Count - infos.Count;
        g.ValueInfo.Clear();
        g.ValueInfo.AddRange(infos);
        return new CleanupResult(model.WithProto(proto), nodesRemoved, initsRemoved, infosRemoved);
    }

    /// <summary>The model with its nodes in topological order (an error names the node on a cycle or a missing tensor).</summary>
    public static OnnxModel TopologicalSort(OnnxModel model)
    {
        var proto = model.Proto.Clone();
        var order = new GraphView(model.Graph).TopologicalOrder();
        var nodes = order.Select(i => model.Graph.Node[i].Clone()).ToList();
        proto.Graph.Node.Clear();
        proto.Graph.Node.AddRange(nodes);
        return model.WithProto(proto);
    }

    /// <summary>
    /// Sets graph input shapes; every other shape in the graph may be stale after that, so value infos and graph
    /// output shapes are dropped (callers re-infer them). Unknown inputs and rank changes are errors.
    /// </summary>
    public static OnnxModel OverrideInputShapes(OnnxModel model, IReadOnlyDictionary<string, TensorShape> shapes)
    {
        var proto = model.Proto.Clone();
        var g = proto.Graph;
        foreach (var (name, shape) in shapes)
        {
            var input = g.Input.FirstOrDefault(i => i.Name == name)
                ?? throw new InvalidInputException($"{model.DisplayName}: no graph input named '{name}'{Names.Suggest(name, g.Input.Select(i => i.Name))}");
            if (input.Type?.TensorType is not { } tensor)
                throw new InvalidInputException($"{model.DisplayName}: input '{name}' is not a tensor; its shape cannot be overridden");
            if (tensor.Shape is { } old && old.Dim.Count != shape.Rank)
                throw new InvalidInputException($"{model.DisplayName}: input '{name}' has rank {old.Dim.Count}; the override {shape} has rank {shape.Rank}");
            tensor.Shape = new TensorShapeProto();
            for (int d = 0; d < shape.Rank; d++) tensor.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = shape[d] });
        }
        g.ValueInfo.Clear();
        foreach (var o in g.Output)
            if (o.Type?.TensorType is { } t) t.Shape = null;
        return model.WithProto(proto);
    }

    /// <summary>Adds value infos (and output shapes where missing) from inferred types.</summary>
    public static OnnxModel AddValueInfos(OnnxModel model, IReadOnlyDictionary<string, ValueSpec> types)
    {
        var proto = model.Proto.Clone();
        var g = proto.Graph;
        var have = g.ValueInfo.Select(v => v.Name).Concat(g.Input.Select(i => i.Name)).Concat(g.Output.Select(o => o.Name)).ToHashSet(StringComparer.Ordinal);
        foreach (var n in g.Node)
            foreach (var o in n.Output)
                if (o.Length > 0 && !have.Contains(o) && types.TryGetValue(o, out var spec) && spec.ElementType != ElementType.Undefined && have.Add(o))
                    g.ValueInfo.Add(Subgraph.ToValueInfo(spec));
        for (int i = 0; i < g.Output.Count; i++)
            if (g.Output[i].Type?.TensorType is { Shape: null } && types.TryGetValue(g.Output[i].Name, out var spec) && spec.Kind == ValueKind.Tensor)
                g.Output[i] = Subgraph.ToValueInfo(spec);
        return model.WithProto(proto);
    }
}
