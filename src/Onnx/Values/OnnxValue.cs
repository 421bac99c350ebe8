namespace PolyNet.Onnx;

/// <summary>What kind of ONNX value a model input or output holds.</summary>
public enum ValueKind
{
    Tensor,
    Sequence,
    Optional,
}

/// <summary>
/// A value that flows into or out of a model: a dense tensor (<see cref="TensorData"/>), a sequence of tensors
/// (<see cref="SequenceData"/>) or an optional (<see cref="OptionalData"/>). Almost every model uses tensors only.
/// </summary>
public abstract class OnnxValue
{
    public abstract ValueKind Kind { get; }

    /// <summary>A short description for logs: "float32 1x3x224x224", "sequence of 3 float32", "optional (empty)".</summary>
    public abstract string Describe();
}

/// <summary>A sequence of tensors of one element type (shapes may differ).</summary>
public sealed class SequenceData : OnnxValue
{
    public SequenceData(ElementType elementType, IReadOnlyList<TensorData> items)
    {
        foreach (var t in items)
            if (t.ElementType != elementType)
                throw new ArgumentException($"sequence of {elementType.DisplayName()} holds a {t.ElementType.DisplayName()} tensor");
        ElementType = elementType;
        Items = items;
    }

    public ElementType ElementType { get; }
    public IReadOnlyList<TensorData> Items { get; }
    public override ValueKind Kind => ValueKind.Sequence;
    public override string Describe() => $"sequence of {Items.Count} {ElementType.DisplayName()}";
}

/// <summary>An optional value: either empty (<see cref="Value"/> is null) or holding a tensor or sequence.</summary>
public sealed class OptionalData : OnnxValue
{
    public OptionalData(OnnxValue? value) => Value = value;
    public OnnxValue? Value { get; }
    public bool HasValue => Value is not null;
    public override ValueKind Kind => ValueKind.Optional;
    public override string Describe() => Value is null ? "optional (empty)" : $"optional ({Value.Describe()})";
}
