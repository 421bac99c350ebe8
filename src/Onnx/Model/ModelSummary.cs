using PolyNet.Onnx.Data;
using PolyNet.Onnx.Proto;

namespace PolyNet.Onnx;

/// <summary>One initializer's size and where its bytes are.</summary>
public sealed record InitializerSize(string Name, long Bytes, bool External);

/// <summary>
/// What `inspect model` tells about a model: nodes by op type ("domain.Op" outside the default domain, most frequent
/// first), initializers with their sizes (declared element counts, or the raw bytes of types PolyNet does not size),
/// and the external data files the initializers name.
/// </summary>
/// <param name="Bodies">Subgraphs (If branches, Loop and Scan bodies, nested ones too).</param>
/// <param name="BodyOpTypes">Nodes inside the bodies by op type (the main graph's are <see cref="OpTypes"/>).</param>
/// <param name="BodyInitializers">Initializers held inside bodies.</param>
/// <param name="ConstantWeights">Tensors held in Constant nodes, anywhere (weights, for PaddlePaddle exports and some others).</param>
public sealed record ModelSummary(IReadOnlyList<(string OpType, int Count)> OpTypes, int Nodes, IReadOnlyList<InitializerSize> Initializers, IReadOnlyList<string> ExternalFiles,
    int Bodies, IReadOnlyList<(string OpType, int Count)> BodyOpTypes, IReadOnlyList<InitializerSize> BodyInitializers, IReadOnlyList<InitializerSize> ConstantWeights)
{
    public int BodyNodes => BodyOpTypes.Sum(x => x.Count);
    public long InlineBytes => Initializers.Where(i => !i.External).Sum(i => i.Bytes);
    public long ExternalBytes => Initializers.Where(i => i.External).Sum(i => i.Bytes);

    public static ModelSummary Of(OnnxModel model)
    {
        var g = model.Graph;
        static List<(string, int)> Ops(IEnumerable<NodeProto> nodes) => nodes.GroupBy(n => (string.IsNullOrEmpty(n.Domain) ? "" : n.Domain + ".") + n.OpType)
            .Select(x => (x.Key, x.Count())).OrderByDescending(x => x.Item2).ThenBy(x => x.Key, StringComparer.Ordinal).ToList();
        var bodies = g.Node.SelectMany(ModelWalker.Subgraphs).SelectMany(ModelWalker.GraphAndSubgraphs).ToList();
        var all = bodies.Prepend(g).ToList();
        var sizes = g.Initializer.Select(t => new InitializerSize(t.Name, Bytes(t), ExternalData.IsExternal(t))).ToList();
        var files = all.SelectMany(x => x.Initializer).Where(ExternalData.IsExternal).Select(t => ExternalData.Parse(t, model.DisplayName).Location).Distinct().ToList();
        var constants = all.SelectMany(x => x.Node).Where(ModelWalker.IsTensorConstant)
            .Select(n => n.Attribute[0].T).Select(t => new InitializerSize(t.Name, Bytes(t), ExternalData.IsExternal(t))).ToList();
        return new ModelSummary(Ops(g.Node), g.Node.Count, sizes, files, bodies.Count, Ops(bodies.SelectMany(b => b.Node)),
            bodies.SelectMany(b => b.Initializer).Select(t => new InitializerSize(t.Name, Bytes(t), ExternalData.IsExternal(t))).ToList(), constants);
    }

    private static long Bytes(TensorProto t)
    {
        long count = t.Dims.Aggregate(1L, (a, b) => a * b);
        var type = (ElementType)t.DataType;
        return Enum.IsDefined(type) && type != ElementType.Undefined && type != ElementType.String ? type.StorageBytes(count) : t.RawData.Length;
    }
}
