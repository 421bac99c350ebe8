using PolyNet.Onnx;

namespace PolyNet.Compare;

/// <summary>The judgement of one output (or one item of a sequence output): what was compared, the numbers, the verdict.</summary>
public sealed record OutputComparison
{
    public required string Output { get; init; }
    public required bool Passed { get; init; }
    /// <summary>One line: why it passed or failed.</summary>
    public required string Reason { get; init; }
    public required Tolerance Tolerance { get; init; }
    /// <summary>Where the tolerance came from: "default", "per-output", "fp16 default" and the like.</summary>
    public string ToleranceSource { get; init; } = "default";
    public ElementType ReferenceType { get; init; }
    public ElementType CandidateType { get; init; }
    public TensorShape? ReferenceShape { get; init; }
    public TensorShape? CandidateShape { get; init; }
    /// <summary>The two sides do not have the same structure (shape, element type, kind, sequence length): no element was compared.</summary>
    public bool Structural { get; init; }
    /// <summary>Integers, bools and strings are compared exactly (tolerances do not apply).</summary>
    public bool Exact { get; init; }
    /// <summary>Null when the two sides could not be compared element by element (shape or type mismatch, missing output).</summary>
    public ComparisonMetrics? Metrics { get; init; }
    /// <summary>For string tensors: the first differing element, if any.</summary>
    public WorstElement? FirstStringMismatch { get; init; }
    /// <summary>Top-k agreement of class scores (with --top-k).</summary>
    public TopKResult? TopK { get; init; }
    /// <summary>Where the errors sit (failing outputs, or every output when asked for).</summary>
    public Explanation? Explanation { get; init; }
    /// <summary>A remark the user should read, e.g. the TF32 hint.</summary>
    public string? Hint { get; init; }
}
