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
/// </summary>
public static class Float16Conversion
{
    public const string Suffix = "__fp16";
    private const string Raw = "__fp32";
    private const string Exact = "__exact";
    private const float Max = 65504f;

    public static Float16Result Convert(OnnxModel model, IReadOnlyDictionary<string, ValueSpec> types, IKernelProbe probe,
        IReadOnlyList<string>? expose = null, IReadOnlySet<string>? keepOpTypes = null)
    {
        var graph = model.Graph;
        var view = new GraphView(graph);
        var order = view.TopologicalOrder();
        ElementType Orig(string t) => t.Length > 0 && types.TryGetValue(t, out var s) && s.Kind == ValueKind.Tensor ? s.ElementType : ElementType.Undefined;
        bool IsFloat(string t) => Orig(t) == ElementType.Float;

        // 1. How each node computes: wanted input types and resulting output types.
        var mode = new Float16Mode?[graph.Node.Count];
        var wants = new ElementType[graph.Node.Count][];
        var outs = new ElementType[graph.Node.Count][];
        var kept = new List<KeptNode>();
        int native = 0;
        foreach (var n in order)
        {
            var node = graph.Node[n];
            var inT = node.Input.Select(Orig).ToArray();
            var outT = node.Output.Select(Orig).ToArray();
            wants[n] = inT;
            outs[n] = outT;
            if (!inT.Contains(ElementType.Float) && !outT.Contains(ElementType.Float) && !view.ImplicitInputs(n).Any(IsFloat)) continue;
            if (keepOpTypes?.Contains(node.OpType) == true)
            {
                mode[n] = Float16Mode.Float32;
                kept.Add(new KeptNode(node.Name, node.OpType, Float16Mode.Float32, "kept in float32 as asked"));
                continue;
            }
            if (node.OpType == "Constant" && node.Domain is "" or "ai.onnx" && node.Attribute.FirstOrDefault(a => a.Name == "value") is { T.DataType: (int)ElementType.Float })
            {
                mode[n] = Float16Mode.Native;
                outs[n] = [ElementType.Float16];
                native++;
                continue;
            }
            string reason;
            if (ModelWalker.Subgraphs(node).Any()) reason = "has subgraphs (their bodies compute in float32)";
            else if (!inT.Contains(ElementType.Float)) reason = "makes float32 from other types";
            else
            {
                var all = inT.Select(t => t == ElementType.Float ? ElementType.Float16 : t).ToArray();
                var first = inT.Select((t, i) => i == 0 && t == ElementType.Float ? ElementType.Float16 : t).ToArray();
                foreach (var candidate in first.SequenceEqual(all) || first.SequenceEqual(inT) ? [all] : new[] { all, first })
                    if (probe.OutputTypes(node, candidate) is { } r && Fits(r, outT))
                    {
                        mode[n] = Float16Mode.Native;
                        wants[n] = candidate;
                        outs[n] = r.ToArray();
                        native++;
                        goto next;
                    }
                reason = "no float16 kernel";
            }
            mode[n] = Float16Mode.Float32Compute;
            wants[n] = inT;
            outs[n] = outT;
            kept.Add(new KeptNode(node.Name, node.OpType, Float16Mode.Float32Compute, reason));
        next:;
        }

        // 2. Emit the graph in topological order; versions of tensors are made on demand.
        var proto = model.Proto.Clone();
        var g = proto.Graph;
        var produced = new HashSet<string>(graph.Input.Select(i => i.Name), StringComparer.Ordinal);
        // An initializer that is also a graph input is a default the caller may override: it stays as it is (float32,
        // still the input's default) and is cast like any input. Only constant weights become float16 initializers.
        var inputNames = graph.Input.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var sourceInits = graph.Initializer.Where(t => !inputNames.Contains(t.Name)).ToDictionary(t => t.Name, StringComparer.Ordinal);
        var initializers = graph.Initializer.Where(t => t.DataType != (int)ElementType.Float || inputNames.Contains(t.Name)).ToList();
        foreach (var t in initializers) produced.Add(t.Name);
        var nodes = new List<NodeProto>();
        long clamped = 0;
        int casts = 0;

        void Cast(string from, string to, ElementType type)
        {
            var cast = new NodeProto { OpType = "Cast", Name = "polynet_cast_" + to };
            cast.Input.Add(from);
            cast.Output.Add(to);
            cast.Attribute.Add(ModelBuilder.MakeAttribute("to", (long)type));
            nodes.Add(cast);
            produced.Add(to);
            casts++;
        }

        // Tensors whose float32 version holds exact float32 values: graph inputs and outputs of float32 nodes.
        var exact32 = new HashSet<string>(graph.Input.Select(i => i.Name), StringComparer.Ordinal);

        // The name of X's version of type t, producing it first if needed. With rounded, a float32 version that went
        // through float16 (what a node of a float16 engine reads).
        string Ensure(string x, ElementType t, bool rounded = false)
        {
            if (!IsFloat(x)) return x;
            if (t == ElementType.Float && rounded && exact32.Contains(x))
            {
                var r = x + "__rounded";
                if (!produced.Contains(r)) Cast(Ensure(x, ElementType.Float16), r, ElementType.Float);
                return r;
            }
            var name = t == ElementType.Float16 ? x + Suffix : x;
            if (produced.Contains(name)) return name;
            if (sourceInits.TryGetValue(x, out var init))
            {
                var half = ToHalf(model.ReadTensor(init), ref clamped);
                initializers.Add(TensorProtos.FromTensorData(name, t == ElementType.Float16 ? half : ToFloat(half)));
                produced.Add(name);
                return name;
            }
            Cast(t == ElementType.Float16 ? x : x + Suffix, name, t);
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
            for (int j = 0; j < node.Input.Count; j++)
            {
                var x = node.Input[j];
                if (x.Length == 0 || !IsFloat(x)) continue;
                if ((m == Float16Mode.Float32 || (m != Float16Mode.Native && IsParameter(node, j))) && sourceInits.TryGetValue(x, out var init))
                {
                    if (produced.Add(x + Exact)) initializers.Add(CloneNamed(init, x + Exact));
                    node.Input[j] = x + Exact;
                }
                else node.Input[j] = Ensure(x, m == Float16Mode.Native ? wants[n][j] : ElementType.Float, rounded: m == Float16Mode.Float32Compute);
            }
            foreach (var x in view.ImplicitInputs(n)) Ensure(x, ElementType.Float);
            var rounded = new List<string>();
            for (int k = 0; k < node.Output.Count; k++)
            {
                var o = node.Output[k];
                if (o.Length == 0 || !IsFloat(o)) { if (o.Length > 0) produced.Add(o); continue; }
                switch (m)
                {
                    case Float16Mode.Native:
                        node.Output[k] = outs[n][k] == ElementType.Float16 ? o + Suffix : o;
                        break;
                    case Float16Mode.Float32Compute:
                        node.Output[k] = o + Raw;
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
                a.T = TensorProtos.FromTensorData(a.T.Name, ToHalf(model.ReadTensor(a.T), ref clamped));
            }
            nodes.Add(node);
            foreach (var o in rounded) Cast(o + Raw, o + Suffix, ElementType.Float16);
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
        return new Float16Result { Model = model.WithProto(proto), Kept = kept, Native = native, Casts = casts, ClampedWeights = clamped };
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
