using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace PolyNet.Compare.Kernels;

/// <summary>Tolerances and constants of one comparison, as the kernels see them.</summary>
internal readonly record struct KernelParams(double Atol, double Rtol);

/// <summary>
/// Everything the first pass accumulates over a range of elements. Ranges are merged in index order
/// (<see cref="Merge"/>), so results do not depend on how work was split among threads.
/// Sums: SIMD lanes accumulate in float within blocks of <see cref="Pass1Kernel.Block"/> elements; block sums are
/// added in double in index order. Error sums and statistics cover finite values only; non-finite ones are counted.
/// </summary>
internal struct Pass1Acc
{
    public long N;
    public long Mismatch;
    public long NanRef, NanCand, InfRef, InfCand;
    public long InfAbs, InfRel;
    public double SumAbs, SumAbsSq, SumRel, SumRelSq;
    public double MaxAbs, MaxRel;
    public long MaxAbsIndex, MaxRelIndex;
    public double NeedAtol, NeedRtol;
    public double DiffSq, Dot, RefSq, CandSq;
    public double RefMin, RefMax, RefSum, RefSumSq, CandMin, CandMax, CandSum, CandSumSq;
    public long RefFinite, CandFinite;
    /// <summary>Smallest non-zero and largest finite absolute and relative errors (log-scale histogram ranges).</summary>
    public double MinPosAbs, MinPosRel, MaxFinAbs, MaxFinRel;

    public static Pass1Acc Empty => new()
    {
        MinPosAbs = double.PositiveInfinity, MinPosRel = double.PositiveInfinity,
        MaxAbs = -1, MaxRel = -1, MaxAbsIndex = -1, MaxRelIndex = -1,
        RefMin = double.PositiveInfinity, CandMin = double.PositiveInfinity,
        RefMax = double.NegativeInfinity, CandMax = double.NegativeInfinity,
    };

    /// <summary>Adds <paramref name="o"/>, a range that follows this one (ties in max keep the earlier index).</summary>
    public void Merge(in Pass1Acc o)
    {
        N += o.N; Mismatch += o.Mismatch;
        NanRef += o.NanRef; NanCand += o.NanCand; InfRef += o.InfRef; InfCand += o.InfCand;
        InfAbs += o.InfAbs; InfRel += o.InfRel;
        SumAbs += o.SumAbs; SumAbsSq += o.SumAbsSq; SumRel += o.SumRel; SumRelSq += o.SumRelSq;
        if (o.MaxAbs > MaxAbs) { MaxAbs = o.MaxAbs; MaxAbsIndex = o.MaxAbsIndex; }
        if (o.MaxRel > MaxRel) { MaxRel = o.MaxRel; MaxRelIndex = o.MaxRelIndex; }
        NeedAtol = Math.Max(NeedAtol, o.NeedAtol); NeedRtol = Math.Max(NeedRtol, o.NeedRtol);
        DiffSq += o.DiffSq; Dot += o.Dot; RefSq += o.RefSq; CandSq += o.CandSq;
        RefMin = Math.Min(RefMin, o.RefMin); RefMax = Math.Max(RefMax, o.RefMax); RefSum += o.RefSum; RefSumSq += o.RefSumSq;
        CandMin = Math.Min(CandMin, o.CandMin); CandMax = Math.Max(CandMax, o.CandMax); CandSum += o.CandSum; CandSumSq += o.CandSumSq;
        RefFinite += o.RefFinite; CandFinite += o.CandFinite;
        MinPosAbs = Math.Min(MinPosAbs, o.MinPosAbs); MinPosRel = Math.Min(MinPosRel, o.MinPosRel);
        MaxFinAbs = Math.Max(MaxFinAbs, o.MaxFinAbs); MaxFinRel = Math.Max(MaxFinRel, o.MaxFinRel);
    }

    /// <summary>Accumulates one element in double precision (the reference semantics; used for float64 data).</summary>
    public void AddScalar(double r, double c, long index, in KernelParams p)
    {
        N++;
        double abs = ErrorMath.AbsError(r, c);
        double rel = ErrorMath.RelError(abs, r);
        if (!ErrorMath.Passes(abs, r, p.Atol, p.Rtol)) Mismatch++;
        if (double.IsNaN(r)) NanRef++; else if (double.IsInfinity(r)) InfRef++;
        if (double.IsNaN(c)) NanCand++; else if (double.IsInfinity(c)) InfCand++;
        if (double.IsFinite(abs)) { SumAbs += abs; SumAbsSq += abs * abs; MaxFinAbs = Math.Max(MaxFinAbs, abs); } else InfAbs++;
        if (double.IsFinite(rel)) { SumRel += rel; SumRelSq += rel * rel; MaxFinRel = Math.Max(MaxFinRel, rel); } else InfRel++;
        if (abs > 0) MinPosAbs = Math.Min(MinPosAbs, abs);
        if (rel > 0) MinPosRel = Math.Min(MinPosRel, rel);
        if (abs > MaxAbs) { MaxAbs = abs; MaxAbsIndex = index; }
        if (rel > MaxRel) { MaxRel = rel; MaxRelIndex = index; }
        NeedAtol = Math.Max(NeedAtol, ErrorMath.NeededAtol(abs, r, p.Rtol));
        NeedRtol = Math.Max(NeedRtol, ErrorMath.NeededRtol(abs, r, p.Atol));
        bool fr = double.IsFinite(r), fc = double.IsFinite(c);
        if (fr && fc) { double d = c - r; DiffSq += d * d; Dot += r * c; RefSq += r * r; CandSq += c * c; }
        if (fr) { RefFinite++; RefMin = Math.Min(RefMin, r); RefMax = Math.Max(RefMax, r); RefSum += r; RefSumSq += r * r; }
        if (fc) { CandFinite++; CandMin = Math.Min(CandMin, c); CandMax = Math.Max(CandMax, c); CandSum += c; CandSumSq += c * c; }
    }
}

/// <summary>The first comparison pass over float32 data: AVX2-width SIMD with a float scalar tail of identical semantics.</summary>
internal static class Pass1Kernel
{
    public const int Block = 2048;

    public static void Run(ReadOnlySpan<float> r, ReadOnlySpan<float> c, long baseIndex, in KernelParams p, ref Pass1Acc acc)
    {
        for (int start = 0; start < r.Length; start += Block)
        {
            int len = Math.Min(Block, r.Length - start);
            RunBlock(r.Slice(start, len), c.Slice(start, len), baseIndex + start, p, ref acc);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunBlock(ReadOnlySpan<float> r, ReadOnlySpan<float> c, long baseIndex, in KernelParams p, ref Pass1Acc acc)
    {
        float atol = (float)Math.Min(p.Atol, float.MaxValue), rtol = (float)Math.Min(p.Rtol, float.MaxValue);
        var vAtol = Vector256.Create(atol);
        var vRtol = Vector256.Create(rtol);
        var zero = Vector256<float>.Zero;
        var inf = Vector256.Create(float.PositiveInfinity);
        var ninf = Vector256.Create(float.NegativeInfinity);
        var fmax = Vector256.Create(float.MaxValue);
        Vector256<int> mismatch = default, nanR = default, nanC = default, infR = default, infC = default, infAbs = default, infRel = default, finR = default, finC = default;
        Vector256<float> sumAbs = zero, sumAbsSq = zero, sumRel = zero, sumRelSq = zero, maxAbs = zero, maxRel = zero, needA = zero, needR = zero;
        Vector256<float> diffSq = zero, dot = zero, refSq = zero, candSq = zero;
        Vector256<float> rMin = inf, rMax = ninf, rSum = zero, cMin = inf, cMax = ninf, cSum = zero, refSqAll = zero, candSqAll = zero;
        Vector256<float> minPosAbs = inf, minPosRel = inf, maxFinAbs = zero, maxFinRel = zero;

        int i = 0;
        ref float rr = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(r);
        ref float cr = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(c);
        for (; i + 8 <= r.Length; i += 8)
        {
            var vr = Vector256.LoadUnsafe(ref rr, (nuint)i);
            var vc = Vector256.LoadUnsafe(ref cr, (nuint)i);
            var isNanR = ~Vector256.Equals(vr, vr);
            var isNanC = ~Vector256.Equals(vc, vc);
            var finMaskR = Vector256.Equals(vr - vr, zero);
            var finMaskC = Vector256.Equals(vc - vc, zero);
            var ar = Vector256.Abs(vr);
            var d = vc - vr;
            var abs = Vector256.Abs(d);
            var same = Vector256.Equals(vc, vr) | (isNanR & isNanC);
            abs = Vector256.ConditionalSelect(same, zero, abs);
            abs = Vector256.ConditionalSelect(~Vector256.Equals(abs, abs), inf, abs); // one NaN: +inf
            var absIsZero = Vector256.Equals(abs, zero);
            var rel = abs / ar;
            rel = Vector256.ConditionalSelect(absIsZero, zero, rel);
            rel = Vector256.ConditionalSelect(~Vector256.Equals(rel, rel), inf, rel);
            var ok = Vector256.LessThanOrEqual(abs, Vector256.Min(vAtol + vRtol * ar, fmax)) | absIsZero;
            mismatch -= (~ok).AsInt32();
            nanR -= isNanR.AsInt32();
            nanC -= isNanC.AsInt32();
            infR -= (~finMaskR & ~isNanR).AsInt32();
            infC -= (~finMaskC & ~isNanC).AsInt32();
            var absInf = Vector256.Equals(abs, inf);
            var relInf = Vector256.Equals(rel, inf);
            infAbs -= absInf.AsInt32();
            infRel -= relInf.AsInt32();
            var absF = Vector256.ConditionalSelect(absInf, zero, abs);
            var relF = Vector256.ConditionalSelect(relInf, zero, rel);
            sumAbs += absF; sumAbsSq += absF * absF;
            maxFinAbs = Vector256.Max(maxFinAbs, absF);
            maxFinRel = Vector256.Max(maxFinRel, relF);
            minPosAbs = Vector256.Min(minPosAbs, Vector256.ConditionalSelect(absIsZero, inf, abs));
            minPosRel = Vector256.Min(minPosRel, Vector256.ConditionalSelect(Vector256.Equals(rel, zero), inf, rel));
            sumRel += relF; sumRelSq += relF * relF;
            maxAbs = Vector256.Max(maxAbs, abs);
            maxRel = Vector256.Max(maxRel, rel);
            var ta = Vector256.ConditionalSelect(absInf, inf, Vector256.ConditionalSelect(absIsZero, zero, abs - vRtol * ar));
            needA = Vector256.Max(needA, ta);
            var tr = (abs - vAtol) / ar;
            tr = Vector256.ConditionalSelect(~Vector256.Equals(tr, tr), inf, tr);
            tr = Vector256.ConditionalSelect(Vector256.LessThanOrEqual(abs, vAtol), zero, tr);
            needR = Vector256.Max(needR, tr);
            var both = finMaskR & finMaskC;
            var dF = Vector256.ConditionalSelect(both, d, zero);
            var rF = Vector256.ConditionalSelect(finMaskR, vr, zero);
            var cF = Vector256.ConditionalSelect(finMaskC, vc, zero);
            var rB = Vector256.ConditionalSelect(both, vr, zero);
            var cB = Vector256.ConditionalSelect(both, vc, zero);
            diffSq += dF * dF; dot += rB * cB; refSq += rB * rB; candSq += cB * cB;
            finR -= finMaskR.AsInt32();
            finC -= finMaskC.AsInt32();
            rMin = Vector256.Min(rMin, Vector256.ConditionalSelect(finMaskR, vr, inf));
            rMax = Vector256.Max(rMax, Vector256.ConditionalSelect(finMaskR, vr, ninf));
            cMin = Vector256.Min(cMin, Vector256.ConditionalSelect(finMaskC, vc, inf));
            cMax = Vector256.Max(cMax, Vector256.ConditionalSelect(finMaskC, vc, ninf));
            rSum += rF; cSum += cF;
            refSqAll += rF * rF; candSqAll += cF * cF;
        }

        var a = Pass1Acc.Empty;
        a.N = i;
        a.Mismatch = Vector256.Sum(mismatch);
        a.NanRef = Vector256.Sum(nanR); a.NanCand = Vector256.Sum(nanC);
        a.InfRef = Vector256.Sum(infR); a.InfCand = Vector256.Sum(infC);
        a.InfAbs = Vector256.Sum(infAbs); a.InfRel = Vector256.Sum(infRel);
        a.SumAbs = Vector256.Sum(sumAbs); a.SumAbsSq = Vector256.Sum(sumAbsSq);
        a.SumRel = Vector256.Sum(sumRel); a.SumRelSq = Vector256.Sum(sumRelSq);
        a.NeedAtol = Math.Max(0, HMax(needA)); a.NeedRtol = HMax(needR);
        a.DiffSq = Vector256.Sum(diffSq); a.Dot = Vector256.Sum(dot); a.RefSq = Vector256.Sum(refSq); a.CandSq = Vector256.Sum(candSq);
        a.RefFinite = Vector256.Sum(finR); a.CandFinite = Vector256.Sum(finC);
        a.RefMin = HMin(rMin); a.RefMax = HMax(rMax); a.CandMin = HMin(cMin); a.CandMax = HMax(cMax);
        a.RefSum = Vector256.Sum(rSum); a.CandSum = Vector256.Sum(cSum);
        a.RefSumSq = Vector256.Sum(refSqAll); a.CandSumSq = Vector256.Sum(candSqAll);
        a.MinPosAbs = HMin(minPosAbs); a.MinPosRel = HMin(minPosRel); a.MaxFinAbs = HMax(maxFinAbs); a.MaxFinRel = HMax(maxFinRel);
        if (i > 0)
        {
            float mAbs = HMax(maxAbs), mRel = HMax(maxRel);
            a.MaxAbs = mAbs;
            a.MaxRel = mRel;
            a.MaxAbsIndex = baseIndex + FirstIndex(r[..i], c[..i], mAbs, relative: false);
            a.MaxRelIndex = baseIndex + FirstIndex(r[..i], c[..i], mRel, relative: true);
        }
        // Scalar tail, float arithmetic like the vector body.
        for (; i < r.Length; i++) AddFloat(ref a, r[i], c[i], baseIndex + i, atol, rtol);
        acc.Merge(a);
    }

    /// <summary>One element in float arithmetic, exactly as one SIMD lane computes it.</summary>
    internal static void AddFloat(ref Pass1Acc a, float r, float c, long index, float atol, float rtol)
    {
        a.N++;
        float abs = AbsF(r, c);
        float ar = Math.Abs(r);
        float rel = RelF(abs, ar);
        if (!(abs == 0 || abs <= Math.Min(atol + rtol * ar, float.MaxValue))) a.Mismatch++;
        if (float.IsNaN(r)) a.NanRef++; else if (float.IsInfinity(r)) a.InfRef++;
        if (float.IsNaN(c)) a.NanCand++; else if (float.IsInfinity(c)) a.InfCand++;
        if (float.IsPositiveInfinity(abs)) a.InfAbs++; else { a.SumAbs += abs; a.SumAbsSq += abs * abs; a.MaxFinAbs = Math.Max(a.MaxFinAbs, abs); }
        if (float.IsPositiveInfinity(rel)) a.InfRel++; else { a.SumRel += rel; a.SumRelSq += rel * rel; a.MaxFinRel = Math.Max(a.MaxFinRel, rel); }
        if (abs > 0) a.MinPosAbs = Math.Min(a.MinPosAbs, abs);
        if (rel > 0) a.MinPosRel = Math.Min(a.MinPosRel, rel);
        if (abs > a.MaxAbs) { a.MaxAbs = abs; a.MaxAbsIndex = index; }
        if (rel > a.MaxRel) { a.MaxRel = rel; a.MaxRelIndex = index; }
        float ta = float.IsPositiveInfinity(abs) ? float.PositiveInfinity : abs == 0 ? 0 : abs - rtol * ar;
        a.NeedAtol = Math.Max(a.NeedAtol, ta);
        float tr = (abs - atol) / ar;
        if (float.IsNaN(tr)) tr = float.PositiveInfinity;
        if (abs <= atol) tr = 0;
        a.NeedRtol = Math.Max(a.NeedRtol, tr);
        bool fr = float.IsFinite(r), fc = float.IsFinite(c);
        if (fr && fc) { float d = c - r; a.DiffSq += d * d; a.Dot += r * c; a.RefSq += r * r; a.CandSq += c * c; }
        if (fr) { a.RefFinite++; a.RefMin = Math.Min(a.RefMin, r); a.RefMax = Math.Max(a.RefMax, r); a.RefSum += r; a.RefSumSq += r * r; }
        if (fc) { a.CandFinite++; a.CandMin = Math.Min(a.CandMin, c); a.CandMax = Math.Max(a.CandMax, c); a.CandSum += c; a.CandSumSq += c * c; }
    }

    /// <summary>Absolute error in float arithmetic (see <see cref="ErrorMath.AbsError"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float AbsF(float r, float c)
    {
        if (c == r) return 0;
        bool nr = float.IsNaN(r), nc = float.IsNaN(c);
        if (nr && nc) return 0;
        if (nr || nc) return float.PositiveInfinity;
        return Math.Abs(c - r);
    }

    /// <summary>Relative error in float arithmetic (see <see cref="ErrorMath.RelError"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float RelF(float abs, float absRef)
    {
        if (abs == 0) return 0;
        float rel = abs / absRef;
        return float.IsNaN(rel) ? float.PositiveInfinity : rel;
    }

    private static int FirstIndex(ReadOnlySpan<float> r, ReadOnlySpan<float> c, float target, bool relative)
    {
        for (int k = 0; k < r.Length; k++)
        {
            float abs = AbsF(r[k], c[k]);
            float v = relative ? RelF(abs, Math.Abs(r[k])) : abs;
            if (v == target) return k;
        }
        return 0;
    }

    internal static float HMax(Vector256<float> v)
    {
        float m = v[0];
        for (int k = 1; k < 8; k++) m = Math.Max(m, v[k]);
        return m;
    }

    internal static float HMin(Vector256<float> v)
    {
        float m = v[0];
        for (int k = 1; k < 8; k++) m = Math.Min(m, v[k]);
        return m;
    }
}
