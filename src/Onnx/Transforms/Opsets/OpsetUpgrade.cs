using PolyNet.Onnx.Proto;

namespace PolyNet.Onnx.Transforms.Opsets;

/// <summary>How many nodes one change of the change log touched.</summary>
public sealed record OpsetChange(long Version, string OpType, string Change, int Nodes);

/// <summary>What <see cref="OpsetUpgrade.Apply"/> did. <see cref="Changes"/> is empty when only the opset number moved.</summary>
public sealed record OpsetUpgradeResult(OnnxModel Model, long FromOpset, long ToOpset, long FromIrVersion, long ToIrVersion, IReadOnlyList<OpsetChange> Changes)
{
    public bool OnlyVersionChanged => Changes.Count == 0;
    public int NodesChanged => Changes.Sum(c => c.Nodes);
}

/// <summary>
/// Converts a model's default-domain operator set to a newer one, one opset at a time, crossing each change of
/// <see cref="OpsetChangeLog"/> node by node (subgraphs included). What cannot be converted is gathered and
/// refused in one error that names every node and why; the model is never half converted. Other domains
/// (com.microsoft, ai.onnx.ml) and model-local functions are left as they are. Pure: returns a new model.
/// </summary>
public static class OpsetUpgrade
{
    public const long MinTarget = 7;
    public const long MaxTarget = 21;

    public static OpsetUpgradeResult Apply(OnnxModel model, long target)
    {
        if (target < MinTarget || target > MaxTarget)
            throw new InvalidInputException($"opset {target}: PolyNet upgrades models to opsets {MinTarget} to {MaxTarget}");
        var from = model.OpsetVersion() ?? throw InvalidInputException.ForFile(model.DisplayName, "imports no ai.onnx operator set, so there is no opset to upgrade");
        if (from > target)
            throw InvalidInputException.ForFile(model.DisplayName, $"the model is opset {from}, newer than the target opset {target} (PolyNet upgrades models; it does not downgrade them)");
        var proto = model.Proto.Clone();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var g in ModelWalker.AllGraphs(proto))
        {
            foreach (var n in g.Node) { names.Add(n.Name); names.UnionWith(n.Input); names.UnionWith(n.Output); }
            names.UnionWith(g.Input.Concat(g.Output).Concat(g.ValueInfo).Select(v => v.Name));
            names.UnionWith(g.Initializer.Select(t => t.Name));
        }
        var counts = new Dictionary<OpsetAdapter, int>();
        for (long v = from + 1; v <= target; v++)
        {
            var adapters = OpsetChangeLog.ByVersion[v].ToList();
            if (adapters.Count == 0) continue;
            var refusals = new List<string>();
            Convert(proto.Graph, null, v, adapters, model.BaseDirectory, names, refusals, counts);
            if (refusals.Count > 0)
                throw InvalidInputException.ForFile(model.DisplayName, $"cannot be upgraded from opset {from} to {target}: at opset {v}, {string.Join("; ", refusals)}");
        }
        foreach (var o in proto.OpsetImport.Where(o => o.Domain is "" or "ai.onnx")) o.Version = target;
        long ir = proto.IrVersion;
        proto.IrVersion = Math.Max(ir, OpsetChangeLog.MinIrVersion(target));
        var changes = counts.Select(kv => new OpsetChange(kv.Key.Version, kv.Key.OpType, kv.Key.Change, kv.Value)).OrderBy(c => c.Version).ToList();
        return new OpsetUpgradeResult(model.WithProto(proto), from, target, ir, proto.IrVersion, changes);
    }

    private static void Convert(GraphProto graph, TensorFacts? outer, long version, List<OpsetAdapter> adapters, string? baseDirectory,
                                HashSet<string> names, List<string> refusals, Dictionary<OpsetAdapter, int> counts)
    {
        var facts = new TensorFacts(graph, baseDirectory, outer);
        var step = new UpgradeStep(version, graph, facts, names, refusals);
        var nodes = new List<NodeProto>(graph.Node.Count);
        foreach (var node in graph.Node)
        {
            var replacement = new List<NodeProto> { node };
            if (node.Domain is "" or "ai.onnx")
                foreach (var a in adapters.Where(a => a.OpType == "*" || a.OpType == node.OpType).ToList())
                    if (replacement.IndexOf(node) is var at and >= 0 && a.Adapt(step, node) is { } r)
                    {
                        counts[a] = counts.GetValueOrDefault(a) + 1;
                        replacement.RemoveAt(at);
                        replacement.InsertRange(at, r);
                    }
            nodes.AddRange(replacement);
        }
        graph.Node.Clear();
        graph.Node.AddRange(nodes);
        foreach (var sub in graph.Node.SelectMany(ModelWalker.Subgraphs).ToList())
            Convert(sub, facts, version, adapters, baseDirectory, names, refusals, counts);
    }
}
