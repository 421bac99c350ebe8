using System.Text.RegularExpressions;
using PolyNet.Onnx;
using PolyNet.Onnx.Proto;
using PolyNet.Runners.Native;

namespace PolyNet.Runners.Inspect;

/// <summary>A node ONNX Runtime's CPU provider cannot run, with ORT's reason.</summary>
public sealed record UnsupportedNode(int Index, string Name, string OpType, string Reason, int Downstream);

/// <summary>
/// Which nodes ONNX Runtime's CPU execution provider cannot run. ORT reports one missing kernel per attempt, so the
/// search repeats: every node gets a unique name first (so ORT's message identifies it), the node ORT names is removed
/// together with everything that depends on it, and the rest is tried again. Nodes downstream of a failure are not
/// checked (they are counted in <see cref="UnsupportedNode.Downstream"/>).
/// </summary>
public static partial class OrtSupport
{
    [GeneratedRegex(@"node with name '([^']*)'")]
    private static partial Regex NodeName();

    public sealed record Result(IReadOnlyList<UnsupportedNode> Unsupported, string? OtherError);

    public static Result Check(OnnxModel model, int maxAttempts = 32)
    {
        var proto = model.Proto.Clone();
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < proto.Graph.Node.Count; i++)
        {
            var n = proto.Graph.Node[i];
            if (string.IsNullOrEmpty(n.Name) || names.ContainsKey(n.Name)) n.Name = $"polynet_node_{i}";
            names[n.Name] = i;
        }
        var original = model.Proto.Graph.Node;
        var found = new List<UnsupportedNode>();
        var api = OrtRuntime.Current.Api;
        for (int attempt = 0; attempt < maxAttempts; attempt++)
        {
            try
            {
                using var o = api.CreateSessionOptions();
                api.SetSessionGraphOptimizationLevel(o, 0);
                if (model.HasExternalData && model.BaseDirectory is { } dir)
                    api.AddSessionConfigEntry(o, "session.model_external_initializers_file_folder_path", dir);
                using var s = OrtSession.Create(Google.Protobuf.MessageExtensions.ToByteArray(proto), o);
                return new Result(found, null);
            }
            catch (OrtException e) when (e.Code == OrtErrorCode.NotImplemented && NodeName().Match(e.OrtMessage) is { Success: true } m && names.TryGetValue(m.Groups[1].Value, out var index))
            {
                var view = new GraphView(proto.Graph);
                int local = proto.Graph.Node.Select((n, i) => (n, i)).First(x => x.n.Name == m.Groups[1].Value).i;
                var removed = Downstream(view, local);
                var what = string.IsNullOrEmpty(original[index].Name) ? $"#{index}" : original[index].Name;
                var reason = OrtException.OneLine(e.OrtMessage).Replace($"'{m.Groups[1].Value}'", $"'{what}'", StringComparison.Ordinal);
                found.Add(new UnsupportedNode(index, original[index].Name, original[index].OpType, reason, removed.Count - 1));
                Prune(proto.Graph, view, removed);
                if (proto.Graph.Node.Count == 0) return new Result(found, null);
            }
            catch (OrtException e)
            {
                return new Result(found, OrtException.OneLine(e.OrtMessage));
            }
        }
        return new Result(found, $"stopped after {maxAttempts} attempts");
    }

    private static HashSet<int> Downstream(GraphView view, int start)
    {
        var set = new HashSet<int> { start };
        var queue = new Queue<int>([start]);
        while (queue.TryDequeue(out var n))
            foreach (var o in view.Nodes[n].Output)
                foreach (var c in view.Consumers(o))
                    if (set.Add(c)) queue.Enqueue(c);
        return set;
    }

    /// <summary>Removes <paramref name="removed"/>; what they read from kept nodes becomes graph output, so the rest stays checkable.</summary>
    private static void Prune(GraphProto g, GraphView view, HashSet<int> removed)
    {
        var frontier = new List<string>();
        foreach (var n in removed)
            foreach (var i in view.AllInputs(n))
                if (view.Producer(i) is { } p && !removed.Contains(p) && !frontier.Contains(i)) frontier.Add(i);
        var keep = g.Node.Where((_, i) => !removed.Contains(i)).ToList();
        var produced = keep.SelectMany(n => n.Output).ToHashSet(StringComparer.Ordinal);
        var outputs = g.Output.Where(o => produced.Contains(o.Name) || g.Input.Any(i => i.Name == o.Name)).ToList();
        foreach (var f in frontier)
            if (outputs.All(o => o.Name != f)) outputs.Add(view.ValueInfos.TryGetValue(f, out var vi) ? vi.Clone() : new ValueInfoProto { Name = f });
        g.Node.Clear();
        g.Node.AddRange(keep);
        g.Output.Clear();
        g.Output.AddRange(outputs);
    }
}
