using PolyNet.Onnx.Proto;

namespace PolyNet.Onnx;

/// <summary>One initializer's size and where its bytes are.</summary>
public sealed record InitializerSize(string Name, long Bytes, bool External);

/// <summary>
/// What `inspect model` tells about a model: nodes by op type ("domain.Op" outside the default domain, most frequent
/// first), initializers with their sizes (declared element counts, or the raw bytes of types PolyNet does not size),
/// and the external data files the initializers name.
/// </summary>
public sealed record ModelSummary(IReadOnlyList<(string OpType, int Count)> OpTypes, int Nodes, IReadOnlyList<InitializerSize> Initializers, IReadOnlyList<string> ExternalFiles)
{
    public long InlineBytes => Initializers.Where(i => !i.External).Sum(i => i.Bytes);
    public long ExternalBytes => Initializers.Where(i => i.External).Sum(i => i.Bytes);

    public static ModelSummary Of(OnnxModel model)
    {
        var g = model.Graph;
        var ops = g.Node.GroupBy(n => (string.IsNullOrEmpty(n.Domain) ? "" : n.Domain + ".") + n.OpType)
            .Select(x => (x.Key, x.Count())).OrderByDescending(x => x.Item2).ThenBy(x => x.Key, StringComparer.Ordinal).ToList();
        var sizes = g.Initializer.Select(t => new InitializerSize(t.Name, Bytes(t), ExternalData.IsExternal(t))).ToList();
        var files = g.Initializer.Where(ExternalData.IsExternal).Select(t => ExternalData.Parse(t, model.DisplayName).Location).Distinct().ToList();
        return new ModelSummary(ops, g.Node.Count, sizes, files);
    }

    private static long Bytes(TensorProto t)
    {
        long count = t.Dims.Aggregate(1L, (a, b) => a * b);
        var type = (ElementType)t.DataType;
        return Enum.IsDefined(type) && type != ElementType.Undefined && type != ElementType.String ? type.StorageBytes(count) : t.RawData.Length;
    }
}
