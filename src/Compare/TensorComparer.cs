using System.Globalization;
using PolyNet.Compare.Kernels;
using PolyNet.Onnx;

namespace PolyNet.Compare;

/// <summary>Options of a comparison beyond the tolerances.</summary>
public sealed record CompareOptions
{
    /// <summary>Threads for large tensors (default: all cores).</summary>
    public int? Threads { get; init; }
    /// <summary>With a value: judge floating-point outputs by their top-k class indices along the last axis (Polygraphy's index comparison) and report the agreement.</summary>
    public int? TopK { get; init; }
    /// <summary>Which comparisons get an <see cref="Explanation"/> (a second pass over the data): failing ones by default.</summary>
    public ExplainMode Explain { get; init; } = ExplainMode.Failing;

    /// <summary>
    /// The options for comparing intermediate tensors (layerwise passes, localization, reducer checks): no top-k (it
    /// describes classifier outputs) and no explanations (nobody reads them there).
    /// </summary>
    public CompareOptions ForIntermediates() => this with { TopK = null, Explain = ExplainMode.None };
}

/// <summary>Which comparisons get an <see cref="Explanation"/>.</summary>
public enum ExplainMode
{
    None,
    /// <summary>Failing comparisons (what text reports show).</summary>
    Failing,
    /// <summary>Every comparison (HTML reports draw passing outputs too).</summary>
    All,
}

/// <summary>
/// Compares one output of a candidate runner with the reference's. Floating-point outputs are judged by the
/// tolerance (see <see cref="ErrorStat"/>), integers, bools and strings exactly. NaN equals NaN in the same place;
/// an infinity equals only the same infinity (numpy's isclose, equal_nan=True). Pure: no I/O.
/// </summary>
public static class TensorComparer
{
    /// <summary>Compares two values of one output; sequences yield one comparison per item ("name[i]").</summary>
    public static IReadOnlyList<OutputComparison> Compare(string output, OnnxValue reference, OnnxValue candidate, Tolerance tol, CompareOptions? options = null, string source = "default")
    {
        switch (reference, candidate)
        {
            case (TensorData r, TensorData c):
                return [CompareTensors(output, r, c, tol, options, source)];
            case (SequenceData r, SequenceData c):
            {
                if (r.Items.Count != c.Items.Count)
                    return [Problem(output, tol, $"sequence lengths differ: reference has {r.Items.Count} items, candidate {c.Items.Count}")];
                var list = new List<OutputComparison>();
                for (int i = 0; i < r.Items.Count; i++) list.Add(CompareTensors($"{output}[{i}]", r.Items[i], c.Items[i], tol, options, source));
                if (list.Count == 0) list.Add(new OutputComparison { Output = output, Passed = true, Reason = "both sequences are empty", Tolerance = tol, Exact = true });
                return list;
            }
            case (OptionalData r, OptionalData c):
                if (!r.HasValue && !c.HasValue)
                    return [new OutputComparison { Output = output, Passed = true, Reason = "both optionals are empty", Tolerance = tol, Exact = true }];
                if (r.HasValue != c.HasValue)
                    return [Problem(output, tol, r.HasValue ? "the candidate's optional is empty, the reference's is not" : "the candidate's optional has a value, the reference's is empty")];
                return Compare(output, r.Value!, c.Value!, tol, options, source);
            case (OptionalData { Value: { } rv }, _):
                return Compare(output, rv, candidate, tol, options, source);
            case (_, OptionalData { Value: { } cv }):
                return Compare(output, reference, cv, tol, options, source);
            default:
                return [Problem(output, tol, $"kinds differ: reference is a {reference.Describe()}, candidate a {candidate.Describe()}")];
        }
    }

    /// <summary>
    /// Compares two small float32 tensors (one element out of tolerance), so that the comparison's vectorized kernels
    /// and its explanation are compiled before real outputs arrive. Orchestration runs it on a background thread while
    /// files load or models run; it changes no state and swallows nothing but its own result.
    /// </summary>
    public static void WarmUp()
    {
        const int n = 1 << 18;
        var a = TensorData.Allocate(ElementType.Float, new TensorShape([4, n / 4]));
        var b = TensorData.Allocate(ElementType.Float, new TensorShape([4, n / 4]));
        var x = a.Span<float>();
        var y = b.Span<float>();
        for (int i = 0; i < n; i++)
        {
            x[i] = (i % 1000) * 1e-3f;
            y[i] = x[i] + (i % 7) * 1e-7f;
        }
        y[n / 2] += 1;
        CompareTensors("warm-up", a, b, new Tolerance(1e-5, 1e-5));
    }

    public static OutputComparison CompareTensors(string output, TensorData r, TensorData c, Tolerance tol, CompareOptions? options = null, string source = "default")
    {
        bool rFloat = r.ElementType.IsFloatingPoint(), cFloat = c.ElementType.IsFloatingPoint();
        if (r.Shape != c.Shape)
            return Problem(output, tol, $"shapes differ: reference {r.Shape}, candidate {c.Shape}", r, c);
        if (r.ElementType == ElementType.String || c.ElementType == ElementType.String)
            return CompareStrings(output, r, c, tol);
        if (r.ElementType != c.ElementType && !(rFloat && cFloat))
            return Problem(output, tol, $"types differ: reference {r.ElementType.DisplayName()}, candidate {c.ElementType.DisplayName()}", r, c);

        bool exact = !rFloat;
        var metrics = ComparisonEngine.Run(r, c, exact ? 0 : tol.Atol, exact ? 0 : tol.Rtol, tol.Quantile, options?.Threads);
        if (exact) metrics = ExactIntegerMismatches(r, c, metrics);
        var (passed, reason) = exact ? ExactVerdict(metrics) : Verdict(metrics, tol);
        TopKResult? topK = null;
        if (options?.TopK is { } k && !exact && r.Shape.Rank > 0)
        {
            topK = TopKResult.Compute(r, c, k);
            if (topK is not null)
            {
                // Index comparison decides: every row's top-k set must agree; the value verdict is reported beside it.
                bool setsAgree = topK.SetsEqual == topK.Rows;
                reason = setsAgree
                    ? $"top-{topK.K} classes agree in every row ({topK.Rows}); values: {reason}"
                    : $"top-{topK.K} classes differ in {topK.Rows - topK.SetsEqual} of {topK.Rows} rows (top-1 agreement {F(topK.Top1Percent)}%)";
                passed = setsAgree;
            }
        }
        if (passed && r.ElementType != c.ElementType)
            reason += $" (reference {r.ElementType.DisplayName()}, candidate {c.ElementType.DisplayName()})";
        var explain = options?.Explain ?? ExplainMode.Failing;
        var explanation = explain == ExplainMode.All || (explain == ExplainMode.Failing && !passed) ? Explanation.Compute(r, c, exact ? new Tolerance(0, 0) : tol, options?.Threads) : null;
        return new OutputComparison
        {
            ToleranceSource = source,
            TopK = topK,
            Explanation = explanation,
            Output = output,
            Passed = passed,
            Reason = reason,
            Tolerance = tol,
            ReferenceType = r.ElementType,
            CandidateType = c.ElementType,
            ReferenceShape = r.Shape,
            CandidateShape = c.Shape,
            Exact = exact,
            Metrics = metrics,
        };
    }

    /// <summary>The verdict for floating-point data under <paramref name="tol"/>.</summary>
    public static (bool Passed, string Reason) Verdict(ComparisonMetrics m, Tolerance tol)
    {
        if (m.Count == 0) return (true, "both are empty");
        if (tol.Stat == ErrorStat.Elemwise)
        {
            bool ok = m.Mismatches == 0 || m.MismatchPercent <= tol.MaxMismatchPercent;
            var what = $"{m.Mismatches} of {m.Count} elements ({P(m.MismatchPercent)}) out of tolerance";
            if (m.Mismatches == 0) return (true, "every element within tolerance");
            return ok ? (true, $"{what}, within --max-mismatch-percent {F(tol.MaxMismatchPercent)}") : (false, what);
        }
        if (m.InfiniteAbsErrors > 0)
            return (false, $"{m.InfiniteAbsErrors} elements are NaN or infinite on one side only");
        var (abs, rel, name) = tol.Stat switch
        {
            ErrorStat.Max => (m.AbsError.Max, m.RelError.Max, "max"),
            ErrorStat.Mean => (m.AbsError.Mean, m.RelError.Mean, "mean"),
            ErrorStat.Median => (m.AbsError.Median, m.RelError.Median, "median"),
            _ => (m.AbsError.Quantile, m.RelError.Quantile, $"{F(tol.Quantile)}-quantile"),
        };
        if (abs <= tol.Atol) return (true, $"{name} abs error {F(abs)} ≤ atol {F(tol.Atol)}");
        if (rel <= tol.Rtol) return (true, $"{name} rel error {F(rel)} ≤ rtol {F(tol.Rtol)}");
        return (false, $"{name} abs error {F(abs)} > atol {F(tol.Atol)} and {name} rel error {F(rel)} > rtol {F(tol.Rtol)}");
    }

    private static (bool, string) ExactVerdict(ComparisonMetrics m)
        => m.Mismatches == 0 ? (true, "every element equal") : (false, $"{m.Mismatches} of {m.Count} elements differ (compared exactly)");

    /// <summary>64-bit integers beyond 2^53 are not exact as doubles: count their mismatches on the raw values.</summary>
    private static ComparisonMetrics ExactIntegerMismatches(TensorData r, TensorData c, ComparisonMetrics m)
    {
        if (r.ElementType is not (ElementType.Int64 or ElementType.UInt64) || r.ElementType != c.ElementType) return m;
        var a = r.Span<long>();
        var b = c.Span<long>();
        long mismatches = 0;
        for (int i = 0; i < a.Length; i++) if (a[i] != b[i]) mismatches++;
        return mismatches == m.Mismatches ? m : m with { Mismatches = mismatches };
    }

    private static OutputComparison CompareStrings(string output, TensorData r, TensorData c, Tolerance tol)
    {
        if (r.ElementType != c.ElementType)
            return Problem(output, tol, $"types differ: reference {r.ElementType.DisplayName()}, candidate {c.ElementType.DisplayName()}", r, c);
        var a = r.Strings;
        var b = c.Strings;
        long mismatches = 0;
        long first = -1;
        for (long i = 0; i < a.LongLength; i++)
            if (!string.Equals(a[i], b[i], StringComparison.Ordinal)) { mismatches++; if (first < 0) first = i; }
        return new OutputComparison
        {
            Output = output,
            Passed = mismatches == 0,
            Reason = mismatches == 0 ? "every string equal" : $"{mismatches} of {a.LongLength} strings differ",
            Tolerance = tol,
            ReferenceType = r.ElementType,
            CandidateType = c.ElementType,
            ReferenceShape = r.Shape,
            CandidateShape = c.Shape,
            Exact = true,
            FirstStringMismatch = first < 0 ? null : new WorstElement(first, r.Shape.FormatIndex(first), r.FormatElement(first), c.FormatElement(first), double.NaN, double.NaN),
        };
    }

    public static OutputComparison Problem(string output, Tolerance tol, string reason, TensorData? r = null, TensorData? c = null) => new()
    {
        Output = output,
        Passed = false,
        Reason = reason,
        Structural = true,
        Tolerance = tol,
        ReferenceType = r?.ElementType ?? ElementType.Undefined,
        CandidateType = c?.ElementType ?? ElementType.Undefined,
        ReferenceShape = r?.Shape,
        CandidateShape = c?.Shape,
    };

    internal static string F(double v) => Format.Number(v);
    private static string P(double pct) => pct.ToString("0.####", CultureInfo.InvariantCulture) + "%";
}
