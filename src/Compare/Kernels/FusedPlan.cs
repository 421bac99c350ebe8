namespace PolyNet.Compare.Kernels;

/// <summary>The four quantities whose distribution is summarized exactly (values of non-finite elements excluded).</summary>
internal enum Quantity
{
    Abs = 0,
    Rel = 1,
    Ref = 2,
    Cand = 3,
}

/// <summary>
/// A bracket [Lo, Hi] that should hold some wanted order statistics. The pass counts values ≥ Lo (and &gt; Lo when
/// <see cref="LoOpen"/>), ≤ Hi (and &lt; Hi when <see cref="HiOpen"/>) and keeps the values inside. An edge is open
/// when the sample shows many values equal to it: those ties are then counted, not kept.
/// </summary>
internal readonly record struct Bracket(float Lo, float Hi, bool LoOpen, bool HiOpen)
{
    public bool Inside(float x) => (LoOpen ? x > Lo : x >= Lo) && (HiOpen ? x < Hi : x <= Hi);
}

/// <summary>Everything the fused pass needs to know before it starts: tolerances, the robust floor, the brackets.</summary>
internal sealed class FusedPlan
{
    public const int Quantities = 4;
    /// <summary>Histogram bins: one per (sign, float32 exponent) pair, i.e. per octave and sign.</summary>
    public const int HistogramBins = 512;

    public required double Atol { get; init; }
    public required double Rtol { get; init; }
    public required float RobustFloor { get; init; }
    public required Bracket[][] Brackets { get; init; }
    /// <summary>Per quantity and bracket, how many values the sample suggests the bracket will keep (to size buffers once).</summary>
    public long[][]? ExpectedKept { get; init; }
}

/// <summary>
/// What one thread of the pass owns and reuses across its chunks: the values kept inside brackets, the histograms,
/// and scratch buffers. Everything here is order-independent (integer counts, and multisets of kept values), so how
/// chunks were distributed among threads does not change any result.
/// </summary>
internal sealed class FusedThreadState : IDisposable
{
    public readonly FloatBuffer[][] Kept;
    /// <summary>Octave counts written by the scalar paths (tails, float64 data).</summary>
    public readonly long[][] Histogram;
    /// <summary>Joint (abs, rel) and (ref, cand) exponent tables written by the SIMD path.</summary>
    public readonly int[] ErrorPairs, ValuePairs;
    /// <summary>Chunk buffers for widening float16/bfloat16 (empty for float32).</summary>
    public readonly float[] R, C;
    internal object? KernelContext;

    public FusedThreadState(FusedPlan plan, bool simd, bool widen, int threads)
    {
        Kept = plan.Brackets.Select((b, q) => b.Select((_, j) => new FloatBuffer((int)Math.Min(1 << 28, (plan.ExpectedKept?[q][j] ?? 0) * 13 / 10 / Math.Max(1, threads) + 64))).ToArray()).ToArray();
        Histogram = Enumerable.Range(0, FusedPlan.Quantities).Select(_ => new long[FusedPlan.HistogramBins]).ToArray();
        ErrorPairs = simd ? RentCleared(FusedKernel.ErrorPairBins) : [];
        ValuePairs = simd ? RentCleared(FusedKernel.ValuePairBins) : [];
        R = widen ? System.Buffers.ArrayPool<float>.Shared.Rent(ComparisonEngine.ChunkSize) : [];
        C = widen ? System.Buffers.ArrayPool<float>.Shared.Rent(ComparisonEngine.ChunkSize) : [];
    }

    private static int[] RentCleared(int n)
    {
        var a = System.Buffers.ArrayPool<int>.Shared.Rent(n);
        Array.Clear(a, 0, n);
        return a;
    }

    /// <summary>Returns every pooled buffer. The state must not be used afterwards.</summary>
    public void Dispose()
    {
        foreach (var q in Kept) foreach (var b in q) b.Dispose();
        if (ErrorPairs.Length > 0) System.Buffers.ArrayPool<int>.Shared.Return(ErrorPairs);
        if (ValuePairs.Length > 0) System.Buffers.ArrayPool<int>.Shared.Return(ValuePairs);
        if (R.Length > 0) System.Buffers.ArrayPool<float>.Shared.Return(R);
        if (C.Length > 0) System.Buffers.ArrayPool<float>.Shared.Return(C);
    }
}

/// <summary>
/// What the fused pass accumulates over a range of elements. Ranges are merged in index order, so results do not
/// depend on how the work was split. Sums: SIMD lanes accumulate in float within blocks of
/// <see cref="FusedKernel.Block"/> elements, and block sums are added in double in index order.
/// Error sums cover finite errors; values' statistics cover finite values; the rest is counted.
/// </summary>
internal sealed class FusedAcc
{
    /// <summary>Counts. Infinite values are not counted: they are the values neither NaN nor finite.</summary>
    public long Mismatch, NanRef, NanCand, InfAbs, InfRel, ZeroAbs;
    public double SumAbs, SumAbsSq, SumRel, SumRelSq;
    public double MaxAbs = -1, MaxRel = -1, MinAbs = double.PositiveInfinity, MinRel = double.PositiveInfinity;
    public long MaxAbsIndex = -1, MaxRelIndex = -1;
    public double NeedAtol, NeedRtol;
    public double Dot, RefSq, CandSq;
    public double RefMin = double.PositiveInfinity, RefMax = double.NegativeInfinity, RefSum, RefSumSq;
    public double CandMin = double.PositiveInfinity, CandMax = double.NegativeInfinity, CandSum, CandSumSq;
    public long RefFinite, CandFinite;
    public double RobustSum, RobustMax = -1;
    public long RobustInf;
    public readonly long[][] Ge, Gt, Le, Lt;

    private readonly FusedPlan _plan;

    public FusedAcc(FusedPlan plan)
    {
        _plan = plan;
        Ge = plan.Brackets.Select(b => new long[b.Length]).ToArray();
        Gt = plan.Brackets.Select(b => new long[b.Length]).ToArray();
        Le = plan.Brackets.Select(b => new long[b.Length]).ToArray();
        Lt = plan.Brackets.Select(b => new long[b.Length]).ToArray();
    }

    /// <summary>
    /// Adds <paramref name="o"/>, a range that follows this one (ties in maxima keep the earlier index). Kept values are
    /// not copied: the engine reads every range's lists directly.
    /// </summary>
    public void Merge(FusedAcc o)
    {
        Mismatch += o.Mismatch; NanRef += o.NanRef; NanCand += o.NanCand;
        InfAbs += o.InfAbs; InfRel += o.InfRel; ZeroAbs += o.ZeroAbs;
        SumAbs += o.SumAbs; SumAbsSq += o.SumAbsSq; SumRel += o.SumRel; SumRelSq += o.SumRelSq;
        if (o.MaxAbs > MaxAbs) { MaxAbs = o.MaxAbs; MaxAbsIndex = o.MaxAbsIndex; }
        MinAbs = Math.Min(MinAbs, o.MinAbs); MinRel = Math.Min(MinRel, o.MinRel);
        if (o.MaxRel > MaxRel) { MaxRel = o.MaxRel; MaxRelIndex = o.MaxRelIndex; }
        NeedAtol = Math.Max(NeedAtol, o.NeedAtol); NeedRtol = Math.Max(NeedRtol, o.NeedRtol);
        Dot += o.Dot; RefSq += o.RefSq; CandSq += o.CandSq;
        RefMin = Math.Min(RefMin, o.RefMin); RefMax = Math.Max(RefMax, o.RefMax); RefSum += o.RefSum; RefSumSq += o.RefSumSq;
        CandMin = Math.Min(CandMin, o.CandMin); CandMax = Math.Max(CandMax, o.CandMax); CandSum += o.CandSum; CandSumSq += o.CandSumSq;
        RefFinite += o.RefFinite; CandFinite += o.CandFinite;
        RobustSum += o.RobustSum; RobustInf += o.RobustInf;
        RobustMax = Math.Max(RobustMax, o.RobustMax);
        for (int q = 0; q < Ge.Length; q++)
        {
            for (int j = 0; j < Ge[q].Length; j++)
            {
                Ge[q][j] += o.Ge[q][j]; Gt[q][j] += o.Gt[q][j]; Le[q][j] += o.Le[q][j]; Lt[q][j] += o.Lt[q][j];
            }
        }
    }

    /// <summary>
    /// One element in double precision with the reference semantics (<see cref="ErrorMath"/>): the path for float64
    /// and integer data. Quantities enter the brackets and histograms at float32 precision.
    /// </summary>
    public void AddDouble(double r, double c, long index, FusedPlan p, FusedThreadState t)
    {
        double abs = ErrorMath.AbsError(r, c);
        double rel = ErrorMath.RelError(abs, r);
        if (!ErrorMath.Passes(abs, r, p.Atol, p.Rtol)) Mismatch++;
        if (double.IsNaN(r)) NanRef++;
        if (double.IsNaN(c)) NanCand++;
        if (abs == 0) ZeroAbs++;
        if (double.IsFinite(abs)) { SumAbs += abs; SumAbsSq += abs * abs; } else InfAbs++;
        if (double.IsFinite(rel)) { SumRel += rel; SumRelSq += rel * rel; } else InfRel++;
        MinAbs = Math.Min(MinAbs, abs); MinRel = Math.Min(MinRel, rel);
        if (abs > MaxAbs) { MaxAbs = abs; MaxAbsIndex = index; }
        if (rel > MaxRel) { MaxRel = rel; MaxRelIndex = index; }
        NeedAtol = Math.Max(NeedAtol, ErrorMath.NeededAtol(abs, r, p.Rtol));
        NeedRtol = Math.Max(NeedRtol, ErrorMath.NeededRtol(abs, r, p.Atol));
        bool fr = double.IsFinite(r), fc = double.IsFinite(c);
        if (fr && fc) { Dot += r * c; RefSq += r * r; CandSq += c * c; }
        if (fr) { RefFinite++; RefMin = Math.Min(RefMin, r); RefMax = Math.Max(RefMax, r); RefSum += r; RefSumSq += r * r; }
        if (fc) { CandFinite++; CandMin = Math.Min(CandMin, c); CandMax = Math.Max(CandMax, c); CandSum += c; CandSumSq += c * c; }
        double rob = ErrorMath.RobustRel(abs, r, p.RobustFloor);
        if (double.IsFinite(rob)) RobustSum += rob; else RobustInf++;
        RobustMax = Math.Max(RobustMax, rob);
        AddQuantity(0, (float)abs, t);
        AddQuantity(1, (float)rel, t);
        if (fr) AddQuantity(2, (float)r, t);
        if (fc) AddQuantity(3, (float)c, t);
    }

    /// <summary>One value of quantity <paramref name="q"/> into its bracket counters, kept values and histogram.</summary>
    public void AddQuantity(int q, float v, FusedThreadState t)
    {
        var brackets = _plan.Brackets[q];
        for (int j = 0; j < brackets.Length; j++)
        {
            var b = brackets[j];
            if (v >= b.Lo) Ge[q][j]++;
            if (v > b.Lo) Gt[q][j]++;
            if (v <= b.Hi) Le[q][j]++;
            if (v < b.Hi) Lt[q][j]++;
            if (b.Inside(v)) t.Kept[q][j].Add(v);
        }
        t.Histogram[q][BitConverter.SingleToUInt32Bits(v) >> 23]++;
    }
}
