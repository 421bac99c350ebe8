using PolyNet.Onnx;

namespace PolyNet.Runners.Inputs;

/// <summary>Checks that values fit a model's inputs; every error names the source, the input and what was expected.</summary>
public static class InputValidation
{
    public static void CheckShapeFits(ValueSpec spec, TensorShape shape, string source)
    {
        if (spec.Shape is not { } declared) return;
        if (declared.Rank != shape.Rank)
            throw new InvalidInputException($"{source}: input '{spec.Name}' has rank {declared.Rank} {declared} in the model, got shape {shape} (rank {shape.Rank})");
        for (int i = 0; i < declared.Rank; i++)
            if (declared.Dims[i].Value is { } fixedDim && fixedDim != shape[i])
                throw new InvalidInputException($"{source}: input '{spec.Name}' dimension {i} is fixed at {fixedDim} in the model {declared}, got {shape[i]} (shape {shape})");
    }

    /// <summary>
    /// Checks a whole feed: every model input present (empty optionals may be omitted), no unknown names, kinds,
    /// element types and shapes that fit.
    /// </summary>
    public static void CheckFeed(IReadOnlyList<ValueSpec> inputs, ValueMap feed, string source)
    {
        foreach (var name in feed.Keys)
            if (!inputs.Any(i => i.Name == name))
                throw new InvalidInputException($"{source}: holds '{name}', which is not an input of the model (inputs: {string.Join(", ", inputs.Select(i => i.Name))})");
        foreach (var spec in inputs)
        {
            if (!feed.TryGetValue(spec.Name, out var v))
            {
                if (spec.Kind == ValueKind.Optional) continue;
                throw new InvalidInputException($"{source}: has no value for input '{spec.Name}' (it holds: {string.Join(", ", feed.Keys)})");
            }
            CheckValue(spec, v, source);
        }
    }

    public static void CheckValue(ValueSpec spec, OnnxValue v, string source)
    {
        if (v is OptionalData o)
        {
            if (o.Value is null) return;
            v = o.Value;
        }
        switch (v)
        {
            case TensorData t when spec.Kind is ValueKind.Tensor or ValueKind.Optional:
                if (spec.ElementType != ElementType.Undefined && t.ElementType != spec.ElementType)
                    throw new InvalidInputException($"{source}: input '{spec.Name}' is {spec.ElementType.DisplayName()} in the model, but the data is {t.ElementType.DisplayName()}");
                CheckShapeFits(spec, t.Shape, source);
                break;
            case SequenceData s when spec.Kind is ValueKind.Sequence or ValueKind.Optional:
                foreach (var item in s.Items)
                    if (spec.ElementType != ElementType.Undefined && item.ElementType != spec.ElementType)
                        throw new InvalidInputException($"{source}: input '{spec.Name}' is a sequence of {spec.ElementType.DisplayName()}, but an item is {item.ElementType.DisplayName()}");
                break;
            default:
                throw new InvalidInputException($"{source}: input '{spec.Name}' is a {spec.Kind.ToString().ToLowerInvariant()} in the model, but the data is a {v.Describe()}");
        }
    }

    /// <summary>
    /// numpy has no bfloat16, so bfloat16 data arrives as uint16 bit patterns (the ONNX backend tests store it so) or
    /// as float32 values. Where the model wants bfloat16, such a tensor is converted: uint16 reinterpreted bit for bit,
    /// float32 only when every value is exactly a bfloat16 (otherwise it stays as is and the type check reports it).
    /// Everything else is returned unchanged: no other silent conversion exists.
    /// </summary>
    public static ValueMap ConformBFloat16(IReadOnlyList<ValueSpec> specs, ValueMap values, List<string>? notes = null)
    {
        ValueMap? result = null;
        foreach (var (name, v) in values)
        {
            var spec = specs.FirstOrDefault(s => s.Name == name);
            var converted = spec is { ElementType: ElementType.BFloat16 } && v is TensorData t ? ToBFloat16(t) : null;
            if (converted is not null)
            {
                notes?.Add($"'{name}': the data is {((TensorData)v).ElementType.DisplayName()}, the model's type is bfloat16: read as bfloat16");
                result ??= new ValueMap(values);
                result.Set(name, converted);
            }
        }
        return result ?? values;
    }

    private static TensorData? ToBFloat16(TensorData t)
    {
        if (t.ElementType == ElementType.UInt16) return new TensorData(ElementType.BFloat16, t.Shape, t.Memory);
        if (t.ElementType != ElementType.Float) return null;
        var src = t.Span<float>();
        var dst = TensorData.Allocate(ElementType.BFloat16, t.Shape);
        var d = dst.Span<ushort>();
        for (int i = 0; i < src.Length; i++)
        {
            uint bits = BitConverter.SingleToUInt32Bits(src[i]);
            if ((bits & 0xFFFF) != 0) return null;
            d[i] = (ushort)(bits >> 16);
        }
        return dst;
    }
}
