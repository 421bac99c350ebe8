using PolyNet.Onnx;

namespace PolyNet.Compare;

/// <summary>Distribution of one quantity over a tensor: exact order statistics (numpy's linear interpolation) and moments.</summary>
/// <param name="Count">Values summarized (NaN and infinities of values are excluded and counted by the caller; infinite errors are included in quantiles and max).</param>
public sealed record Distribution(long Count, double Min, double Max, double Mean, double Std, double Median, double P90, double P95, double P99, double Quantile)
{
    public static Distribution Empty { get; } = new(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
}

/// <summary>A histogram bin: (Low, High], except the first bin, which includes Low.</summary>
public sealed record HistogramBin(double Low, double High, long Count, string Label);

/// <summary>A histogram; error histograms use decades (log scale) with separate bins for exact zeros and infinities.</summary>
public sealed record Histogram(IReadOnlyList<HistogramBin> Bins, bool LogScale)
{
    public long Total => Bins.Sum(b => b.Count);
}

/// <summary>The element where the error is largest.</summary>
public sealed record WorstElement(long FlatIndex, string Index, string Reference, string Candidate, double AbsError, double RelError);

/// <summary>
/// Every number the comparator computes for one output pair. Infinite errors (a NaN against a number, an infinity
/// against something else) are counted in <see cref="InfiniteAbsErrors"/>; error means cover the finite errors.
/// Elements NaN on one side only (<see cref="NanPairs"/>) have no error a number measures: the error quantiles are
/// over the other elements (their Count says how many), and the maximum is NaN.
/// </summary>
public sealed record ComparisonMetrics
{
    /// <summary>
    /// The robust relative error divides by max(|ref|, floor), floor = this fraction of the output's scale: its largest
    /// finite |ref|.
    /// </summary>
    public const double RobustFloorFraction = 1e-3;

    public long Count { get; init; }
    public long Mismatches { get; init; }
    public double MismatchPercent => Count == 0 ? 0 : 100.0 * Mismatches / Count;
    public required Distribution AbsError { get; init; }
    public required Distribution RelError { get; init; }
    /// <summary>Robust relative error: count, max and mean (no quantiles).</summary>
    public required Distribution RobustRelError { get; init; }
    /// <summary>The floor used by <see cref="RobustRelError"/>.</summary>
    public double RobustFloor { get; init; }
    public long InfiniteAbsErrors { get; init; }
    public long InfiniteRelErrors { get; init; }
    /// <summary>Elements NaN on one side only (counted in <see cref="InfiniteAbsErrors"/> too).</summary>
    public long NanPairs { get; init; }
    public WorstElement? WorstAbs { get; init; }
    public WorstElement? WorstRel { get; init; }
    /// <summary>Smallest atol that passes every element with the configured rtol (elemwise rule).</summary>
    public double NeededAtol { get; init; }
    /// <summary>Smallest rtol that passes every element with the configured atol (elemwise rule).</summary>
    public double NeededRtol { get; init; }
    /// <summary>
    /// Pairs finite on both sides: cosine similarity, relative L2, SNR and PSNR are computed over these alone (elements
    /// non-finite on a side are left out, and counted in <see cref="SimilarityExcluded"/>); all four are NaN when there
    /// are none.
    /// </summary>
    public long SimilarityPairs { get; init; }
    public long SimilarityExcluded => Count - SimilarityPairs;
    /// <summary>Cosine of the angle between the two sides (within [-1, 1]); NaN with fewer than two pairs, where it says nothing.</summary>
    public double CosineSimilarity { get; init; }
    /// <summary>‖cand − ref‖₂ / ‖ref‖₂ over elements finite on both sides.</summary>
    public double RelativeL2 { get; init; }
    /// <summary>10·log10(‖ref‖² / ‖cand − ref‖²), dB; +inf when identical.</summary>
    public double SnrDb { get; init; }
    /// <summary>10·log10(peak² / MSE), peak = largest finite |ref|, dB.</summary>
    public double PsnrDb { get; init; }
    public required Distribution Reference { get; init; }
    public required Distribution Candidate { get; init; }
    public long NanReference { get; init; }
    public long NanCandidate { get; init; }
    public long InfReference { get; init; }
    public long InfCandidate { get; init; }
    public Histogram? AbsHistogram { get; init; }
    public Histogram? RelHistogram { get; init; }
    public Histogram? ReferenceHistogram { get; init; }
    public Histogram? CandidateHistogram { get; init; }
}
