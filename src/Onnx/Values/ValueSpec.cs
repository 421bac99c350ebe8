using PolyNet.Onnx.Proto;

namespace PolyNet.Onnx;

/// <summary>
/// A declared input or output: name, kind, element type and (possibly symbolic) shape. For sequences and
/// optionals, <see cref="ElementType"/> and <see cref="Shape"/> describe the contained tensors.
/// </summary>
public sealed record ValueSpec(string Name, ValueKind Kind, ElementType ElementType, SymbolicShape? Shape)
{
    /// <summary>"x: float32 [1, 3, batch, 224]" or "s: sequence of float32".</summary>
    public override string ToString() => Kind switch
    {
        ValueKind.Tensor => $"{Name}: {ElementType.DisplayName()} {Shape?.ToString() ?? "[unknown rank]"}",
        ValueKind.Sequence => $"{Name}: sequence of {ElementType.DisplayName()}",
        _ => $"{Name}: optional {ElementType.DisplayName()}",
    };

    /// <summary>Reads a ValueInfoProto; types PolyNet does not model (maps, sparse) come back as null.</summary>
    public static ValueSpec? FromValueInfo(ValueInfoProto vi)
    {
        var t = vi.Type;
        if (t is null) return new ValueSpec(vi.Name, ValueKind.Tensor, ElementType.Undefined, null);
        return FromType(vi.Name, t);
    }

    public static ValueSpec? FromType(string name, TypeProto t)
    {
        switch (t.ValueCase)
        {
            case TypeProto.ValueOneofCase.TensorType:
                return new ValueSpec(name, ValueKind.Tensor, (ElementType)t.TensorType.ElemType, ShapeOf(t.TensorType.Shape));
            case TypeProto.ValueOneofCase.SequenceType when t.SequenceType.ElemType?.ValueCase == TypeProto.ValueOneofCase.TensorType:
                var inner = t.SequenceType.ElemType.TensorType;
                return new ValueSpec(name, ValueKind.Sequence, (ElementType)inner.ElemType, ShapeOf(inner.Shape));
            case TypeProto.ValueOneofCase.OptionalType when t.OptionalType.ElemType is not null:
                var contained = FromType(name, t.OptionalType.ElemType);
                return contained is null ? null : new ValueSpec(name, ValueKind.Optional, contained.ElementType, contained.Shape);
            default:
                return null;
        }
    }

    public static SymbolicShape? ShapeOf(TensorShapeProto? shape)
    {
        if (shape is null) return null;
        return new SymbolicShape(shape.Dim.Select(d => d.ValueCase switch
        {
            TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue => SymbolicDim.Fixed(d.DimValue),
            TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam => SymbolicDim.Named(d.DimParam),
            _ => SymbolicDim.Unknown,
        }).ToList());
    }
}
