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
}
