namespace PolyNet.Compare.Kernels;

/// <summary>
/// The per-element definitions every comparison path shares (the SIMD kernels must agree with these exactly):
/// <list type="bullet">
/// <item>absolute error: |cand − ref|; 0 when both are equal (so +inf vs +inf is 0) or both are NaN;
/// +inf when exactly one is NaN; +inf when one is infinite and the other is not or has the other sign.</item>
/// <item>relative error: abs / |ref|; 0 when abs is 0; +inf when |ref| is 0 and abs is not, or when both are infinite.</item>
/// <item>an element passes (elemwise) when abs ≤ atol + rtol·|ref| and abs is finite: NaN matches NaN, an infinity
/// matches only the same infinity (numpy's isclose with equal_nan=True).</item>
/// </list>
/// </summary>
public static class ErrorMath
{
    public static double AbsError(double r, double c)
    {
        if (c == r) return 0;
        bool nr = double.IsNaN(r), nc = double.IsNaN(c);
        if (nr && nc) return 0;
        if (nr || nc) return double.PositiveInfinity;
        return Math.Abs(c - r);
    }

    /// <summary>
    /// The error as reports show it: NaN when exactly one side is NaN (the kernels count such an element with the
    /// infinite errors, as a mismatch, but no number measures how far a NaN is from a number); otherwise <see cref="AbsError"/>.
    /// </summary>
    public static double ReportedAbs(double r, double c) => double.IsNaN(r) != double.IsNaN(c) ? double.NaN : AbsError(r, c);

    /// <summary>The relative error as reports show it (NaN where <see cref="ReportedAbs"/> is).</summary>
    public static double ReportedRel(double abs, double r) => double.IsNaN(abs) ? double.NaN : RelError(abs, r);

    public static double RelError(double abs, double r)
    {
        if (abs == 0) return 0;
        double ar = Math.Abs(r);
        double rel = abs / ar;
        return double.IsNaN(rel) ? double.PositiveInfinity : rel;
    }

    public static bool Passes(double abs, double r, double atol, double rtol)
        => abs == 0 || abs <= Math.Min(atol + rtol * Math.Abs(r), double.MaxValue);

    /// <summary>The smallest atol that would let this element pass with <paramref name="rtol"/> (0 if it already passes with atol 0).</summary>
    public static double NeededAtol(double abs, double r, double rtol)
        => double.IsPositiveInfinity(abs) ? double.PositiveInfinity : abs == 0 ? 0 : Math.Max(0, abs - rtol * Math.Abs(r));

    /// <summary>The smallest rtol that would let this element pass with <paramref name="atol"/>.</summary>
    public static double NeededRtol(double abs, double r, double atol)
    {
        if (abs <= atol) return 0;
        double t = (abs - atol) / Math.Abs(r);
        return double.IsNaN(t) ? double.PositiveInfinity : t;
    }

    /// <summary>The robust relative error: abs / max(|ref|, floor), finite wherever abs is (see <see cref="ComparisonMetrics.RobustFloor"/>).</summary>
    public static double RobustRel(double abs, double r, double floor)
    {
        if (abs == 0) return 0;
        double d = Math.Max(Math.Abs(r), floor);
        double rel = abs / d;
        return double.IsNaN(rel) ? double.PositiveInfinity : rel;
    }
}
