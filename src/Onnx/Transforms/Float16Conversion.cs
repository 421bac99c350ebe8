using PolyNet.Onnx.Data;
using PolyNet.Onnx.Proto;

namespace PolyNet.Onnx.Transforms;

/// <summary>Asks a back end whether it can run a node natively with given input element types, and what it then outputs.</summary>
public interface IKernelProbe
{
    /// <summary>
    /// The element types of <paramref name="node"/>'s outputs when its inputs have <paramref name="inputTypes"/>
    /// (<see cref="ElementType.Undefined"/> for an absent optional input), or null when the back end has no kernel for
    /// them (including when it would only run them by casting to other types behind the caller's back).
    /// </summary>
    IReadOnlyList<ElementType>? OutputTypes(NodeProto node, IReadOnlyList<ElementType> inputTypes);
}

/// <summary>How a node computes in a float16 model.</summary>
public enum Float16Mode
{
    /// <summary>In float16, with the back end's float16 kernel.</summary>
    Native,
    /// <summary>In float32 between casts: its float inputs are float16 values cast up, its float outputs are rounded to float16.</summary>
    Float32Compute,
    /// <summary>Entirely in float32 (inputs and outputs), as the user asked.</summary>
    Float32,
}

/// <summary>A node that does not compute natively in float16, how, and why.</summary>
public sealed record KeptNode(string Name, string OpType, Float16Mode Mode, string Reason)
{
    public override string ToString() => $"{(string.IsNullOrEmpty(Name) ? "(unnamed)" : Name)} ({OpType}): {Reason}";
}

/// <summary>Types of the tensors a subgraph (If branch, Loop or Scan body) computes, given the types of the outer tensors it reads; null when they cannot be told.</summary>
public delegate IReadOnlyDictionary<string, ValueSpec>? SubgraphTypes(GraphProto body, IReadOnlyDictionary<string, ValueSpec> outer);

/// <summary>What <see cref="Float16Conversion.Convert"/> did.</summary>
public sealed class Float16Result
{
    public required OnnxModel Model { get; init; }
    /// <summary>Nodes without a native float16 kernel (or kept in float32 as asked), in topological order.</summary>
    public required IReadOnlyList<KeptNode> Kept { get; init; }
    /// <summary>Nodes that compute natively in float16.</summary>
    public required int Native { get; init; }
    /// <summary>Casts inserted between float16 and float32 tensors.</summary>
    public required int Casts { get; init; }
    /// <summary>Weight values beyond float16's range (±65504) clamped to it, as TensorRT does.</summary>
    public required long ClampedWeights { get; init; }
}

/// <summary>
/// Converts a model to compute as a float16 engine does while keeping its interface: graph inputs and outputs keep
/// their types (casts after inputs and before outputs), float32 weights and constants become float16 (values beyond
/// ±65504 clamped, as TensorRT does), and every float32 tensor between nodes is stored in float16. A node computes in
/// float16 where the back end has a native kernel for it (asked through an <see cref="IKernelProbe"/>); otherwise it
/// computes in float32 between casts (its inputs are the float16 values cast up, its outputs are rounded to float16),
/// which is what an engine that accumulates in float32 does. Nodes whose op type the caller lists stay entirely in
/// float32, outputs included.
///
/// Naming: for a float tensor X, X + <see cref="Suffix"/> is its float16 version and X its float32 version (the float16
/// values cast up, unless X is a graph input or the output of a float32 node). Each version is produced once and
/// shared. Graph outputs, <c>expose</c>d tensors (layerwise comparison) and tensors that subgraphs read are available
/// under their own names in their original types, so callers compare them with a float32 run directly.
/// Nodes kept in float32 read their weights exact, as do parameter inputs that are not data (Resize's roi and scales,
/// Range's bounds), which rounding would turn into other shapes.
/// Only float32 is converted; double, bfloat16 and existing float16 tensors are left alone.
///
/// Subgraphs (If branches, Loop and Scan bodies) are converted the same way, given their tensors' types
/// (<see cref="SubgraphTypes"/>): inside, nodes compute in float16 and weights are float16; a body keeps its
/// interface (its inputs, the outer tensors it reads and its outputs stay float32, cast at its edges, which loses
/// nothing where the values already went through float16), and the node that holds it computes between float16
/// tensors as any float32-interface node does. Names a body adds carry a suffix of its own (ONNX forbids a body to
/// define a name of an outer scope). A body whose types cannot be told stays float32 and is named in the result.
/// </summary>
public static class Float16Conversion
{
    public const string Suffix = "__fp16";
    private const float Max = 65504f;

    /// <param name="engine">
    /// Model a TensorRT engine's kernels (<see cref="Float16Engine"/>): no float16 rounding inside what TensorRT fuses into
    /// one kernel, float32 accumulation in reductions, normalizations and Gemm. False: every tensor between nodes is float16.
    /// </param>
    public static Float16Result Convert(OnnxModel model, IReadOnlyDictionary<string, ValueSpec> types, IKernelProbe probe,
        IReadOnlyList<string>? expose = null, IReadOnlySet<string>? keepOpTypes = null, SubgraphTypes? subgraphTypes = null, bool engine = false)
    {
        var proto = model.Proto.Clone();
        var state = new State(model, probe, keepOpTypes, subgraphTypes, engine);
        proto.Graph = state.Graph(proto.Graph, types, "", expose, outer: null);
        return new Float16Result { Model = model.WithProto(proto), Kept = state.Kept, Native = state.Native, Casts = state.Casts, ClampedWeights = state.Clamped };
    }

    /// <summary>The conversion of one graph and, recursively, its subgraphs; counts are the whole model's.</summary>
    private sealed class State(OnnxModel model, IKernelProbe probe, IReadOnlySet<string>? keepOpTypes, SubgraphTypes? subgraphTypes, bool engine)
    {
        public List<KeptNode> Kept { get; } = [];
        public int Native { get; private set; }
        public int Casts { get; private set; }
        public long Clamped;
        private int _bodies;

        /// <param name="tag">Appended to every name this graph adds ("" for the main graph).</param>
        /// <param name="outer">For a subgraph: the outer tensors it reads, available under their own names in float32.</param>
        public GraphProto Graph(GraphProto graph, IReadOnlyDictionary<string, ValueSpec> types, string tag, IReadOnlyList<string>? expose, IReadOnlyCollection<string>? outer)
        {
            string half = Suffix + tag, raw = "__fp32" + tag, exactSuffix = "__exact" + tag, roundedSuffix = "__rounded" + tag;
            var view = new GraphView(graph);
            var order = view.TopologicalOrder(outer);
            ElementType Orig(string t) => t.Length > 0 && types.TryGetValue(t, out var s) && s.Kind == ValueKind.Tensor ? s.ElementType : ElementType.Undefined;
            bool IsFloat(string t) => Orig(t) == ElementType.Float;

            // Engine: tensors inside a fused kernel (never rounded) and nodes that accumulate in float32.
            var fused = engine ? Float16Engine.FusedEdges(graph, view, IsFloat) : [];
            var fusedNodes = fused.SelectMany(x => new[] { view.Producer(x)!.Value, view.Consumers(x)[0] }).ToHashSet();

            // 1. How each node computes: wanted input types and resulting output types.
            var mode = new Float16Mode?[graph.Node.Count];
            var wants = new ElementType[graph.Node.Count][];
            var outs = new ElementType[graph.Node.Count][];
            var bodies = new Dictionary<int, List<(AttributeProto Attribute, int Index, GraphProto Body)>>();
            foreach (var n in order)
            {
                var node = graph.Node[n];
                var inT = node.Input.Select(Orig).ToArray();
                var outT = node.Output.Select(Orig).ToArray();
                wants[n] = inT;
                outs[n] = outT;
                var subs = ModelWalker.Subgraphs(node).ToList();
                if (!inT.Contains(ElementType.Float) && !outT.Contains(ElementType.Float) && !view.ImplicitInputs(n).Any(IsFloat) && subs.Count == 0) continue;
                if (keepOpTypes?.Contains(node.OpType) == true)
                {
                    mode[n] = Float16Mode.Float32;
                    Kept.Add(new KeptNode(node.Name, node.OpType, Float16Mode.Float32, "kept in float32 as asked"));
                    continue;
                }
                if (node.OpType == "Constant" && node.Domain is "" or "ai.onnx" && node.Attribute.FirstOrDefault(a => a.Name == "value") is { T.DataType: (int)ElementType.Float })
                {
                    mode[n] = Float16Mode.Native;
                    outs[n] = [ElementType.Float16];
                    Native++;
                    continue;
                }
                string reason;
                if (subs.Count > 0)
                {
                    // Each body converted with the types of what it computes; the node keeps a float32 interface.
                    var converted = new List<(AttributeProto, int, GraphProto)>();
                    bool all = true;
                    foreach (var a in node.Attribute)
                    {
                        var graphs = a.G is not null ? [a.G] : a.Graphs.ToList();
                        for (int k = 0; k < graphs.Count; k++)
                        {
                            var b = graphs[k];
                            var reads = GraphView.OuterReferences(b).ToList();
                            var bodyTypes = subgraphTypes?.Invoke(b, types);
                            if (bodyTypes is null) { all = false; continue; }
                            var merged = new Dictionary<string, ValueSpec>(types, StringComparer.Ordinal);
                            foreach (var (key, v) in bodyTypes) merged[key] = v;
                            converted.Add((a, a.G is not null ? -1 : k, Graph(b, merged, $"_b{++_bodies}", null, reads)));
                        }
                    }
                    bodies[n] = converted;
                    reason = all ? "control flow: its bodies compute in float16 inside, between float32 edges" : "has subgraphs whose types could not be inferred (they compute in float32)";
                }
                else if (!inT.Contains(ElementType.Float)) reason = "makes float32 from other types";
                else if (fusedNodes.Contains(n)) reason = Float16Engine.FusedReason;
                else if (engine && Float16Engine.AccumulatesInFloat32(node)) reason = Float16Engine.AccumulateReason;
                else
                {
                    var allHalf = inT.Select(t => t == ElementType.Float ? ElementType.Float16 : t).ToArray();
                    var first = inT.Select((t, i) => i == 0 && t == ElementType.Float ? ElementType.Float16 : t).ToArray();
                    foreach (var candidate in first.SequenceEqual(allHalf) || first.SequenceEqual(inT) ? [allHalf] : new[] { allHalf, first })
                        if (probe.OutputTypes(node, candidate) is { } r && Fits(r, outT))
                        {
                            mode[n] = Float16Mode.Native;
                            wants[n] = candidate;
                            outs[n] = r.ToArray();
                            Native++;
                            goto next;
                        }
                    reason = "no float16 kernel";
                }
                mode[n] = Float16Mode.Float32Compute;
                wants[n] = inT;
                outs[n] = outT;
                Kept.Add(new KeptNode(node.Name, node.OpType, Float16Mode.Float32Compute, reason));
            next:;
            }

            // 2. Emit the graph in topological order; versions of tensors are made on demand.
            var g = graph.Clone();
            var interfaceNames = graph.Input.Select(i => i.Name).Concat(outer ?? []).ToList();
            var produced = new HashSet<string>(interfaceNames, StringComparer.Ordinal);
            // An initializer that is also a graph input is a default the caller may override: it stays as it is (float32,
            // still the input's default) and is cast like any input. Only constant weights become float16 initializers.
            var inputNames = graph.Input.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
            var sourceInits = graph.Initializer.Where(t => !inputNames.Contains(t.Name)).ToDictionary(t => t.Name, StringComparer.Ordinal);
            var initializers = graph.Initializer.Where(t => t.DataType != (int)ElementType.Float || inputNames.Contains(t.Name)).ToList();
            foreach (var t in initializers) produced.Add(t.Name);
            var nodes = new List<NodeProto>();

            void Cast(string from, string to, ElementType type)
            {
                var cast = new NodeProto { OpType = "Cast", Name = "polynet_cast_" + to };
                cast.Input.Add(from);
                cast.Output.Add(to);
                cast.Attribute.Add(ModelBuilder.MakeAttribute("to", (long)type));
                nodes.Add(cast);
                produced.Add(to);
                Casts++;
            }

            // Tensors whose float32 version holds exact float32 values: the graph's inputs (and a body's outer reads),
            // and outputs of float32 nodes.
            var exact32 = new HashSet<string>(interfaceNames, StringComparer.Ordinal);

            // The name of X's version of type t, producing it first if needed. With rounded, a float32 version that went
            // through float16 (what a node of a float16 engine reads).
            string Ensure(string x, ElementType t, bool rounded = false)
            {
                if (!IsFloat(x)) return x;
                if (t == ElementType.Float && rounded && exact32.Contains(x))
                {
                    var r = x + roundedSuffix;
                    if (!produced.Contains(r)) Cast(Ensure(x, ElementType.Float16), r, ElementType.Float);
                    return r;
                }
                var name = t == ElementType.Float16 ? x + half : x;
                if (produced.Contains(name)) return name;
                if (sourceInits.TryGetValue(x, out var init))
                {
                    var h = ToHalf(model.ReadTensor(init), ref Clamped);
                    initializers.Add(TensorProtos.FromTensorData(name, t == ElementType.Float16 ? h : ToFloat(h)));
                    produced.Add(name);
                    return name;
                }
                Cast(t == ElementType.Float16 ? x : x + half, name, t);
                return name;
            }

            foreach (var n in order)
            {
                var node = graph.Node[n].Clone();
                var m = mode[n];
                if (m is null)
                {
                    nodes.Add(node);
                    foreach (var o in node.Output) produced.Add(o);
                    continue;
                }
                if (bodies.TryGetValue(n, out var converted))
                    foreach (var (attribute, index, body) in converted)
                    {
                        var a = node.Attribute.First(x => x.Name == attribute.Name);
                        if (index < 0) a.G = body;
                        else a.Graphs[index] = body;
                    }
                for (int j = 0; j < node.Input.Count; j++)
                {
                    var x = node.Input[j];
                    if (x.Length == 0 || !IsFloat(x)) continue;
                    if ((m == Float16Mode.Float32 || (m != Float16Mode.Native && IsParameter(node, j))) && sourceInits.TryGetValue(x, out var init))
                    {
                        if (produced.Add(x + exactSuffix)) initializers.Add(CloneNamed(init, x + exactSuffix));
                        node.Input[j] = x + exactSuffix;
                    }
                    else if (m == Float16Mode.Float32Compute && fused.Contains(x) && produced.Contains(x + raw)) node.Input[j] = x + raw; // inside a fused kernel: not rounded
                    else node.Input[j] = Ensure(x, m == Float16Mode.Native ? wants[n][j] : ElementType.Float, rounded: m == Float16Mode.Float32Compute);
                }
                // Bodies read outer tensors by their own names, in float32: a node kept in float32 reads exact weights.
                foreach (var x in view.ImplicitInputs(n))
                {
                    if (m == Float16Mode.Float32 && IsFloat(x) && sourceInits.TryGetValue(x, out var exactInit) && produced.Add(x)) initializers.Add(exactInit.Clone());
                    else Ensure(x, ElementType.Float);
                }
                var rounded = new List<string>();
                for (int k = 0; k < node.Output.Count; k++)
                {
                    var o = node.Output[k];
                    if (o.Length == 0 || !IsFloat(o)) { if (o.Length > 0) produced.Add(o); continue; }
                    switch (m)
                    {
                        case Float16Mode.Native:
                            node.Output[k] = outs[n][k] == ElementType.Float16 ? o + half : o;
                            break;
                        case Float16Mode.Float32Compute:
                            node.Output[k] = o + raw;
                            rounded.Add(o);
                            break;
                        default:
                            node.Output[k] = o;
                            exact32.Add(o);
                            break;
                    }
                    produced.Add(node.Output[k]);
                }
                if (node.OpType == "Constant" && m == Float16Mode.Native)
                {
                    var a = node.Attribute.First(a => a.Name == "value");
                    a.T = TensorProtos.FromTensorData(a.T.Name, ToHalf(model.ReadTensor(a.T), ref Clamped));
                }
                nodes.Add(node);
                foreach (var o in rounded) Cast(o + raw, o + half, ElementType.Float16);
            }
            foreach (var o in graph.Output) Ensure(o.Name, Orig(o.Name));
            foreach (var e in expose ?? [])
            {
                Ensure(e, Orig(e));
                if (g.Output.All(o => o.Name != e))
                    g.Output.Add(new ValueInfoProto { Name = e, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)Orig(e) } } });
            }

            g.Node.Clear();
            g.Node.AddRange(nodes);
            g.Initializer.Clear();
            g.Initializer.AddRange(initializers);
            var infos = g.ValueInfo.Where(v => !IsFloat(v.Name)).ToList();
            g.ValueInfo.Clear();
            g.ValueInfo.AddRange(infos);
            return g;
        }
    }

    /// <summary>Float inputs that parameterize an op rather than carry data; rounding them would change shapes.</summary>
    private static bool IsParameter(NodeProto node, int input) => node.Domain is "" or "ai.onnx" && node.OpType switch
    {
        "Resize" or "Upsample" => input >= 1,
        "Range" => true,
        _ => false,
    };

    private static TensorProto CloneNamed(TensorProto t, string name)
    {
        var c = t.Clone();
        c.Name = name;
        return c;
    }

    /// <summary>Probe outputs fit when each is the original type, or float16 where the original is float32.</summary>
    private static bool Fits(IReadOnlyList<ElementType> probed, ElementType[] original)
    {
        if (probed.Count != original.Length) return false;
        for (int k = 0; k < original.Length; k++)
            if (original[k] != ElementType.Undefined && probed[k] != original[k] && !(original[k] == ElementType.Float && probed[k] == ElementType.Float16))
                return false;
        return true;
    }

    /// <summary>float32 to float16, finite values beyond ±65504 clamped to it (counted in <paramref name="clamped"/>).</summary>
    public static TensorData ToHalf(TensorData t, ref long clamped)
    {
        var src = t.Span<float>();
        var result = TensorData.Allocate(ElementType.Float16, t.Shape);
        var dst = result.Span<Half>();
        for (int i = 0; i < src.Length; i++)
        {
            var v = src[i];
            if (float.IsFinite(v) && Math.Abs(v) > Max)
            {
                v = MathF.CopySign(Max, v);
                clamped++;
            }
            dst[i] = (Half)v;
        }
        return result;
    }

    private static TensorData ToFloat(TensorData half)
    {
        var src = half.Span<Half>();
        var result = TensorData.Allocate(ElementType.Float, half.Shape);
        var dst = result.Span<float>();
        for (int i = 0; i < src.Length; i++) dst[i] = (float)src[i];
        return result;
    }
}
