using PolyNet.Onnx;
using PolyNet.Onnx.Proto;
using PolyNet.Onnx.Transforms;
using PolyNet.Runners.Native;

namespace PolyNet.Runners.Inspect;

/// <summary>
/// Small ONNX Runtime CPU sessions PolyNet builds for its own questions (what type is this tensor, can this node run
/// in float16), never for the user's inference: no graph optimization, one thread. The caller owns the returned
/// session and disposes it.
/// </summary>
public static class CpuSessions
{
    /// <summary>
    /// A session over <paramref name="proto"/>; external data resolves beside <paramref name="origin"/>. With
    /// <paramref name="saveGraphTo"/>, ORT writes the graph it will execute there (after its required transformations).
    /// </summary>
    public static OrtSession Create(ModelProto proto, OnnxModel? origin = null, string? saveGraphTo = null)
    {
        var api = OrtRuntime.Current.Api;
        using var o = api.CreateSessionOptions();
        api.SetSessionGraphOptimizationLevel(o, 0);
        api.SetIntraOpNumThreads(o, 1);
        if (saveGraphTo is not null) api.SetOptimizedModelFilePath(o, saveGraphTo);
        if (origin is { BaseDirectory: { } dir } && origin.HasExternalData)
            api.AddSessionConfigEntry(o, "session.model_external_initializers_file_folder_path", dir);
        return OrtSession.Create(Google.Protobuf.MessageExtensions.ToByteArray(proto), o);
    }
}

/// <summary>The type and shape of every tensor of a model's main graph, as ONNX Runtime infers them.</summary>
public static class OrtTypes
{
    /// <summary>
    /// Graph inputs and initializers as declared; every node output as ORT infers it (each is exposed as a graph output
    /// of an unoptimized session, which is built but never run). Shapes may hold symbolic or unknown dimensions.
    /// Errors: <see cref="RunnerException"/> when ORT cannot build the model.
    /// </summary>
    /// <remarks>
    /// Building that session parses the whole model (seconds for a large one), and a layerwise or reduction job asks
    /// for the same model's types several times: answers are cached per model object, under a fingerprint of what
    /// they depend on (opsets, graph inputs and outputs, value infos, nodes with their attributes, initializers' names,
    /// types and shapes, and the values of integer initializers up to 1 MiB, which is where shape tensors live),
    /// recomputed on every call, so a model changed in place is inferred again.
    /// </remarks>
    public static IReadOnlyDictionary<string, ValueSpec> Infer(OnnxModel model)
    {
        var key = Fingerprint(model);
        lock (Cache)
            if (Cache.TryGetValue(model, out var hit) && hit.Key.AsSpan().SequenceEqual(key)) return hit.Types;
        var types = InferUncached(model);
        lock (Cache) Cache.AddOrUpdate(model, new Inferred(key, types));
        return types;
    }

    private sealed record Inferred(byte[] Key, IReadOnlyDictionary<string, ValueSpec> Types);

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<OnnxModel, Inferred> Cache = new();

    private const int FullInitializerBytes = 1 << 20;

    private static byte[] Fingerprint(OnnxModel model)
    {
        using var h = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        void Add(Google.Protobuf.IMessage m)
        {
            var bytes = Google.Protobuf.MessageExtensions.ToByteArray(m);
            h.AppendData(BitConverter.GetBytes(bytes.Length));
            h.AppendData(bytes);
        }
        var g = model.Graph;
        foreach (var o in model.Proto.OpsetImport) Add(o);
        foreach (var x in g.Input) Add(x);
        foreach (var x in g.Output) Add(x);
        foreach (var x in g.ValueInfo) Add(x);
        foreach (var n in g.Node) Add(n);
        foreach (var t in g.Initializer)
        {
            // Shapes and axes that ORT's inference may read are integer tensors, and small: those are hashed whole. A
            // floating-point or large tensor is weights, which never decide a type or shape: its header only (hashing
            // every weight would cost a large model what the cache saves).
            var type = (ElementType)t.DataType;
            if (type is ElementType.Int64 or ElementType.Int32 or ElementType.Int16 or ElementType.Int8 or ElementType.UInt64
                    or ElementType.UInt32 or ElementType.UInt16 or ElementType.UInt8 or ElementType.Bool
                && t.RawData.Length + t.Int64Data.Count * 8L + t.Int32Data.Count * 4L + t.Uint64Data.Count * 8L <= FullInitializerBytes)
            {
                Add(t);
                continue;
            }
            var header = new TensorProto { Name = t.Name, DataType = t.DataType, DataLocation = t.DataLocation };
            header.Dims.Add(t.Dims);
            header.ExternalData.Add(t.ExternalData);
            Add(header);
        }
        return h.GetHashAndReset();
    }

    /// <summary>
    /// The types of what a subgraph computes, given the types of what it reads from outside: the body as a model of
    /// its own (its formal inputs, then the outer tensors it reads, as graph inputs), inferred like a main graph.
    /// Null when an outer tensor's type is unknown or ONNX Runtime cannot build the body on its own.
    /// </summary>
    public static IReadOnlyDictionary<string, ValueSpec>? InferBody(OnnxModel model, GraphProto body, IReadOnlyDictionary<string, ValueSpec> outer)
    {
        var g = body.Clone();
        HashSet<string>? scalars = null;
        foreach (var name in GraphView.OuterReferences(body))
        {
            if (!outer.TryGetValue(name, out var spec) || spec.ElementType == ElementType.Undefined) return null;
            // ONNX Runtime reports an unknown shape as no dimensions, like a scalar's: a rank-0 shape is trusted only
            // where the model itself declares a scalar (an initializer, a graph input, a Constant node's value).
            if (spec.Shape is { Rank: 0 } && !(scalars ??= DeclaredScalars(model.Proto)).Contains(name)) spec = spec with { Shape = null };
            g.Input.Add(Subgraph.ToValueInfo(spec));
        }
        var proto = new ModelProto { IrVersion = model.Proto.IrVersion, Graph = g };
        proto.OpsetImport.AddRange(model.Proto.OpsetImport.Select(o => o.Clone()));
        proto.Functions.AddRange(model.Proto.Functions.Select(f => f.Clone()));
        try
        {
            return Infer(OnnxModel.FromProto(proto, model.BaseDirectory, $"a body in {model.DisplayName}"));
        }
        catch (RunnerException)
        {
            return null;
        }
    }

    private static HashSet<string> DeclaredScalars(ModelProto model)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var g in ModelWalker.AllGraphs(model))
        {
            foreach (var t in g.Initializer) if (t.Dims.Count == 0) names.Add(t.Name);
            foreach (var i in g.Input)
                if (i.Type?.TensorType is { Shape: { } shape } && shape.Dim.Count == 0) names.Add(i.Name);
            foreach (var n in g.Node)
                if (ModelWalker.IsTensorConstant(n) && n.Output.Count == 1 && n.Attribute[0].T.Dims.Count == 0) names.Add(n.Output[0]);
        }
        return names;
    }

    /// <summary>Types of every tensor of the model, bodies included (names are unique across an ONNX model's scopes).</summary>
    public static IReadOnlyDictionary<string, ValueSpec> InferAll(OnnxModel model)
    {
        var all = new Dictionary<string, ValueSpec>(Infer(model), StringComparer.Ordinal);
        void Visit(GraphProto g, IReadOnlyDictionary<string, ValueSpec> scope)
        {
            foreach (var n in g.Node)
                foreach (var b in ModelWalker.Subgraphs(n))
                {
                    if (InferBody(model, b, scope) is not { } inner) continue;
                    var merged = new Dictionary<string, ValueSpec>(scope, StringComparer.Ordinal);
                    foreach (var (k, v) in inner) { merged[k] = v; all.TryAdd(k, v); }
                    Visit(b, merged);
                }
        }
        Visit(model.Graph, all);
        return all;
    }

    private static IReadOnlyDictionary<string, ValueSpec> InferUncached(OnnxModel model)
    {
        var result = new Dictionary<string, ValueSpec>(StringComparer.Ordinal);
        foreach (var i in model.Inputs) result[i.Name] = i;
        foreach (var t in model.Graph.Initializer)
            result[t.Name] = new ValueSpec(t.Name, ValueKind.Tensor, (ElementType)t.DataType, new SymbolicShape(t.Dims.Select(SymbolicDim.Fixed).ToList()));
        var names = model.Graph.Node.SelectMany(n => n.Output).Where(o => o.Length > 0 && !result.ContainsKey(o)).Distinct(StringComparer.Ordinal).ToList();
        var exposed = ModelOutputs.Expose(model, names);
        try
        {
            using var session = CpuSessions.Create(exposed.Proto, model);
            foreach (var o in session.Outputs) result[o.Name] = o;
        }
        catch (OrtException e)
        {
            throw new RunnerException($"{model.DisplayName}: ONNX Runtime cannot infer the model's tensor types: {OrtException.OneLine(e.OrtMessage)}", e);
        }
        return result;
    }
}

/// <summary>
/// Answers "does ONNX Runtime's CPU provider have a kernel for this node with these input types, and what comes out"
/// by building a one-node model (inputs typed, outputs left for ORT to infer) and creating a session for it. ORT
/// accepts float16 nodes it has no float16 kernel for by inserting casts to float32 around them (and merging those
/// casts across neighbouring nodes, so tensors between them are never rounded): the probe reads back the graph ORT
/// will execute and answers "no kernel" when ORT added a Cast. Answers are cached for the process by op, domain,
/// attributes, input types and the model's opsets, so a model with a thousand Conv nodes of three kinds builds three
/// sessions, once. With requireNative false, only the
/// output types are asked (for providers other than the CPU's, whose kernels this CPU session cannot see).
/// </summary>
public sealed class OrtKernelProbe(OnnxModel model, bool requireNative = true) : IKernelProbe
{
    /// <summary>
    /// Answers for the whole process: a reduction builds a runner, and so a probe, for every check. The key holds all
    /// an answer depends on besides ONNX Runtime itself (one library per process): the node, its input types, and the
    /// model's IR version, opsets and local functions.
    /// </summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, IReadOnlyList<ElementType>?> Cache = new(StringComparer.Ordinal);

    private readonly string _modelKey = ModelKey(model);

    /// <summary>Sessions this probe built (tests check the process-wide cache holds).</summary>
    internal int SessionsBuilt { get; private set; }

    private static string ModelKey(OnnxModel model)
    {
        var functions = new List<byte>();
        foreach (var f in model.Proto.Functions) functions.AddRange(Google.Protobuf.MessageExtensions.ToByteArray(f));
        return $"{model.Proto.IrVersion}|{string.Join(",", model.Proto.OpsetImport.Select(o => $"{o.Domain}:{o.Version}").Order(StringComparer.Ordinal))}|{(functions.Count == 0 ? "" : Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(functions.ToArray())))}";
    }

    public IReadOnlyList<ElementType>? OutputTypes(NodeProto node, IReadOnlyList<ElementType> inputTypes)
    {
        var attributes = new List<byte>();
        foreach (var a in node.Attribute) attributes.AddRange(Google.Protobuf.MessageExtensions.ToByteArray(a));
        var key = $"{_modelKey}|{requireNative}|{node.Domain}|{node.OpType}|{Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(attributes.ToArray()))}|{string.Join(",", inputTypes.Select(t => (int)t))}|{node.Output.Count}";
        if (Cache.TryGetValue(key, out var known)) return known;
        var proto = new ModelProto { IrVersion = model.Proto.IrVersion, Graph = new GraphProto { Name = "probe" } };
        proto.OpsetImport.AddRange(model.Proto.OpsetImport);
        proto.Functions.AddRange(model.Proto.Functions);
        var probe = new NodeProto { OpType = node.OpType, Domain = node.Domain, Name = "probe" };
        probe.Attribute.AddRange(node.Attribute);
        for (int j = 0; j < node.Input.Count; j++)
        {
            if (node.Input[j].Length == 0 || inputTypes[j] == ElementType.Undefined)
            {
                probe.Input.Add("");
                continue;
            }
            probe.Input.Add($"in{j}");
            proto.Graph.Input.Add(new ValueInfoProto { Name = $"in{j}", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)inputTypes[j] } } });
        }
        for (int k = 0; k < node.Output.Count; k++)
        {
            probe.Output.Add(node.Output[k].Length == 0 ? "" : $"out{k}");
            if (node.Output[k].Length > 0) proto.Graph.Output.Add(new ValueInfoProto { Name = $"out{k}" });
        }
        proto.Graph.Node.Add(probe);
        IReadOnlyList<ElementType>? result;
        SessionsBuilt++;
        var saved = Path.Combine(Path.GetTempPath(), $"polynet-probe-{Environment.ProcessId}-{Guid.NewGuid():N}.onnx");
        try
        {
            using var session = CpuSessions.Create(proto, saveGraphTo: requireNative ? saved : null);
            var byName = session.Outputs.ToDictionary(o => o.Name, o => o.ElementType);
            result = node.Output.Select((o, k) => o.Length == 0 ? ElementType.Undefined : byName[$"out{k}"]).ToList();
            if (requireNative && node.OpType != "Cast" && OnnxModel.Load(saved).Graph.Node.Any(n => n.OpType == "Cast")) result = null;
        }
        catch (OrtException)
        {
            result = null;
        }
        finally
        {
            File.Delete(saved);
        }
        Cache[key] = result;
        return result;
    }
}
