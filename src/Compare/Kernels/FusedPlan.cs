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
/// What both passes need to know: tolerances, whether quantiles go through radix bins (large inputs) or through every
/// value kept (inputs up to <see cref="RadixQuantiles.DirectLimit"/> elements), and, for the second pass, the robust
/// floor and the bins that hold a wanted rank.
/// </summary>
internal sealed class FusedPlan
{
    public const int Quantities = 4;
    /// <summary>Histogram bins: one per (sign, float32 exponent) pair, i.e. per octave and sign.</summary>
    public const int HistogramBins = 512;

    public required double Atol { get; init; }
    public required double Rtol { get; init; }
    /// <summary>True: the first pass counts values per radix bin; false: it keeps every value for direct selection.</summary>
    public required bool Radix { get; init; }
    /// <summary>Per block of <see cref="FusedKernel.Block"/> elements: the first pass found every value finite.</summary>
    public required bool[] LeanBlocks { get; init; }
    /// <summary>Set between the passes (the floor depends on the largest finite |ref|, known after the first).</summary>
    public float RobustFloor { get; set; }
    /// <summary>Per quantity, the bins holding a wanted rank (set between the passes; empty in direct mode).</summary>
    public RadixTarget[][] Targets
    {
        get => _targets;
        set
        {
            _targets = value;
            AllCounted = value.Select(q => q.Length > 0 && q.All(t => t.Counted)).ToArray();
            AllKept = value.Select(q => q.All(t => !t.Counted)).ToArray();
            TargetBins = value.Select(q => q.Select(t => t.Bin).ToArray()).ToArray();
        }
    }
    private RadixTarget[][] _targets = Enumerable.Range(0, Quantities).Select(_ => Array.Empty<RadixTarget>()).ToArray();

    /// <summary>Per quantity: it has targets, all of them counted (the second pass's branch-free path).</summary>
    public bool[] AllCounted { get; private set; } = new bool[Quantities];
    /// <summary>Per quantity: no target is counted (the second pass appends what it packed, as it is).</summary>
    public bool[] AllKept { get; private set; } = new bool[Quantities];
    /// <summary>Per quantity, its targets' bins.</summary>
    public int[][] TargetBins { get; private set; } = Enumerable.Range(0, Quantities).Select(_ => Array.Empty<int>()).ToArray();
}

/// <summary>
/// A radix bin (the top 16 bits of a float32, <see cref="RadixQuantiles.Bin"/>) that holds wanted ranks.
/// The second pass keeps its values for selection, or, when the bin holds more than
/// <see cref="RadixQuantiles.KeepLimit"/> of them (heavy ties), counts its low 16 key bits instead.
/// </summary>
internal sealed record RadixTarget(int Bin, long Count, bool Counted);

/// <summary>
/// What one thread owns and reuses across its chunks, in both passes: radix counts or kept values, octave counts, the
/// second pass's kept values and low-bit counts per target, and scratch buffers. Everything here is
/// order-independent (integer counts, and multisets of values), so how chunks were distributed among threads does not
/// change any result. Ownership: pooled arrays are rented here and returned by <see cref="Dispose"/>.
/// </summary>
internal sealed class FusedThreadState : IDisposable
{
    /// <summary>First pass, radix mode: per quantity, counts per 16-bit radix bin.</summary>
    public readonly int[][] Radix;
    /// <summary>First pass, direct mode: per quantity, every counted value.</summary>
    public readonly FloatBuffer[] All;
    /// <summary>First pass, direct mode: octave counts per quantity (radix mode derives them from the radix counts).</summary>
    public readonly long[][] Histogram;
    /// <summary>
    /// Second pass, per quantity: the values kept in its kept (not counted) target bins, all targets in one list (null
    /// when none is kept), and the low-bit counts of every target in one array (target j's counts at j · 65,536; null
    /// when the quantity has no target or none counted).
    /// </summary>
    public FloatBuffer?[] Kept = [];
    public int[]?[] Low = [];
    /// <summary>
    /// Second pass, per quantity with kept targets: counts of bits 8…15 of the kept values per target (the first step
    /// of <see cref="RadixQuantiles.Resolve"/>, taken while the values are in cache).
    /// </summary>
    public int[]?[] Step1 = [];
    /// <summary>Chunk buffers for widening float16/bfloat16 (empty for float32).</summary>
    public readonly float[] R, C;
    internal object? KernelContext;
    private readonly int _threads;

    public FusedThreadState(FusedPlan plan, bool simd, bool widen, int threads, long n)
    {
        _threads = Math.Max(1, threads);
        Radix = plan.Radix ? Enumerable.Range(0, FusedPlan.Quantities).Select(_ => RentCleared(RadixQuantiles.Bins)).ToArray() : [];
        All = plan.Radix ? [] : Enumerable.Range(0, FusedPlan.Quantities).Select(_ => new FloatBuffer((int)Math.Min(n, 1 << 20))).ToArray();
        Histogram = Enumerable.Range(0, FusedPlan.Quantities).Select(_ => new long[FusedPlan.HistogramBins]).ToArray();
        R = widen ? System.Buffers.ArrayPool<float>.Shared.Rent(ComparisonEngine.ChunkSize) : [];
        C = widen ? System.Buffers.ArrayPool<float>.Shared.Rent(ComparisonEngine.ChunkSize) : [];
    }

    /// <summary>Sets up the second pass's per-target storage (called once per thread, before its first chunk).</summary>
    public void PrepareTargets(FusedPlan plan)
    {
        if (Kept.Length > 0) return;
        Kept = plan.Targets.Select(q => q.Any(t => !t.Counted)
            ? new FloatBuffer((int)Math.Min(int.MaxValue / 2, q.Where(t => !t.Counted).Sum(t => t.Count) * 5 / 4 / _threads + 64))
            : null).ToArray();
        Low = plan.Targets.Select(q => q.Any(t => t.Counted) ? RentCleared(q.Length * RadixQuantiles.Bins) : null).ToArray();
        Step1 = plan.Targets.Select(q => q.Any(t => !t.Counted) ? new int[RadixQuantiles.ByteTableLength(q.Length)] : null).ToArray();
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
        foreach (var t in Radix) System.Buffers.ArrayPool<int>.Shared.Return(t);
        foreach (var b in All) b.Dispose();
        foreach (var b in Kept) b?.Dispose();
        foreach (var t in Low) if (t is not null) System.Buffers.ArrayPool<int>.Shared.Return(t);
        if (R.Length > 0) System.Buffers.ArrayPool<float>.Shared.Return(R);
        if (C.Length > 0) System.Buffers.ArrayPool<float>.Shared.Return(C);
    }
}

/// <summary>
/// What the first pass accumulates over a range of elements. Ranges are merged in index order, so results do not
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

    /// <summary>Adds <paramref name="o"/>, a range that follows this one (ties in maxima keep the earlier index).</summary>
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
    }

    /// <summary>
    /// One element in double precision with the reference semantics (<see cref="ErrorMath"/>): the path for float64
    /// and integer data. Quantities enter the quantiles and histograms at float32 precision.
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
        AddQuantities(ToFloat(abs), ToFloat(rel), ToFloat(r), fr, ToFloat(c), fc, p, t);
    }

    /// <summary>
    /// A double quantity at float32 precision for quantiles and histograms: finite values beyond float32's range clamp to
    /// ±float.MaxValue (they are finite, and counted so), infinities stay infinite.
    /// </summary>
    public static float ToFloat(double v) => double.IsFinite(v) ? (float)Math.Clamp(v, -float.MaxValue, float.MaxValue) : (float)v;

    /// <summary>
    /// One element's quantities in the first pass (scalar paths): radix counts, or kept with their octaves. In radix
    /// mode the candidate's table holds its counts minus the reference's (see FusedKernel.RadixCountPair).
    /// </summary>
    public static void AddQuantities(float abs, float rel, float r, bool fr, float c, bool fc, FusedPlan p, FusedThreadState t)
    {
        if (p.Radix)
        {
            t.Radix[0][RadixQuantiles.Bin(abs)]++;
            t.Radix[1][RadixQuantiles.Bin(rel)]++;
            if (fr) { t.Radix[2][RadixQuantiles.Bin(r)]++; t.Radix[3][RadixQuantiles.Bin(r)]--; }
            if (fc) t.Radix[3][RadixQuantiles.Bin(c)]++;
            return;
        }
        Keep(0, abs, t);
        Keep(1, rel, t);
        if (fr) Keep(2, r, t);
        if (fc) Keep(3, c, t);
    }

    private static void Keep(int q, float v, FusedThreadState t)
    {
        t.All[q].Add(v);
        t.Histogram[q][BitConverter.SingleToUInt32Bits(v) >> 23]++;
    }
}

/// <summary>What the second pass accumulates: the robust relative error's statistics. Merged in index order.</summary>
internal sealed class RobustAcc
{
    public double Sum, Max = -1;
    public long Inf;

    public void Merge(RobustAcc o)
    {
        Sum += o.Sum;
        Inf += o.Inf;
        Max = Math.Max(Max, o.Max);
    }

    public void AddDouble(double r, double c, FusedPlan p, FusedThreadState t)
    {
        double abs = ErrorMath.AbsError(r, c);
        double rob = ErrorMath.RobustRel(abs, r, p.RobustFloor);
        if (double.IsFinite(rob)) Sum += rob; else Inf++;
        Max = Math.Max(Max, rob);
        if (!p.Radix) return;
        RadixQuantiles.Collect(0, FusedAcc.ToFloat(abs), p, t);
        RadixQuantiles.Collect(1, FusedAcc.ToFloat(ErrorMath.RelError(abs, r)), p, t);
        if (double.IsFinite(r)) RadixQuantiles.Collect(2, FusedAcc.ToFloat(r), p, t);
        if (double.IsFinite(c)) RadixQuantiles.Collect(3, FusedAcc.ToFloat(c), p, t);
    }
}
