using PolyNet.Onnx.Proto;

namespace PolyNet.Onnx.Transforms;

/// <summary>An extracted subgraph: the model, and the names of its inputs and outputs in order.</summary>
public sealed record Extracted(OnnxModel Model, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs, IReadOnlyList<int> Nodes)
{
    /// <summary>Original graph inputs the outputs needed although they were not asked for (they stay inputs).</summary>
    public IReadOnlyList<string> AddedInputs { get; init; } = [];
}

/// <summary>
/// Cuts subgraphs out of a model's main graph: by boundary tensors (<see cref="Between"/>, what `surgeon extract`
/// does) or by a set of nodes (<see cref="OfNodes"/>, what the reducer and the localizer do). The result keeps only the
/// nodes needed, the initializers they read, the opsets, model-local functions and metadata; nodes with subgraphs
/// (If, Loop, Scan) come whole, with the outer tensors their bodies read; an optional input left empty ("") stays
/// empty. Inputs and outputs get their element types and shapes from <c>types</c> (ONNX Runtime's inference, see
/// OrtTypes) where the model's value infos lack them, and value infos of every kept tensor are completed the same way.
/// </summary>
public static class Subgraph
{
    /// <summary>
    /// The part of the graph that computes <paramref name="outputs"/> from <paramref name="inputs"/>: producers of the
    /// new inputs and everything only they need are dropped. Original graph inputs that are still needed stay inputs
    /// (listed in <see cref="Extracted.AddedInputs"/>). Unknown names are an <see cref="InvalidInputException"/> naming
    /// the closest known tensor.
    /// </summary>
    /// <param name="dropUnneededInputs">Leave out inputs the outputs do not need (another input cuts them off) instead of refusing them.</param>
    public static Extracted Between(OnnxModel model, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, IReadOnlyDictionary<string, ValueSpec>? types = null, bool dropUnneededInputs = false)
    {
        var view = new GraphView(model.Graph);
        var known = view.TensorNames.ToHashSet(StringComparer.Ordinal);
        foreach (var name in inputs.Concat(outputs))
            if (!known.Contains(name))
                throw new InvalidInputException($"{model.DisplayName}: no tensor named '{name}'{Names.Suggest(name, known)}");
        if (outputs.Count == 0) throw new InvalidInputException($"{model.DisplayName}: extract needs at least one output");
        var cut = inputs.ToHashSet(StringComparer.Ordinal);
        var keep = new HashSet<int>();
        var added = new List<string>();
        var stack = new Stack<string>(outputs.Reverse());
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (stack.TryPop(out var t))
        {
            if (!seen.Add(t) || cut.Contains(t) || view.Initializers.ContainsKey(t)) continue;
            if (view.Producer(t) is { } p)
            {
                if (keep.Add(p))
                    foreach (var i in view.AllInputs(p)) stack.Push(i);
            }
            else if (view.GraphInputNames.Contains(t)) added.Add(t);
        }
        if (dropUnneededInputs) inputs = inputs.Where(seen.Contains).ToList();
        foreach (var i in inputs)
            if (!seen.Contains(i))
                throw new InvalidInputException($"{model.DisplayName}: input '{i}' is not needed to compute {string.Join(", ", outputs.Select(o => $"'{o}'"))}");
        var allInputs = inputs.Concat(added.Where(a => !cut.Contains(a)).OrderBy(a => model.Graph.Input.Select(x => x.Name).ToList().IndexOf(a))).ToList();
        return Build(model, view, keep, allInputs, outputs, types) with { AddedInputs = added.Where(a => !cut.Contains(a)).ToList() };
    }

    /// <summary>
    /// The nodes <paramref name="nodes"/> (indices into the main graph) as a model: its inputs are the tensors they read
    /// that no kept node produces (initializers excepted), in first-use order; its outputs are the tensors they produce
    /// that the original graph outputs or that a node outside the set reads, in production order.
    /// </summary>
    public static Extracted OfNodes(OnnxModel model, IReadOnlyCollection<int> nodes, IReadOnlyDictionary<string, ValueSpec>? types = null, GraphView? view = null)
    {
        view ??= new GraphView(model.Graph);
        var keep = nodes.ToHashSet();
        var produced = keep.SelectMany(n => view.Nodes[n].Output).Where(o => o.Length > 0).ToHashSet(StringComparer.Ordinal);
        var graphOutputs = model.Graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var inputs = new List<string>();
        var outputs = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var n in keep.Order())
        {
            foreach (var i in view.AllInputs(n))
                if (!produced.Contains(i) && !view.Initializers.ContainsKey(i) && seen.Add(i)) inputs.Add(i);
            foreach (var o in view.Nodes[n].Output)
                if (o.Length > 0 && (graphOutputs.Contains(o) || view.Consumers(o).Any(c => !keep.Contains(c)))) outputs.Add(o);
        }
        if (outputs.Count == 0) // a set whose results are all consumed inside: its last node's outputs
            outputs.AddRange(view.Nodes[keep.Max()].Output.Where(o => o.Length > 0));
        return Build(model, view, keep, inputs, outputs, types);
    }

    private static Extracted Build(OnnxModel model, GraphView view, HashSet<int> keep, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, IReadOnlyDictionary<string, ValueSpec>? types)
    {
        var src = model.Proto;
        var proto = new ModelProto
        {
            IrVersion = src.IrVersion, ProducerName = src.ProducerName, ProducerVersion = src.ProducerVersion, Domain = src.Domain,
            ModelVersion = src.ModelVersion, DocString = src.DocString,
            Graph = new GraphProto { Name = src.Graph.Name, DocString = src.Graph.DocString },
        };
        proto.OpsetImport.AddRange(src.OpsetImport.Select(o => o.Clone()));
        proto.Functions.AddRange(src.Functions.Select(f => f.Clone()));
        proto.MetadataProps.AddRange(src.MetadataProps.Select(m => m.Clone()));
        var g = proto.Graph;
        var order = keep.Order().ToList();
        g.Node.AddRange(order.Select(n => view.Nodes[n].Clone()));
        var isInput = inputs.ToHashSet(StringComparer.Ordinal);
        var read = order.SelectMany(view.AllInputs).ToHashSet(StringComparer.Ordinal);
        foreach (var t in src.Graph.Initializer)
            if (read.Contains(t.Name) && !isInput.Contains(t.Name)) g.Initializer.Add(t.Clone());
        foreach (var t in src.Graph.SparseInitializer)
            if (t.Values is { } v && read.Contains(v.Name) && !isInput.Contains(v.Name)) g.SparseInitializer.Add(t.Clone());
        foreach (var i in inputs) g.Input.Add(Info(i, view, types, model));
        foreach (var o in outputs) g.Output.Add(Info(o, view, types, model));
        var boundary = inputs.Concat(outputs).ToHashSet(StringComparer.Ordinal);
        foreach (var n in order)
            foreach (var o in view.Nodes[n].Output)
                if (o.Length > 0 && !boundary.Contains(o) && Info(o, view, types, model) is { Type: not null } vi) g.ValueInfo.Add(vi);
        return new Extracted(OnnxModel.FromProto(proto, model.BaseDirectory, model.DisplayName), inputs, outputs, order);
    }

    /// <summary>The value info of <paramref name="name"/>: the model's own if it has a type, an initializer's exact one, else one from <paramref name="types"/>.</summary>
    private static ValueInfoProto Info(string name, GraphView view, IReadOnlyDictionary<string, ValueSpec>? types, OnnxModel model)
    {
        if (view.ValueInfos.TryGetValue(name, out var vi) && vi.Type is not null && (types is null || HasShape(vi))) return vi.Clone();
        if (view.Initializers.TryGetValue(name, out var exact))
        {
            var et = new TypeProto.Types.Tensor { ElemType = exact.DataType, Shape = new TensorShapeProto() };
            foreach (var d in exact.Dims) et.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
            return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = et } };
        }
        // ONNX Runtime reports an unknown shape as no dimensions, like a scalar's: an inferred rank 0 is written as unknown.
        if (types is not null && types.TryGetValue(name, out var spec) && spec.ElementType != ElementType.Undefined)
            return ToValueInfo(spec.Shape is { Rank: 0 } && !view.GraphInputNames.Contains(name) ? spec with { Shape = null } : spec);
        return vi?.Clone() ?? new ValueInfoProto { Name = name };
    }

    private static bool HasShape(ValueInfoProto vi) => vi.Type.ValueCase != TypeProto.ValueOneofCase.TensorType || vi.Type.TensorType.Shape is not null;

    public static ValueInfoProto ToValueInfo(ValueSpec spec)
    {
        var tensor = new TypeProto.Types.Tensor { ElemType = (int)spec.ElementType };
        if (spec.Shape is { } shape)
        {
            tensor.Shape = new TensorShapeProto();
            foreach (var d in shape.Dims)
                tensor.Shape.Dim.Add(d.Value is { } v ? new TensorShapeProto.Types.Dimension { DimValue = v }
                    : d.Param is { } n ? new TensorShapeProto.Types.Dimension { DimParam = n } : new TensorShapeProto.Types.Dimension());
        }
        var type = new TypeProto { TensorType = tensor };
        type = spec.Kind switch
        {
            ValueKind.Sequence => new TypeProto { SequenceType = new TypeProto.Types.Sequence { ElemType = type } },
            ValueKind.Optional => new TypeProto { OptionalType = new TypeProto.Types.Optional { ElemType = type } },
            _ => type,
        };
        return new ValueInfoProto { Name = spec.Name, Type = type };
    }
}
