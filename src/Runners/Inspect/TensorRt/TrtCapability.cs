using PolyNet.Onnx;
using PolyNet.Onnx.Proto;

namespace PolyNet.Runners.Inspect.TensorRt;

/// <summary>One node's answer: supported by TensorRT's ONNX parser, or not and why (every reason found).</summary>
public sealed record TrtNodeVerdict(int Index, string Name, string OpType, bool Supported, IReadOnlyList<string> Reasons);

/// <summary>
/// A maximal region of supported nodes that one TensorRT engine would take: its nodes (by index in the graph and by
/// name), the tensors that enter it from outside (graph inputs or fallback nodes; weights excluded) and those leaving it.
/// </summary>
public sealed record TrtPartition(int Index, IReadOnlyList<int> NodeIndices, IReadOnlyList<string> Nodes, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs);

/// <summary>What <see cref="TrtCapability.Analyze"/> found for a model and a TensorRT version.</summary>
public sealed record TrtCapabilityResult
{
    public required string Model { get; init; }
    public required string TrtVersion { get; init; }
    public required string Source { get; init; }
    public long? Opset { get; init; }
    /// <summary>Every node of the main graph, in file order.</summary>
    public required IReadOnlyList<TrtNodeVerdict> Nodes { get; init; }
    public required IReadOnlyList<TrtPartition> Partitions { get; init; }
    /// <summary>Tensors that pass between a TensorRT engine and ONNX Runtime's fallback (or another engine).</summary>
    public required IReadOnlyList<string> CrossingTensors { get; init; }
    /// <summary>Model-level notes: opset outside the documented range, dynamic inputs that need a profile, types cast down.</summary>
    public required IReadOnlyList<string> Caveats { get; init; }

    public IReadOnlyList<TrtNodeVerdict> Unsupported => Nodes.Where(n => !n.Supported).ToList();
    /// <summary>One engine takes the whole graph: nothing falls back to ONNX Runtime.</summary>
    public bool WholeModel => Nodes.All(n => n.Supported);
}

/// <summary>
/// TensorRT readiness without TensorRT: every node of a model checked against the chosen version's support table
/// (<see cref="TrtSupportMatrix"/>: op type, element types, the restrictions <see cref="TrtRules"/> can decide from
/// the graph; nodes with subgraphs are supported when every node of their bodies is), and the graph cut, as ONNX
/// Runtime's TensorRT provider cuts it, into maximal runs of supported nodes in a topological order that takes
/// supported nodes first (each run is one engine; such a run never depends on itself through a fallback node).
/// Constant nodes are weights, part of no run. Pure: the caller supplies the tensor types (ONNX Runtime's inference).
/// </summary>
public static class TrtCapability
{
    public static TrtCapabilityResult Analyze(OnnxModel model, TrtSupportMatrix matrix, IReadOnlyDictionary<string, ValueSpec> types)
    {
        var g = model.Graph;
        var view = new GraphView(g);
        // A graph with a cycle or a tensor nobody produces is no model TensorRT (or ORT) could take.
        IReadOnlyList<int> order;
        try { order = view.TopologicalOrder(); }
        catch (InvalidInputException e) { throw InvalidInputException.ForFile(model.DisplayName, e.Message); }
        var boundary = g.Input.Select(i => i.Name).Concat(g.Output.Select(o => o.Name)).ToHashSet(StringComparer.Ordinal);
        var doubles = new HashSet<string>(StringComparer.Ordinal);
        var lookups = new Lookups();
        var verdicts = Enumerable.Range(0, g.Node.Count).Select(i => Verdict(model, g, i, matrix, types, boundary, doubles, lookups)).ToList();
        var caveats = Caveats(model, matrix, doubles);
        var partitions = Partition(view, verdicts, order);
        var inside = new Dictionary<int, int>();
        foreach (var p in partitions) foreach (var n in p.NodeIndices) inside[n] = p.Index;
        var crossing = new List<string>();
        foreach (var p in partitions)
        {
            crossing.AddRange(p.Inputs.Where(t => view.Producer(t) is not null));
            crossing.AddRange(p.Outputs.Where(t => view.Consumers(t).Any(c => inside.GetValueOrDefault(c, -1) != p.Index)));
        }
        return new TrtCapabilityResult
        {
            Model = model.DisplayName, TrtVersion = matrix.Version, Source = matrix.Source, Opset = model.OpsetVersion(),
            Nodes = verdicts, Partitions = partitions, CrossingTensors = crossing.Distinct(StringComparer.Ordinal).ToList(), Caveats = caveats,
        };
    }

    public static string NodeName(NodeProto n, int index) => n.Name.Length > 0 ? n.Name : $"#{index} ({n.OpType})";

    /// <summary>Ops whose table types are their output's (their input is a shape).</summary>
    private static readonly HashSet<string> OutputTyped = new(StringComparer.Ordinal) { "ConstantOfShape" };

    private static TrtNodeVerdict Verdict(OnnxModel model, GraphProto g, int index, TrtSupportMatrix matrix, IReadOnlyDictionary<string, ValueSpec> types,
                                          HashSet<string> boundary, HashSet<string> doubles, Lookups lookups)
    {
        var n = g.Node[index];
        var reasons = Check(model, g, n, matrix, types, boundary, doubles, lookups);
        return new TrtNodeVerdict(index, NodeName(n, index), n.OpType, reasons.Count == 0, reasons);
    }

    private static List<string> Check(OnnxModel model, GraphProto g, NodeProto n, TrtSupportMatrix matrix, IReadOnlyDictionary<string, ValueSpec> types,
                                      HashSet<string> boundary, HashSet<string> doubles, Lookups lookups, IReadOnlyList<GraphProto>? outer = null)
    {
        outer ??= [];
        var reasons = new List<string>();
        if (n.Domain is not ("" or "ai.onnx"))
        {
            reasons.Add($"operator domain '{n.Domain}': TensorRT {matrix.Version}'s ONNX parser reads the ONNX default domain (other ops need a TensorRT plugin)");
            return reasons;
        }
        if (!matrix.Ops.TryGetValue(n.OpType, out var op))
        {
            reasons.Add($"{n.OpType} is not in TensorRT {matrix.Version}'s support table");
            return reasons;
        }
        if (!op.Supported)
        {
            reasons.Add($"{n.OpType} is not supported by TensorRT {matrix.Version}'s ONNX parser{(op.Restrictions.Length > 0 ? $" ({op.Restrictions})" : "")}");
            return reasons;
        }
        ValueSpec? Spec(string t) => types.TryGetValue(t, out var s) ? s : null;
        // A body reads its own tensors first, then its enclosing graphs' (initializers and Constant nodes included).
        var scope = new List<GraphProto> { g };
        scope.AddRange(outer);
        TensorProto? Initializer(string t) => scope.Select(x => lookups.For(x).Initializers.GetValueOrDefault(t)).FirstOrDefault(x => x is not null);
        NodeProto? Producer(string t) => scope.Select(x => lookups.For(x).Producers.GetValueOrDefault(t)).FirstOrDefault(x => x is not null);
        var ctx = new TrtNodeContext(n, Spec, Initializer, Producer, model.ReadTensor);

        // Element types: the op's main tensor (its first input, or its first output when it has none); Cast both ends.
        var checkedTensors = new List<string?> { n.Input.Count > 0 && !OutputTyped.Contains(n.OpType) ? ctx.Input(0) : ctx.Output(0) };
        if (n.OpType == "Cast") checkedTensors.Add(ctx.Output(0));
        foreach (var t in checkedTensors.OfType<string>())
        {
            var et = ctx.TypeOf(t);
            if (et == ElementType.Undefined || op.Types.Count == 0) continue;
            var token = TrtSupportMatrix.Token(et);
            if (op.Types.Contains(token)) continue;
            if (token == "DOUBLE" && matrix.NotesSay("DOUBLE")) { doubles.Add(t); continue; }
            if (token == "INT64" && op.Types.Contains("INT32") && matrix.NotesSay("cast down INT64 to INT32")) continue;
            if (token == "UINT8" && boundary.Contains(t) && matrix.NotesSay("UINT8 is only supported as network input or output")) continue;
            reasons.Add($"'{t}' is {et.DisplayName()}; TensorRT {matrix.Version} takes {string.Join(", ", op.Types)} for {n.OpType}");
        }
        if (matrix.NotesSay("UINT8 is only supported as network input or output"))
            foreach (var t in n.Input.Concat(n.Output).Where(t => t.Length > 0 && !boundary.Contains(t)).Distinct())
                if (ctx.TypeOf(t) == ElementType.UInt8) reasons.Add($"'{t}' is uint8 inside the network; TensorRT {matrix.Version} takes uint8 only as a network input or output");

        foreach (var rule in TrtRules.All)
            if (rule.Ops.Contains(n.OpType) && op.Restrictions.Contains(rule.Phrase, StringComparison.Ordinal) && rule.Check(ctx) is { } why)
                reasons.Add(why);

        foreach (var a in n.Attribute.Where(a => a.G is not null).Select(a => (a.Name, Graph: a.G)).Concat(n.Attribute.SelectMany(a => a.Graphs.Select(gr => (a.Name, Graph: gr)))))
        {
            var bad = a.Graph.Node.Select((b, i) => (Node: b, Index: i, Why: Check(model, a.Graph, b, matrix, types, boundary, doubles, lookups, scope))).Where(x => x.Why.Count > 0).ToList();
            if (bad.Count > 0)
                reasons.Add($"its body '{a.Name}' holds {bad.Count} unsupported node(s), first {NodeName(bad[0].Node, bad[0].Index)}: {bad[0].Why[0]}");
        }
        return reasons;
    }

    /// <summary>Per graph: its initializers and node outputs by name, built once per analysis.</summary>
    private sealed class Lookups
    {
        private readonly Dictionary<GraphProto, (Dictionary<string, TensorProto>, Dictionary<string, NodeProto>)> _byGraph = new(ReferenceEqualityComparer.Instance);

        public (Dictionary<string, TensorProto> Initializers, Dictionary<string, NodeProto> Producers) For(GraphProto g)
        {
            if (_byGraph.TryGetValue(g, out var hit)) return hit;
            var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
            foreach (var p in g.Node) foreach (var o in p.Output) if (o.Length > 0) producers.TryAdd(o, p);
            var inits = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
            foreach (var t in g.Initializer) inits.TryAdd(t.Name, t);
            return _byGraph[g] = (inits, producers);
        }
    }

    private static List<string> Caveats(OnnxModel model, TrtSupportMatrix matrix, HashSet<string> doubles)
    {
        var caveats = new List<string>();
        var range = matrix.MinOpset is { } lo ? $"{lo} to {matrix.MaxOpset}" : $"up to {matrix.MaxOpset}";
        if (model.OpsetVersion() is { } opset)
        {
            if (matrix.MinOpset is { } min && opset < min || opset < 7)
                caveats.Add($"the model is opset {opset}; TensorRT {matrix.Version} documents opsets {range}, and its parser guarantees nothing below opset 7 (it warns and goes on): 'polynet surgeon upgrade MODEL -o OUT --opset 17' converts it");
            if (matrix.MaxOpset is { } max && opset > max)
                caveats.Add($"the model is opset {opset}, newer than the opsets TensorRT {matrix.Version} documents ({range})");
        }
        foreach (var i in model.Inputs)
            if (i.Shape is { IsFullyKnown: false } s)
                caveats.Add($"input '{i.Name}' has dynamic dimensions {s}: a TensorRT engine needs an optimization profile (min/opt/max shapes; repeat --input-shapes to sweep several shapes, the trt runner's profile spans them)");
        if (doubles.Count > 0)
            caveats.Add($"{doubles.Count} double tensor(s) (first '{doubles.First()}'): TensorRT casts double to float, clamping to ±FLT_MAX");
        return caveats;
    }

    /// <summary>Runs of supported nodes in a topological order that takes any ready supported node before an unsupported one (weights, part of no run, do not end one).</summary>
    private static IReadOnlyList<TrtPartition> Partition(GraphView view, IReadOnlyList<TrtNodeVerdict> verdicts, IReadOnlyList<int> order)
    {
        var nodes = view.Nodes;
        var weights = Weights(view, verdicts, order);
        var runs = new List<List<int>>();
        List<int>? run = null;
        foreach (var i in view.TopologicalOrder(priority: n => verdicts[n].Supported ? 0 : 1))
        {
            if (weights.Contains(i)) continue;
            if (verdicts[i].Supported) (run ??= NewRun(runs)).Add(i);
            else run = null;
        }
        var result = new List<TrtPartition>();
        foreach (var r in runs)
        {
            var set = r.ToHashSet();
            var produced = r.SelectMany(i => nodes[i].Output).Where(o => o.Length > 0).ToHashSet(StringComparer.Ordinal);
            var inputs = r.SelectMany(view.AllInputs).Where(t => !produced.Contains(t) && !view.Initializers.ContainsKey(t)
                && !(view.Producer(t) is { } p && weights.Contains(p))).Distinct(StringComparer.Ordinal).ToList();
            var outputs = r.SelectMany(i => nodes[i].Output).Where(o => o.Length > 0 && (view.Graph.Output.Any(go => go.Name == o) || view.Consumers(o).Any(c => !set.Contains(c) && !weights.Contains(c))))
                .Distinct(StringComparer.Ordinal).ToList();
            var ordered = r.Order().ToList();
            result.Add(new TrtPartition(result.Count, ordered, ordered.Select(i => verdicts[i].Name).ToList(), inputs, outputs));
        }
        return result;
    }

    private static readonly HashSet<string> Random = new(StringComparer.Ordinal) { "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial", "Bernoulli" };

    /// <summary>
    /// Supported nodes that compute from constants only (Constant nodes, and what reads nothing but initializers and
    /// their outputs, random ops excepted): ONNX Runtime folds them into weights before it partitions, so they are
    /// part of no engine.
    /// </summary>
    public static HashSet<int> Weights(GraphView view, IReadOnlyList<TrtNodeVerdict> verdicts, IReadOnlyList<int> order)
    {
        var weights = new HashSet<int>();
        var constant = new HashSet<string>(view.Initializers.Keys, StringComparer.Ordinal);
        foreach (var i in order)
        {
            var n = view.Nodes[i];
            if (!verdicts[i].Supported || Random.Contains(n.OpType) || n.Attribute.Any(a => a.G is not null || a.Graphs.Count > 0)) continue;
            if (!view.AllInputs(i).All(constant.Contains)) continue;
            weights.Add(i);
            constant.UnionWith(n.Output.Where(o => o.Length > 0));
        }
        return weights;
    }

    private static List<int> NewRun(List<List<int>> runs)
    {
        var r = new List<int>();
        runs.Add(r);
        return r;
    }
}
