using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using PolyNet.Onnx.Transforms;
using PolyNet.Runners.Native;

namespace PolyNet.Runners.Inspect;

/// <summary>What <see cref="ConstantFolding.Fold"/> did.</summary>
public sealed record FoldResult(OnnxModel Model, int NodesFolded, int TensorsMade, IReadOnlyList<string> Skipped);

/// <summary>
/// Replaces the parts of a graph that depend only on initializers and constants by their values, computed by
/// ONNX Runtime's CPU provider (so every op ORT runs folds exactly as ORT computes it). Shape nodes fold too when
/// their input's shape is fully known. Random ops never fold; nodes with subgraphs do not either; a result larger than
/// <c>sizeLimit</c> is left computed at run time (folding would bloat the model). Unused initializers are dropped after.
/// </summary>
public static class ConstantFolding
{
    private static readonly HashSet<string> Random = ["RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli"];

    public static FoldResult Fold(OnnxModel model, long sizeLimit = 1L << 30)
    {
        var types = OrtTypes.Infer(model);
        var view = new GraphView(model.Graph);
        var order = view.TopologicalOrder();
        var constant = new HashSet<string>(view.Initializers.Keys.Where(k => !view.GraphInputNames.Contains(k)), StringComparer.Ordinal);
        var shapes = new ValueMap();
        var foldable = new List<int>();
        var skipped = new List<string>();
        foreach (var n in order)
        {
            var node = view.Nodes[n];
            if (Random.Contains(node.OpType) || ModelWalker.Subgraphs(node).Any() || node.Domain is not ("" or "ai.onnx")) continue;
            if (node.OpType == "Shape" && ShapeOf(node, types) is { } s)
            {
                shapes.Add(node.Output[0], s);
                constant.Add(node.Output[0]);
                foldable.Add(n);
                continue;
            }
            if (!node.Input.Where(i => i.Length > 0).All(constant.Contains)) continue;
            var big = node.Output.FirstOrDefault(o => o.Length > 0 && Bytes(types, o) > sizeLimit);
            if (big is not null)
            {
                skipped.Add($"{big} ({Bytes(types, big)} bytes, over the size limit)");
                continue;
            }
            foldable.Add(n);
            foreach (var o in node.Output) if (o.Length > 0) constant.Add(o);
        }
        if (foldable.Count == 0) return new FoldResult(model, 0, 0, skipped);

        // Tensors of the folded part that the rest of the graph (or its outputs) reads.
        var set = foldable.ToHashSet();
        var graphOutputs = model.Graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var frontier = foldable.SelectMany(n => view.Nodes[n].Output)
            .Where(o => o.Length > 0 && (graphOutputs.Contains(o) || view.Consumers(o).Any(c => !set.Contains(c)))).Distinct(StringComparer.Ordinal).ToList();
        var values = new ValueMap();
        foreach (var (k, v) in shapes) if (frontier.Contains(k)) values.Add(k, v);
        var computed = frontier.Where(f => !shapes.ContainsKey(f)).ToList();
        if (computed.Count > 0)
        {
            bool IsShape(int n) => view.Nodes[n].OpType == "Shape" && shapes.ContainsKey(view.Nodes[n].Output[0]);
            var part = Subgraph.OfNodes(model, foldable.Where(n => !IsShape(n)).ToList(), types, view).Model.Proto;
            foreach (var (k, v) in shapes) // the folded shapes feed the rest as initializers
            {
                if (part.Graph.Input.FirstOrDefault(i => i.Name == k) is { } input) part.Graph.Input.Remove(input);
                part.Graph.Initializer.Add(TensorProtos.FromTensorData(k, (TensorData)v));
            }
            part.Graph.Output.Clear();
            foreach (var c in computed) part.Graph.Output.Add(new Onnx.Proto.ValueInfoProto { Name = c });
            try
            {
                using var session = CpuSessions.Create(part, model);
                foreach (var (k, v) in session.Run(new ValueMap())) values.Add(k, v);
            }
            catch (OrtException e)
            {
                throw new RunnerException($"{model.DisplayName}: ONNX Runtime could not compute the constant part of the graph: {OrtException.OneLine(e.OrtMessage)}", e);
            }
        }

        var proto = model.Proto.Clone();
        var g = proto.Graph;
        var keep = g.Node.Where((_, i) => !set.Contains(i)).ToList();
        g.Node.Clear();
        g.Node.AddRange(keep);
        foreach (var (name, v) in values)
        {
            if (v is not TensorData t) continue;
            g.Initializer.Add(TensorProtos.FromTensorData(name, t));
        }
        // Initializers only the folded nodes read are unused now; everything else (dead nodes included) is left to
        // cleanup, which the caller asks for or not.
        var after = new GraphView(g);
        var read = new HashSet<string>(g.Output.Select(o => o.Name).Concat(g.Input.Select(i => i.Name)), StringComparer.Ordinal);
        for (int i = 0; i < g.Node.Count; i++) { read.UnionWith(g.Node[i].Input); read.UnionWith(after.ImplicitInputs(i)); }
        var foldedInputs = foldable.SelectMany(n => view.Nodes[n].Input).ToHashSet(StringComparer.Ordinal);
        var unused = g.Initializer.Where(t => foldedInputs.Contains(t.Name) && !read.Contains(t.Name)).ToList();
        foreach (var t in unused) g.Initializer.Remove(t);
        return new FoldResult(model.WithProto(proto), foldable.Count, values.Count, skipped);
    }

    /// <summary>The value of a Shape node whose input's shape is fully known (start and end honoured), else null.</summary>
    private static TensorData? ShapeOf(Onnx.Proto.NodeProto node, IReadOnlyDictionary<string, ValueSpec> types)
    {
        if (node.Input.Count != 1 || !types.TryGetValue(node.Input[0], out var spec) || spec.Kind != ValueKind.Tensor || spec.Shape is not { } shape) return null;
        if (shape.Dims.Any(d => d.Value is null)) return null;
        var dims = shape.Dims.Select(d => d.Value!.Value).ToArray();
        long rank = dims.Length;
        long start = node.Attribute.FirstOrDefault(a => a.Name == "start")?.I ?? 0;
        long end = node.Attribute.FirstOrDefault(a => a.Name == "end") is { } e ? e.I : rank;
        if (start < 0) start += rank;
        if (end < 0) end += rank;
        start = Math.Clamp(start, 0, rank);
        end = Math.Clamp(end, start, rank);
        var slice = dims[(int)start..(int)end];
        return TensorData.Create<long>([slice.Length], slice);
    }

    private static long Bytes(IReadOnlyDictionary<string, ValueSpec> types, string name)
        => types.TryGetValue(name, out var s) && s.Shape is { } shape && shape.Dims.All(d => d.Value is not null) && s.ElementType != ElementType.String
            ? shape.Dims.Aggregate(1L, (a, d) => a * d.Value!.Value) * s.ElementType.ByteSize()
            : 0;
}
