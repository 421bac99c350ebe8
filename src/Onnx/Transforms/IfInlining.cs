using PolyNet.Onnx.Proto;

namespace PolyNet.Onnx.Transforms;

/// <summary>What <see cref="IfInlining.Inline"/> did to one If node.</summary>
/// <param name="Branch">"then" or "else".</param>
public sealed record InlinedIf(string Node, string Branch, int Nodes);

/// <summary>
/// Replaces If nodes of the main graph by the nodes of the branch a given input takes, so that every tensor the
/// branch computes becomes a tensor of the main graph, which layerwise comparison and localization can expose and
/// cut. The result computes exactly what the model computes for inputs that take the same branches (and only for
/// those). Branch tensors keep their names unless a name is already taken in the main graph, in which case they are
/// prefixed with the If node's name; the If's outputs are Identity nodes over the branch's outputs; the branch's
/// initializers and value infos move to the main graph. Nested If nodes become main-graph If nodes, to be inlined in
/// a next round once their conditions are known. Loop and Scan bodies are left alone.
/// </summary>
public static class IfInlining
{
    /// <summary>The condition tensors of the main graph's If nodes, in graph order.</summary>
    public static IReadOnlyList<string> Conditions(OnnxModel model)
        => model.Graph.Node.Where(IsIf).Select(n => n.Input[0]).Where(c => c.Length > 0).Distinct(StringComparer.Ordinal).ToList();

    private static bool IsIf(NodeProto n) => n.OpType == "If" && n.Domain is "" or "ai.onnx";

    /// <summary>The model with every main-graph If whose condition is in <paramref name="conditions"/> inlined.</summary>
    public static (OnnxModel Model, IReadOnlyList<InlinedIf> Inlined) Inline(OnnxModel model, IReadOnlyDictionary<string, bool> conditions)
    {
        var proto = model.Proto.Clone();
        var g = proto.Graph;
        var taken = new HashSet<string>(StringComparer.Ordinal);
        foreach (var x in g.Input) taken.Add(x.Name);
        foreach (var x in g.Initializer) taken.Add(x.Name);
        foreach (var n in g.Node)
            foreach (var o in n.Output) taken.Add(o);
        var nodes = new List<NodeProto>();
        var inlined = new List<InlinedIf>();
        int index = 0;
        foreach (var node in g.Node)
        {
            index++;
            if (!IsIf(node) || !conditions.TryGetValue(node.Input[0], out var cond))
            {
                nodes.Add(node);
                continue;
            }
            var branchName = cond ? "then_branch" : "else_branch";
            var branch = node.Attribute.FirstOrDefault(a => a.Name == branchName)?.G;
            if (branch is null)
            {
                nodes.Add(node);
                continue;
            }
            var prefix = string.IsNullOrEmpty(node.Name) ? $"If_{index}" : node.Name;
            var rename = new Dictionary<string, string>(StringComparer.Ordinal);
            string Local(string name)
            {
                if (name.Length == 0 || rename.TryGetValue(name, out var r)) return name.Length == 0 ? name : rename[name];
                var fresh = name;
                for (int k = 1; !taken.Add(fresh); k++) fresh = k == 1 ? $"{prefix}/{name}" : $"{prefix}/{name}_{k}";
                rename[name] = fresh;
                return fresh;
            }
            foreach (var t in branch.Initializer)
            {
                var c = t.Clone();
                c.Name = Local(t.Name);
                g.Initializer.Add(c);
            }
            foreach (var b in branch.Node)
                foreach (var o in b.Output)
                    if (o.Length > 0) Local(o);
            foreach (var b in branch.Node)
            {
                var c = b.Clone();
                for (int i = 0; i < c.Input.Count; i++)
                    if (rename.TryGetValue(c.Input[i], out var r)) c.Input[i] = r;
                for (int i = 0; i < c.Output.Count; i++)
                    if (rename.TryGetValue(c.Output[i], out var r)) c.Output[i] = r;
                if (!string.IsNullOrEmpty(c.Name) && !taken.Add(c.Name)) c.Name = $"{prefix}/{c.Name}";
                foreach (var sub in ModelWalker.Subgraphs(c)) RenameOuter(sub, rename);
                nodes.Add(c);
            }
            foreach (var vi in branch.ValueInfo)
                if (rename.TryGetValue(vi.Name, out var r))
                {
                    var c = vi.Clone();
                    c.Name = r;
                    g.ValueInfo.Add(c);
                }
            for (int k = 0; k < node.Output.Count && k < branch.Output.Count; k++)
            {
                if (node.Output[k].Length == 0) continue;
                var src = branch.Output[k].Name;
                var id = new NodeProto { OpType = "Identity", Name = $"{prefix}/output_{k}" };
                id.Input.Add(rename.TryGetValue(src, out var r) ? r : src);
                id.Output.Add(node.Output[k]);
                nodes.Add(id);
            }
            inlined.Add(new InlinedIf(string.IsNullOrEmpty(node.Name) ? prefix : node.Name, cond ? "then" : "else", branch.Node.Count));
        }
        g.Node.Clear();
        g.Node.AddRange(nodes);
        return (model.WithProto(proto), inlined);
    }

    /// <summary>In a nested subgraph, renames references to outer tensors that were renamed (names the subgraph defines itself are its own).</summary>
    private static void RenameOuter(GraphProto g, IReadOnlyDictionary<string, string> rename)
    {
        var local = new HashSet<string>(StringComparer.Ordinal);
        foreach (var i in g.Input) local.Add(i.Name);
        foreach (var t in g.Initializer) local.Add(t.Name);
        foreach (var n in g.Node)
            foreach (var o in n.Output) local.Add(o);
        var inner = rename.Where(kv => !local.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        if (inner.Count == 0) return;
        foreach (var n in g.Node)
        {
            for (int i = 0; i < n.Input.Count; i++)
                if (inner.TryGetValue(n.Input[i], out var r)) n.Input[i] = r;
            foreach (var sub in ModelWalker.Subgraphs(n)) RenameOuter(sub, inner);
        }
        foreach (var o in g.Output)
            if (inner.TryGetValue(o.Name, out var r)) o.Name = r;
    }
}
