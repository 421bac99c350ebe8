using PolyNet.Onnx.Data;
using PolyNet.Onnx.Proto;

namespace PolyNet.Calibration;

/// <summary>What <see cref="Int8Emulation.Apply"/> did.</summary>
public sealed record Int8Result
{
    public required OnnxModel Model { get; init; }
    /// <summary>Tensors now quantized (their consumers read them through QuantizeLinear and DequantizeLinear).</summary>
    public required IReadOnlyList<string> Quantized { get; init; }
    /// <summary>Weight initializers quantized (per output channel, or per tensor when <see cref="PerChannel"/> is false).</summary>
    public required int Weights { get; init; }
    /// <summary>Whether weights have a scale per output channel (opset 13 and later) or one per tensor.</summary>
    public bool PerChannel { get; init; }
    /// <summary>Cache entries not used, each with the reason (zero or invalid scale, not a float tensor of the model).</summary>
    public required IReadOnlyList<string> Skipped { get; init; }
}

/// <summary>
/// Emulates a TensorRT INT8 engine on any runtime that runs standard ONNX: at every tensor the cache gives a range,
/// a QuantizeLinear/DequantizeLinear pair (symmetric: int8, zero point 0, scale from the cache) sits between the tensor
/// and its consumers, and the weights of Conv, MatMul and Gemm are quantized per output channel (scale = max|w|/127,
/// as TensorRT derives weight scales; they are not in the cache; per tensor before opset 13, whose DequantizeLinear has
/// no axis). Opset 10 or later (QuantizeLinear's first version). Graph outputs keep their float values (TensorRT's
/// outputs are float unless asked otherwise): a tensor no node reads is not quantized. Entries with a scale of zero, NaN, infinity or a negative sign are left
/// out (a zero scale would divide by zero) and reported. Subgraphs (If, Loop, Scan bodies) are quantized as the main
/// graph is: their nodes read cached tensors, their own or outer ones, through Q/DQ pairs, and their weights quantized.
/// </summary>
public static class Int8Emulation
{
    /// <summary>
    /// The emulated model: every usable entry of <paramref name="cache"/> quantizes its tensor (a cache of fewer entries
    /// quantizes fewer tensors); <paramref name="weights"/> false leaves the weights in float. With a <paramref name="selector"/>, the model gets that int64 scalar input and tensor number k (the k-th of
    /// <see cref="Int8Result.Quantized"/>) reads its quantized value only when the selector equals k
    /// (<paramref name="selectQuantizes"/> true) or only when it does not (false): every tensor's quantization, or its
    /// removal, is one run of one session (sensitivity analysis), not one session per tensor.
    /// </summary>
    public static Int8Result Apply(OnnxModel model, CalibrationCache cache, IReadOnlySet<string> floatTensors,
        bool weights = true, string? selector = null, bool selectQuantizes = true)
    {
        var proto = model.Proto.Clone();
        var g = proto.Graph;
        long opset = proto.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx")?.Version ?? 0;
        if (opset < 10)
            throw new InvalidInputException($"{model.DisplayName}: INT8 emulation needs QuantizeLinear (ONNX opset 10 or later); the model imports opset {opset}");
        // Every name the model uses, in every scope, so the names added here never collide with one (ONNX forbids a
        // body to define a name of an outer scope; a counter is appended if needed).
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var sub in ModelWalker.GraphAndSubgraphs(g))
        {
            foreach (var v in sub.Input.Concat(sub.Output).Concat(sub.ValueInfo)) used.Add(v.Name);
            foreach (var t in sub.Initializer) used.Add(t.Name);
            foreach (var n in sub.Node) { used.UnionWith(n.Output); used.Add(n.Name); }
        }
        string Fresh(string name)
        {
            var candidate = name;
            for (int k = 1; !used.Add(candidate); k++) candidate = $"{name}_{k}";
            return candidate;
        }
        var skipped = new List<string>();
        var quantized = new List<string>();
        var usable = new List<CacheEntry>();
        var consumedAnywhere = ModelWalker.GraphAndSubgraphs(g).SelectMany(x => x.Node).SelectMany(n => n.Input).ToHashSet(StringComparer.Ordinal);
        foreach (var e in cache.Entries)
        {
            if (!floatTensors.Contains(e.Name)) { skipped.Add($"{e.Name}: not a float tensor of the model"); continue; }
            if (!consumedAnywhere.Contains(e.Name)) { skipped.Add($"{e.Name}: read by no node (a graph output stays float, as TensorRT's do)"); continue; }
            float s = e.Scale;
            if (!(s > 0) || !float.IsFinite(s) || float.IsSubnormal(s)) { skipped.Add($"{e.Name}: scale {s} cannot quantize"); continue; }
            usable.Add(e);
            quantized.Add(e.Name);
        }
        if (selector is not null)
        {
            if (!used.Add(selector)) throw new InvalidOperationException($"the selector name '{selector}' is taken in {model.DisplayName}");
            g.Input.Add(ModelBuilder.MakeValueInfo(selector, ElementType.Int64, []));
        }
        int weightCount = 0;

        // Each graph quantizes what its own nodes read: a tensor the cache gives a range (made here or in an outer
        // scope) gets a Q/DQ pair in every graph that reads it, and its readers there read the pair; weights of Conv,
        // MatMul and Gemm are quantized where they are read, from this graph's initializers or an outer one's.
        void Quantize(GraphProto graph, IReadOnlyDictionary<string, TensorProto> outerInits, IReadOnlyCollection<string> outerNames)
        {
            var consumed = graph.Node.SelectMany(n => n.Input).ToHashSet(StringComparer.Ordinal);
            var rename = new Dictionary<string, string>(StringComparer.Ordinal);
            var newNodes = new List<NodeProto>();
            foreach (var e in usable)
            {
                if (!consumed.Contains(e.Name)) continue;
                float s = e.Scale;
                string scale = Fresh(e.Name + "__int8_scale"), zero = Fresh(e.Name + "__int8_zero"), int8 = Fresh(e.Name + "__int8"), dqOut = Fresh(e.Name + "__dq");
                graph.Initializer.Add(TensorProtos.FromTensorData(scale, TensorData.Scalar(s)));
                graph.Initializer.Add(TensorProtos.FromTensorData(zero, TensorData.Scalar((sbyte)0)));
                newNodes.Add(new NodeProto { OpType = "QuantizeLinear", Name = Fresh(e.Name + "__quantize"), Input = { e.Name, scale, zero }, Output = { int8 } });
                newNodes.Add(new NodeProto { OpType = "DequantizeLinear", Name = Fresh(e.Name + "__dequantize"), Input = { int8, scale, zero }, Output = { dqOut } });
                rename[e.Name] = dqOut;
                if (selector is not null)
                {
                    string index = Fresh(e.Name + "__int8_index"), chosen = Fresh(e.Name + "__int8_chosen"), picked = Fresh(e.Name + "__int8_picked");
                    graph.Initializer.Add(TensorProtos.FromTensorData(index, TensorData.Scalar((long)quantized.IndexOf(e.Name))));
                    newNodes.Add(new NodeProto { OpType = "Equal", Name = Fresh(e.Name + "__int8_is_selected"), Input = { selector, index }, Output = { chosen } });
                    newNodes.Add(new NodeProto { OpType = "Where", Name = Fresh(e.Name + "__int8_select"), Input = { chosen, selectQuantizes ? dqOut : e.Name, selectQuantizes ? e.Name : dqOut }, Output = { picked } });
                    rename[e.Name] = picked;
                }
            }
            var inits = new Dictionary<string, TensorProto>(outerInits, StringComparer.Ordinal);
            foreach (var t in graph.Initializer) inits[t.Name] = t;
            var weightNames = new Dictionary<(string, int), string>();
            foreach (var n in graph.Node)
            {
                for (int j = 0; j < n.Input.Count; j++)
                    if (rename.TryGetValue(n.Input[j], out var r)) n.Input[j] = r;
                if (weights && n.Input.Count >= 2 && inits.TryGetValue(n.Input[1], out var w) && w.DataType == (int)ElementType.Float && w.Dims.Count >= 2)
                {
                    // The output-channel axis: Conv's weight is [M, C, k...]; MatMul's [..., K, N]; Gemm's [K, N] or [N, K] (transB).
                    int? axisOf = n.OpType switch
                    {
                        "Conv" => 0,
                        "MatMul" => w.Dims.Count - 1,
                        "Gemm" => n.Attribute.FirstOrDefault(a => a.Name == "transB")?.I == 1 ? 0 : 1,
                        _ => null,
                    };
                    if (axisOf is { } axis)
                    {
                        // Per channel needs DequantizeLinear's axis (opset 13); before, one scale for the whole tensor.
                        int key = opset >= 13 ? axis : -1;
                        if (!weightNames.TryGetValue((w.Name, key), out var dqName))
                        {
                            dqName = QuantizeWeight(model, graph, w, key, newNodes, Fresh);
                            weightNames[(w.Name, key)] = dqName;
                            weightCount++;
                        }
                        n.Input[1] = dqName;
                    }
                }
                foreach (var sub in ModelWalker.Subgraphs(n))
                    Quantize(sub, inits, outerNames.Concat(graph.Input.Select(i => i.Name)).Concat(inits.Keys).Concat(graph.Node.SelectMany(x => x.Output)).ToHashSet(StringComparer.Ordinal));
            }
            var nodes = newNodes.Concat(graph.Node).ToList();
            graph.Node.Clear();
            graph.Node.AddRange(nodes);
            var sorted = new GraphView(graph).TopologicalOrder(outerNames).Select(i => graph.Node[i]).ToList();
            graph.Node.Clear();
            graph.Node.AddRange(sorted);
        }
        Quantize(g, new Dictionary<string, TensorProto>(), []);
        return new Int8Result { Model = model.WithProto(proto), Quantized = quantized, Weights = weightCount, PerChannel = opset >= 13, Skipped = skipped };
    }

    /// <summary>
    /// int8 weights and per-channel scales along <paramref name="axis"/> (-1: one scale for the whole tensor), and the
    /// DequantizeLinear that restores them.
    /// </summary>
    private static string QuantizeWeight(OnnxModel model, GraphProto g, TensorProto w, int axis, List<NodeProto> nodes, Func<string, string> fresh)
    {
        var data = model.ReadTensor(w);
        var v = data.Span<float>();
        var dims = w.Dims.ToArray();
        long channels = axis < 0 ? 1 : dims[axis];
        long inner = 1;
        for (int d = axis + 1; d < dims.Length; d++) inner *= dims[d];
        var max = new float[channels];
        for (long i = 0; i < v.Length; i++)
        {
            long c = i / inner % channels;
            max[c] = MathF.Max(max[c], MathF.Abs(v[(int)i]));
        }
        var scales = max.Select(m => m > 0 ? m / 127f : 1f).ToArray();
        var q = new sbyte[v.Length];
        for (long i = 0; i < v.Length; i++)
        {
            long c = i / inner % channels;
            q[i] = (sbyte)Math.Clamp(MathF.Round(v[(int)i] / scales[c], MidpointRounding.ToEven), -127, 127);
        }
        string name = fresh(w.Name + "__int8"), scaleName = fresh(w.Name + "__int8_scales"), zeroName = fresh(w.Name + "__int8_zeros"), dq = fresh(w.Name + "__dq");
        g.Initializer.Add(TensorProtos.FromTensorData(name, TensorData.Create<sbyte>(dims, q)));
        g.Initializer.Add(axis < 0 ? TensorProtos.FromTensorData(scaleName, TensorData.Scalar(scales[0])) : TensorProtos.FromTensorData(scaleName, TensorData.Create<float>([channels], scales)));
        g.Initializer.Add(axis < 0 ? TensorProtos.FromTensorData(zeroName, TensorData.Scalar((sbyte)0)) : TensorProtos.FromTensorData(zeroName, TensorData.Create<sbyte>([channels], new sbyte[channels])));
        var node = new NodeProto { OpType = "DequantizeLinear", Name = fresh(w.Name + "__dequantize"), Input = { name, scaleName, zeroName }, Output = { dq } };
        if (axis >= 0) node.Attribute.Add(ModelBuilder.MakeAttribute("axis", (long)axis));
        nodes.Add(node);
        return dq;
    }
}
