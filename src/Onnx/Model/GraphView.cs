using PolyNet.Onnx.Proto;

namespace PolyNet.Onnx;

/// <summary>
/// A read-only index over one graph: which node produces and which nodes consume each tensor, value infos,
/// initializers, and a topological order. Nodes with subgraphs (If, Loop, Scan) also "consume" the outer
/// tensors their bodies use (implicit inputs), so orders and extractions keep those producers.
/// Built once from the graph; rebuild it after changing the graph.
/// </summary>
public sealed class GraphView
{
    private readonly Dictionary<string, int> _producer = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<int>> _consumers = new(StringComparer.Ordinal);
    private readonly List<IReadOnlyList<string>> _implicitInputs = [];

    public GraphView(GraphProto graph)
    {
        Graph = graph;
        var inits = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var t in graph.Initializer) inits[t.Name] = t;
        Initializers = inits;
        var infos = new Dictionary<string, ValueInfoProto>(StringComparer.Ordinal);
        foreach (var vi in graph.ValueInfo) infos[vi.Name] = vi;
        foreach (var vi in graph.Input) infos[vi.Name] = vi;
        foreach (var vi in graph.Output) infos[vi.Name] = vi;
        ValueInfos = infos;
        GraphInputNames = graph.Input.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);

        for (int n = 0; n < graph.Node.Count; n++)
        {
            var node = graph.Node[n];
            foreach (var o in node.Output)
                if (o.Length > 0) _producer.TryAdd(o, n);
            var implicitInputs = ImplicitInputsOf(node);
            _implicitInputs.Add(implicitInputs);
            foreach (var i in node.Input.Concat(implicitInputs))
            {
                if (i.Length == 0) continue;
                if (!_consumers.TryGetValue(i, out var list)) _consumers[i] = list = [];
                if (list.Count == 0 || list[^1] != n) list.Add(n);
            }
        }
    }

    public GraphProto Graph { get; }
    public IReadOnlyList<NodeProto> Nodes => Graph.Node;
    public IReadOnlyDictionary<string, TensorProto> Initializers { get; }
    /// <summary>Value infos of the graph's inputs, outputs and intermediate tensors, by name.</summary>
    public IReadOnlyDictionary<string, ValueInfoProto> ValueInfos { get; }
    public IReadOnlySet<string> GraphInputNames { get; }

    /// <summary>Index of the node that produces <paramref name="tensor"/>, or null for graph inputs, initializers and unknown names.</summary>
    public int? Producer(string tensor) => _producer.TryGetValue(tensor, out var n) ? n : null;

    /// <summary>Indices of the nodes that read <paramref name="tensor"/> (explicitly or from a subgraph body), in graph order.</summary>
    public IReadOnlyList<int> Consumers(string tensor) => _consumers.TryGetValue(tensor, out var l) ? l : [];

    /// <summary>Outer-scope tensors that the subgraphs of node <paramref name="node"/> read.</summary>
    public IReadOnlyList<string> ImplicitInputs(int node) => _implicitInputs[node];

    /// <summary>Every input a node reads: its explicit inputs (empty optional names skipped) and its implicit ones.</summary>
    public IEnumerable<string> AllInputs(int node) => Nodes[node].Input.Where(i => i.Length > 0).Concat(_implicitInputs[node]);

    /// <summary>Every tensor name that appears: graph inputs, initializers, and node outputs, in that order.</summary>
    public IEnumerable<string> TensorNames =>
        Graph.Input.Select(i => i.Name).Concat(Initializers.Keys).Concat(Nodes.SelectMany(n => n.Output)).Where(n => n.Length > 0).Distinct(StringComparer.Ordinal);

    /// <summary>
    /// Node indices in a topological order: Kahn's algorithm, taking among ready nodes the one earliest in the
    /// file (or of the lowest <paramref name="priority"/>), so an already sorted graph keeps its order. Throws when the graph has a cycle or reads a tensor no
    /// one produces.
    /// </summary>
    /// <param name="outer">For a subgraph: the outer-scope tensors it may read.</param>
    /// <param name="priority">Among ready nodes, those of the lowest priority go first (then file order); default: file order alone.</param>
    public IReadOnlyList<int> TopologicalOrder(IEnumerable<string>? outer = null, Func<int, int>? priority = null)
    {
        int Key(int n) => priority?.Invoke(n) ?? 0;
        var available = new HashSet<string>(GraphInputNames, StringComparer.Ordinal);
        if (outer is not null) available.UnionWith(outer);
        available.UnionWith(Initializers.Keys);
        foreach (var s in Graph.SparseInitializer) if (s.Values is not null) available.Add(s.Values.Name);
        var pending = new int[Nodes.Count];
        var ready = new PriorityQueue<int, (int, int)>();
        for (int n = 0; n < Nodes.Count; n++)
        {
            int missing = 0;
            foreach (var i in AllInputs(n).Distinct(StringComparer.Ordinal))
                if (!available.Contains(i))
                {
                    if (!_producer.ContainsKey(i))
                        throw new InvalidInputException($"graph '{Graph.Name}': node {Describe(n)} reads '{i}', which no node produces and which is neither an input nor an initializer");
                    missing++;
                }
            pending[n] = missing;
            if (missing == 0) ready.Enqueue(n, (Key(n), n));
        }
        var order = new List<int>(Nodes.Count);
        var done = new HashSet<string>(StringComparer.Ordinal);
        while (ready.TryDequeue(out var n, out _))
        {
            order.Add(n);
            foreach (var o in Nodes[n].Output)
            {
                if (o.Length == 0 || available.Contains(o) || !done.Add(o)) continue;
                foreach (var c in Consumers(o))
                    if (--pending[c] == 0) ready.Enqueue(c, (Key(c), c));
            }
        }
        if (order.Count != Nodes.Count)
        {
            var stuck = Enumerable.Range(0, Nodes.Count).First(n => pending[n] > 0);
            throw new InvalidInputException($"graph '{Graph.Name}' has a cycle: node {Describe(stuck)} never becomes ready");
        }
        return order;
    }

    /// <summary>"'conv1' (Conv)" or "#12 (Relu)" for an unnamed node.</summary>
    public string Describe(int node)
    {
        var n = Nodes[node];
        return string.IsNullOrEmpty(n.Name) ? $"#{node} ({n.OpType})" : $"'{n.Name}' ({n.OpType})";
    }

    /// <summary>Outer-scope names read by the subgraphs of <paramref name="node"/> (recursively), in first-use order.</summary>
    public static IReadOnlyList<string> ImplicitInputsOf(NodeProto node)
    {
        List<string>? result = null;
        foreach (var sub in ModelWalker.Subgraphs(node))
            foreach (var name in OuterReferences(sub))
            {
                result ??= [];
                if (!result.Contains(name)) result.Add(name);
            }
        return (IReadOnlyList<string>?)result ?? [];
    }

    /// <summary>Names a graph reads that it does not define: outer-scope tensors, for a subgraph.</summary>
    public static IEnumerable<string> OuterReferences(GraphProto g)
    {
        var local = new HashSet<string>(StringComparer.Ordinal);
        foreach (var i in g.Input) local.Add(i.Name);
        foreach (var t in g.Initializer) local.Add(t.Name);
        foreach (var n in g.Node)
            foreach (var o in n.Output) local.Add(o);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var n in g.Node)
        {
            foreach (var i in n.Input)
                if (i.Length > 0 && !local.Contains(i) && seen.Add(i)) yield return i;
            foreach (var i in ImplicitInputsOf(n))
                if (!local.Contains(i) && seen.Add(i)) yield return i;
        }
        foreach (var o in g.Output)
            if (!local.Contains(o.Name) && seen.Add(o.Name)) yield return o.Name;
    }
}
