using PolyNet.Onnx;

namespace PolyNet.Compare;

/// <summary>One candidate's outputs judged against one reference for one sample.</summary>
/// <param name="MissingInCandidate">Outputs the reference has and the candidate lacks (reported by name, counted as failures).</param>
/// <param name="MissingInReference">Outputs only the candidate has (reported, not judged).</param>
public sealed record PairResult(int Sample, string Reference, string Candidate, IReadOnlyList<OutputComparison> Outputs,
    IReadOnlyList<string> MissingInCandidate, IReadOnlyList<string> MissingInReference)
{
    public bool Passed => MissingInCandidate.Count == 0 && Outputs.All(o => o.Passed);
}

/// <summary>Judges every output of a reference sample against a candidate's. Pure: no I/O.</summary>
public static class PairComparer
{
    /// <summary>The hint a failing output gets when a side computes in TF32.</summary>
    public const string Tf32Hint = "a side computes convolutions and GEMMs in TF32 (CUDA's default, ~1e-3 relative precision): compare with tolerances fit for TF32 (e.g. --atol 1e-3 --rtol 1e-3) or run with tf32=0";

    private static ElementType TypeOf(OnnxValue v) => v switch
    {
        TensorData t => t.ElementType,
        SequenceData s => s.ElementType,
        OptionalData { Value: { } inner } => TypeOf(inner),
        _ => ElementType.Float,
    };

    /// <param name="onlyShared">Outputs only the candidate has are not reported (stored references may hold a subset).</param>
    /// <param name="refPrecision">What the reference computes in; with <paramref name="candPrecision"/> and the data's types it picks dtype-aware default tolerances.</param>
    public static PairResult Compare(int sample, string refName, ValueMap reference, string candName, ValueMap candidate, ToleranceSet tolerances, CompareOptions options, bool onlyShared,
        ComputePrecision refPrecision = ComputePrecision.Fp32, ComputePrecision candPrecision = ComputePrecision.Fp32)
    {
        var comparisons = new List<OutputComparison>();
        var missing = new List<string>();
        bool tf32 = ComputePrecisions.Coarser(refPrecision, candPrecision) == ComputePrecision.Tf32;
        foreach (var (name, rv) in reference)
        {
            if (!candidate.TryGetValue(name, out var cv))
            {
                missing.Add(name);
                continue;
            }
            var precision = ComputePrecisions.Coarser(ComputePrecisions.Coarser(refPrecision, candPrecision),
                ComputePrecisions.Coarser(ComputePrecisions.Of(TypeOf(rv)), ComputePrecisions.Of(TypeOf(cv))));
            var (tol, source) = tolerances.For(name, precision);
            foreach (var o in TensorComparer.Compare(name, rv, cv, tol, options, source))
                comparisons.Add(tf32 && !o.Passed && o.Metrics is not null ? o with { Hint = Tf32Hint } : o);
        }
        var extra = onlyShared ? [] : candidate.Keys.Where(k => !reference.ContainsKey(k)).ToList();
        return new PairResult(sample, refName, candName, comparisons, missing, extra);
    }
}
