using PolyNet.Onnx.Proto;

namespace PolyNet.Onnx.Transforms;

/// <summary>Exposes intermediate tensors as graph outputs, so a runtime returns them (layerwise comparison).</summary>
public static class ModelOutputs
{
    /// <summary>
    /// A copy of <paramref name="model"/> whose graph also outputs <paramref name="tensors"/> (after its own outputs,
    /// in the given order; names already outputs are skipped). Types come from the graph's value infos when known;
    /// otherwise the output carries no type and the runtime infers it. Unknown names are an error.
    /// </summary>
    public static OnnxModel Expose(OnnxModel model, IReadOnlyList<string> tensors)
    {
        var proto = model.Proto.Clone();
        var graph = proto.Graph;
        var view = new GraphView(graph);
        var existing = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var known = view.TensorNames.ToHashSet(StringComparer.Ordinal);
        foreach (var name in tensors)
        {
            if (!known.Contains(name))
                throw new InvalidInputException($"{model.DisplayName}: no tensor named '{name}' in the graph");
            if (!existing.Add(name)) continue;
            graph.Output.Add(view.ValueInfos.TryGetValue(name, out var vi) && vi.Type is not null
                ? new ValueInfoProto { Name = name, Type = vi.Type.Clone() }
                : view.Initializers.TryGetValue(name, out var init)
                    ? new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = init.DataType } } }
                    : new ValueInfoProto { Name = name });
        }
        return model.WithProto(proto);
    }
}
