using PolyNet.Compare.Kernels;
using PolyNet.Onnx;

namespace PolyNet.Compare;

/// <summary>A tensor's values described: exact distribution (min, max, mean, std, median, p90, p95, p99), non-finite counts, octave histogram.</summary>
public sealed record TensorDescription(Distribution Values, long NaN, long Infinite, Histogram? Histogram);

public static class TensorStatistics
{
    /// <summary>Describes a numeric tensor with the comparator's own machinery (one pass, exact quantiles).</summary>
    public static TensorDescription Describe(TensorData t, int? threads = null)
    {
        if (t.ElementType == ElementType.String || !t.ElementType.IsSupported())
            throw new InvalidOperationException($"{t.ElementType.DisplayName()} tensors have no numeric statistics");
        var m = ComparisonEngine.Run(t, t, 0, 0, 0.99, threads);
        return new TensorDescription(m.Reference, m.NanReference, m.InfReference, m.ReferenceHistogram);
    }
}
