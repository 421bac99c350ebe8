using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace PolyNet.Compare.Kernels;

/// <summary>
/// The one pass over float32 data that computes every comparison metric: verdict counts, error and value statistics,
/// similarity sums, bracket counts and kept values for exact quantiles, and octave histograms (bin = sign and
/// exponent bits, so no range is needed in advance). AVX2-width SIMD; lanes follow exactly the float semantics of
/// <see cref="AddFloat"/>, which handles the tail.
/// </summary>
internal static class FusedKernel
{
    public const int Block = 2048;

    /// <summary>Joint-histogram sizes: 2^8 error exponents squared, 2^9 signed value exponents squared.</summary>
    public const int ErrorPairBins = 1 << 16, ValuePairBins = 1 << 18;

    /// <summary>
    /// Runs the pass over one chunk. <paramref name="errorPairs"/> and <paramref name="valuePairs"/> are the calling
    /// thread's joint histograms (integer counts: their sum over threads does not depend on the split).
    /// </summary>
    public static void Run(ReadOnlySpan<float> r, ReadOnlySpan<float> c, long baseIndex, FusedPlan plan, FusedAcc acc, FusedThreadState state)
    {
        var ctx = (Context)(state.KernelContext ??= new Context(plan, state));
        for (int start = 0; start < r.Length; start += Block)
        {
            int len = Math.Min(Block, r.Length - start);
            RunBlock(r.Slice(start, len), c.Slice(start, len), baseIndex + start, plan, acc, ctx);
        }
    }

    /// <summary>Adds the marginals of the joint tables to the four octave histograms.</summary>
    public static void FoldJoint(int[] errorPairs, int[] valuePairs, long[][] histogram)
    {
        for (int k = 0; k < ErrorPairBins; k++)
        {
            int n = errorPairs[k];
            if (n == 0) continue;
            histogram[0][k >> 8] += n;
            histogram[1][k & 0xFF] += n;
        }
        for (int k = 0; k < ValuePairBins; k++)
        {
            int n = valuePairs[k];
            if (n == 0) continue;
            histogram[2][k >> 9] += n;
            histogram[3][k & 0x1FF] += n;
        }
    }

    /// <summary>Per-call constants and scratch, so a block allocates nothing.</summary>
    private sealed class Context
    {
        public readonly float[][] Buffers = Enumerable.Range(0, FusedPlan.Quantities).Select(_ => new float[Block]).ToArray();
        public readonly int[] Keys = new int[Block];
        /// <summary>Indices of the vectors holding a value inside some bracket (filled call-free, read after).</summary>
        public readonly int[] Hits = new int[Block / 8 + 1];
        /// <summary>Joint exponent histograms: (abs, rel) errors and (ref, cand) values; their marginals are exact.</summary>
        public readonly int[] ErrorPairs, ValuePairs;
        /// <summary>Threshold slots per quantity and per group of <see cref="MaxBrackets"/> brackets.</summary>
        public readonly Vector256<float>[][][] GeT, LeT;

        public readonly FusedThreadState State;

        public Context(FusedPlan plan, FusedThreadState state)
        {
            State = state;
            ErrorPairs = state.ErrorPairs;
            ValuePairs = state.ValuePairs;
            // Per bracket two "x >= t" slots and two "x <= t" slots: slot 1 is the edge of the kept range, slot 0 the
            // edge itself when that edge is open (ties counted, not kept). Unused slots hold NaN, which counts nothing.
            GeT = plan.Brackets.Select(q => Groups(q).Select(g => Slots(g, b => b.LoOpen ? (b.Lo, MathF.BitIncrement(b.Lo)) : (float.NaN, b.Lo))).ToArray()).ToArray();
            LeT = plan.Brackets.Select(q => Groups(q).Select(g => Slots(g, b => b.HiOpen ? (b.Hi, MathF.BitDecrement(b.Hi)) : (float.NaN, b.Hi))).ToArray()).ToArray();
        }

        public static Bracket[][] Groups(Bracket[] q) => q.Chunk(MaxBrackets).ToArray();

        private static Vector256<float>[] Slots(Bracket[] q, Func<Bracket, (float Edge, float Kept)> f)
        {
            var slots = Enumerable.Repeat(Vector256.Create(float.NaN), 2 * MaxBrackets).ToArray();
            for (int j = 0; j < q.Length; j++)
            {
                var (edge, kept) = f(q[j]);
                slots[2 * j] = Vector256.Create(edge);
                slots[2 * j + 1] = Vector256.Create(kept);
            }
            return slots;
        }
    }

    /// <summary>Brackets per group (the engine asks for up to five per quantity: p50, p90, p95, p99 and the user's quantile, fewer when they merge).</summary>
    public const int MaxBrackets = 4;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunBlock(ReadOnlySpan<float> r, ReadOnlySpan<float> c, long baseIndex, FusedPlan plan, FusedAcc acc, Context ctx)
    {
        int vecEnd = r.Length & ~7;
        if (vecEnd > 0)
        {
            var b = ctx.Buffers;
            Errors(r[..vecEnd], c[..vecEnd], baseIndex, plan, acc, b[0], b[1]);
            Values(r[..vecEnd], c[..vecEnd], acc, b[2], b[3]);
            JointHistogram(b[0].AsSpan(0, vecEnd), b[1].AsSpan(0, vecEnd), 23, 8, ctx.ErrorPairs, ctx.Keys);
            JointHistogram(b[2].AsSpan(0, vecEnd), b[3].AsSpan(0, vecEnd), 23, 9, ctx.ValuePairs, ctx.Keys);
            for (int q = 0; q < FusedPlan.Quantities; q++)
                for (int g = 0; g < ctx.GeT[q].Length; g++)
                {
                    int first = g * MaxBrackets;
                    var group = plan.Brackets[q].AsSpan(first, Math.Min(MaxBrackets, plan.Brackets[q].Length - first));
                    Brackets(b[q].AsSpan(0, vecEnd), group, ctx.GeT[q][g], ctx.LeT[q][g], acc.Ge[q].AsSpan(first), acc.Gt[q].AsSpan(first),
                        acc.Le[q].AsSpan(first), acc.Lt[q].AsSpan(first), ctx.Hits, ctx.State.Kept[q].AsSpan(first));
                }
        }
        for (int i = vecEnd; i < r.Length; i++) AddFloat(acc, r[i], c[i], baseIndex + i, plan, ctx.State);
    }

    /// <summary>Errors, verdict and their statistics; writes |cand − ref| and the relative error to the buffers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Errors(ReadOnlySpan<float> r, ReadOnlySpan<float> c, long baseIndex, FusedPlan plan, FusedAcc acc, float[] absOut, float[] relOut)
    {
        var zero = Vector256<float>.Zero;
        var inf = Vector256.Create(float.PositiveInfinity);
        var fmax = Vector256.Create(float.MaxValue);
        var vAtol = Vector256.Create((float)Math.Min(plan.Atol, float.MaxValue));
        var vRtol = Vector256.Create((float)Math.Min(plan.Rtol, float.MaxValue));
        var vFloor = Vector256.Create(plan.RobustFloor);
        Vector256<int> mismatch = default, infAbs = default, infRel = default, zeroAbs = default, infRob = default;
        Vector256<float> sumAbs = zero, sumAbsSq = zero, sumRel = zero, sumRelSq = zero, maxAbs = zero, maxRel = zero, maxRob = zero, sumRob = zero;
        Vector256<float> needA = zero, needR = zero, minAbs = inf, minRel = inf;
        ref float rr = ref MemoryMarshal.GetReference(r);
        ref float cr = ref MemoryMarshal.GetReference(c);
        ref float ao = ref MemoryMarshal.GetArrayDataReference(absOut);
        ref float ro = ref MemoryMarshal.GetArrayDataReference(relOut);
        for (int i = 0; i < r.Length; i += 8)
        {
            var vr = Vector256.LoadUnsafe(ref rr, (nuint)i);
            var vc = Vector256.LoadUnsafe(ref cr, (nuint)i);
            var ar = Vector256.Abs(vr);
            var abs = Vector256.Abs(vc - vr);
            abs = Vector256.ConditionalSelect(Vector256.Equals(vc, vr) | (~Vector256.Equals(vr, vr) & ~Vector256.Equals(vc, vc)), zero, abs);
            abs = Vector256.ConditionalSelect(~Vector256.Equals(abs, abs), inf, abs); // NaN against a number: +inf
            var absZero = Vector256.Equals(abs, zero);
            var rel = abs / ar;
            rel = Vector256.ConditionalSelect(absZero, zero, rel);
            rel = Vector256.ConditionalSelect(~Vector256.Equals(rel, rel), inf, rel);
            abs.StoreUnsafe(ref ao, (nuint)i);
            rel.StoreUnsafe(ref ro, (nuint)i);
            var ok = Vector256.LessThanOrEqual(abs, Vector256.Min(vAtol + vRtol * ar, fmax)) | absZero;
            mismatch -= (~ok).AsInt32();
            zeroAbs -= absZero.AsInt32();
            var absInf = Vector256.Equals(abs, inf);
            var relInf = Vector256.Equals(rel, inf);
            infAbs -= absInf.AsInt32();
            infRel -= relInf.AsInt32();
            var absF = Vector256.ConditionalSelect(absInf, zero, abs);
            var relF = Vector256.ConditionalSelect(relInf, zero, rel);
            sumAbs += absF; sumAbsSq += absF * absF;
            sumRel += relF; sumRelSq += relF * relF;
            maxAbs = Vector256.Max(maxAbs, abs);
            maxRel = Vector256.Max(maxRel, rel);
            minAbs = Vector256.Min(minAbs, abs);
            minRel = Vector256.Min(minRel, rel);
            needA = Vector256.Max(needA, Vector256.ConditionalSelect(absInf, inf, Vector256.ConditionalSelect(absZero, zero, abs - vRtol * ar)));
            var tr = (abs - vAtol) / ar;
            tr = Vector256.ConditionalSelect(~Vector256.Equals(tr, tr), inf, tr);
            needR = Vector256.Max(needR, Vector256.ConditionalSelect(Vector256.LessThanOrEqual(abs, vAtol), zero, tr));
            var rob = abs / Vector256.Max(ar, vFloor);
            rob = Vector256.ConditionalSelect(absZero, zero, rob);
            rob = Vector256.ConditionalSelect(~Vector256.Equals(rob, rob), inf, rob);
            var robInf = Vector256.Equals(rob, inf);
            infRob -= robInf.AsInt32();
            sumRob += Vector256.ConditionalSelect(robInf, zero, rob);
            maxRob = Vector256.Max(maxRob, rob);
        }
        acc.Mismatch += Vector256.Sum(mismatch);
        acc.ZeroAbs += Vector256.Sum(zeroAbs);
        acc.InfAbs += Vector256.Sum(infAbs); acc.InfRel += Vector256.Sum(infRel);
        acc.SumAbs += Vector256.Sum(sumAbs); acc.SumAbsSq += Vector256.Sum(sumAbsSq);
        acc.SumRel += Vector256.Sum(sumRel); acc.SumRelSq += Vector256.Sum(sumRelSq);
        acc.NeedAtol = Math.Max(acc.NeedAtol, HMax(needA)); acc.NeedRtol = Math.Max(acc.NeedRtol, HMax(needR));
        acc.RobustSum += Vector256.Sum(sumRob); acc.RobustInf += Vector256.Sum(infRob);
        acc.MinAbs = Math.Min(acc.MinAbs, HMin(minAbs)); acc.MinRel = Math.Min(acc.MinRel, HMin(minRel));
        // Worst elements: only when this block beats what is known, find the first index by rescanning it.
        float mAbs = HMax(maxAbs), mRel = HMax(maxRel), mRob = HMax(maxRob);
        if (mAbs > acc.MaxAbs) { acc.MaxAbs = mAbs; acc.MaxAbsIndex = baseIndex + FirstIndex(r, c, mAbs, 0, plan.RobustFloor); }
        if (mRel > acc.MaxRel) { acc.MaxRel = mRel; acc.MaxRelIndex = baseIndex + FirstIndex(r, c, mRel, 1, plan.RobustFloor); }
        acc.RobustMax = Math.Max(acc.RobustMax, mRob);
    }

    /// <summary>Statistics of both sides' values and their similarity; writes the finite values (NaN for the rest) to the buffers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Values(ReadOnlySpan<float> r, ReadOnlySpan<float> c, FusedAcc acc, float[] refOut, float[] candOut)
    {
        var zero = Vector256<float>.Zero;
        var inf = Vector256.Create(float.PositiveInfinity);
        var ninf = Vector256.Create(float.NegativeInfinity);
        var nan = Vector256.Create(float.NaN);
        Vector256<int> nanR = default, nanC = default, finR = default, finC = default;
        Vector256<float> dot = zero, refSq = zero, candSq = zero;
        Vector256<float> rMin = inf, rMax = ninf, rSum = zero, rSumSq = zero, cMin = inf, cMax = ninf, cSum = zero, cSumSq = zero;
        ref float rr = ref MemoryMarshal.GetReference(r);
        ref float cr = ref MemoryMarshal.GetReference(c);
        ref float ro = ref MemoryMarshal.GetArrayDataReference(refOut);
        ref float co = ref MemoryMarshal.GetArrayDataReference(candOut);
        for (int i = 0; i < r.Length; i += 8)
        {
            var vr = Vector256.LoadUnsafe(ref rr, (nuint)i);
            var vc = Vector256.LoadUnsafe(ref cr, (nuint)i);
            var finMaskR = Vector256.Equals(vr - vr, zero);
            var finMaskC = Vector256.Equals(vc - vc, zero);
            nanR -= (~Vector256.Equals(vr, vr)).AsInt32();
            nanC -= (~Vector256.Equals(vc, vc)).AsInt32();
            finR -= finMaskR.AsInt32();
            finC -= finMaskC.AsInt32();
            var both = finMaskR & finMaskC;
            var rB = Vector256.ConditionalSelect(both, vr, zero);
            var cB = Vector256.ConditionalSelect(both, vc, zero);
            dot += rB * cB; refSq += rB * rB; candSq += cB * cB;
            var rF = Vector256.ConditionalSelect(finMaskR, vr, zero);
            var cF = Vector256.ConditionalSelect(finMaskC, vc, zero);
            rSum += rF; rSumSq += rF * rF; cSum += cF; cSumSq += cF * cF;
            rMin = Vector256.Min(rMin, Vector256.ConditionalSelect(finMaskR, vr, inf));
            rMax = Vector256.Max(rMax, Vector256.ConditionalSelect(finMaskR, vr, ninf));
            cMin = Vector256.Min(cMin, Vector256.ConditionalSelect(finMaskC, vc, inf));
            cMax = Vector256.Max(cMax, Vector256.ConditionalSelect(finMaskC, vc, ninf));
            Vector256.ConditionalSelect(finMaskR, vr, nan).StoreUnsafe(ref ro, (nuint)i);
            Vector256.ConditionalSelect(finMaskC, vc, nan).StoreUnsafe(ref co, (nuint)i);
        }
        acc.NanRef += Vector256.Sum(nanR); acc.NanCand += Vector256.Sum(nanC);
        acc.Dot += Vector256.Sum(dot); acc.RefSq += Vector256.Sum(refSq); acc.CandSq += Vector256.Sum(candSq);
        acc.RefFinite += Vector256.Sum(finR); acc.CandFinite += Vector256.Sum(finC);
        acc.RefMin = Math.Min(acc.RefMin, HMin(rMin)); acc.RefMax = Math.Max(acc.RefMax, HMax(rMax));
        acc.CandMin = Math.Min(acc.CandMin, HMin(cMin)); acc.CandMax = Math.Max(acc.CandMax, HMax(cMax));
        acc.RefSum += Vector256.Sum(rSum); acc.RefSumSq += Vector256.Sum(rSumSq);
        acc.CandSum += Vector256.Sum(cSum); acc.CandSumSq += Vector256.Sum(cSumSq);
    }

    /// <summary>
    /// A joint histogram of two quantities' top bits (sign and exponent): key = (a's bits &gt;&gt; 23) · 2^width + (b's bits
    /// &gt;&gt; 23). One increment serves both quantities; each one's octave histogram is a marginal of the table.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void JointHistogram(ReadOnlySpan<float> a, ReadOnlySpan<float> b, int shift, int width, int[] table, int[] keys)
    {
        ref float pa = ref MemoryMarshal.GetReference(a);
        ref float pb = ref MemoryMarshal.GetReference(b);
        ref int k = ref MemoryMarshal.GetArrayDataReference(keys);
        for (int i = 0; i < a.Length; i += 8)
        {
            var ka = Vector256.ShiftRightLogical(Vector256.LoadUnsafe(ref pa, (nuint)i).AsUInt32(), shift);
            var kb = Vector256.ShiftRightLogical(Vector256.LoadUnsafe(ref pb, (nuint)i).AsUInt32(), shift);
            (Vector256.ShiftLeft(ka, width) | kb).AsInt32().StoreUnsafe(ref k, (nuint)i);
        }
        ref int t = ref MemoryMarshal.GetArrayDataReference(table);
        for (int i = 0; i < a.Length; i++) Unsafe.Add(ref t, Unsafe.Add(ref k, i))++;
    }

    /// <summary>
    /// Bracket counts for every threshold slot and the values inside each bracket, kept for selection. One loop for all
    /// of a quantity's brackets, thresholds held in registers; the loop makes no calls (so nothing is spilled): it only
    /// notes which vectors hold a kept value, and those few are gathered afterwards.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Brackets(ReadOnlySpan<float> values, ReadOnlySpan<Bracket> brackets, Vector256<float>[] geT, Vector256<float>[] leT,
        Span<long> geOut, Span<long> gtOut, Span<long> leOut, Span<long> ltOut, int[] hits, Span<FloatBuffer> kept)
    {
        ref float v = ref MemoryMarshal.GetReference(values);
        ref int hit = ref MemoryMarshal.GetArrayDataReference(hits);
        var g1 = geT[1]; var g3 = geT[3]; var g5 = geT[5]; var g7 = geT[7];
        var l1 = leT[1]; var l3 = leT[3]; var l5 = leT[5]; var l7 = leT[7];
        Vector256<int> cg1 = default, cg3 = default, cg5 = default, cg7 = default, cl1 = default, cl3 = default, cl5 = default, cl7 = default;
        Vector256<int> cg0 = default, cg2 = default, cg4 = default, cg6 = default, cl0 = default, cl2 = default, cl4 = default, cl6 = default;
        bool anyOpen = false;
        foreach (var b in brackets) anyOpen |= b.LoOpen || b.HiOpen;
        int nh = 0;
        for (int i = 0; i < values.Length; i += 8)
        {
            var x = Vector256.LoadUnsafe(ref v, (nuint)i);
            var a1 = Vector256.GreaterThanOrEqual(x, g1); var b1 = Vector256.LessThanOrEqual(x, l1);
            var a3 = Vector256.GreaterThanOrEqual(x, g3); var b3 = Vector256.LessThanOrEqual(x, l3);
            var a5 = Vector256.GreaterThanOrEqual(x, g5); var b5 = Vector256.LessThanOrEqual(x, l5);
            var a7 = Vector256.GreaterThanOrEqual(x, g7); var b7 = Vector256.LessThanOrEqual(x, l7);
            cg1 -= a1.AsInt32(); cl1 -= b1.AsInt32(); cg3 -= a3.AsInt32(); cl3 -= b3.AsInt32();
            cg5 -= a5.AsInt32(); cl5 -= b5.AsInt32(); cg7 -= a7.AsInt32(); cl7 -= b7.AsInt32();
            var inside = (a1 & b1) | (a3 & b3) | (a5 & b5) | (a7 & b7);
            Unsafe.Add(ref hit, nh) = i;
            nh += inside != Vector256<float>.Zero ? 1 : 0;
        }
        if (anyOpen)
        {
            var g0 = geT[0]; var g2 = geT[2]; var g4 = geT[4]; var g6 = geT[6];
            var l0 = leT[0]; var l2 = leT[2]; var l4 = leT[4]; var l6 = leT[6];
            for (int i = 0; i < values.Length; i += 8)
            {
                var x = Vector256.LoadUnsafe(ref v, (nuint)i);
                cg0 -= Vector256.GreaterThanOrEqual(x, g0).AsInt32(); cl0 -= Vector256.LessThanOrEqual(x, l0).AsInt32();
                cg2 -= Vector256.GreaterThanOrEqual(x, g2).AsInt32(); cl2 -= Vector256.LessThanOrEqual(x, l2).AsInt32();
                cg4 -= Vector256.GreaterThanOrEqual(x, g4).AsInt32(); cl4 -= Vector256.LessThanOrEqual(x, l4).AsInt32();
                cg6 -= Vector256.GreaterThanOrEqual(x, g6).AsInt32(); cl6 -= Vector256.LessThanOrEqual(x, l6).AsInt32();
            }
        }
        Span<long> geKept = [Vector256.Sum(cg1), Vector256.Sum(cg3), Vector256.Sum(cg5), Vector256.Sum(cg7)];
        Span<long> leKept = [Vector256.Sum(cl1), Vector256.Sum(cl3), Vector256.Sum(cl5), Vector256.Sum(cl7)];
        Span<long> geEdge = [Vector256.Sum(cg0), Vector256.Sum(cg2), Vector256.Sum(cg4), Vector256.Sum(cg6)];
        Span<long> leEdge = [Vector256.Sum(cl0), Vector256.Sum(cl2), Vector256.Sum(cl4), Vector256.Sum(cl6)];
        Span<float> keptLo = stackalloc float[brackets.Length];
        Span<float> keptHi = stackalloc float[brackets.Length];
        for (int j = 0; j < brackets.Length; j++)
        {
            var b = brackets[j];
            // Ge counts x >= lo; Gt counts x > lo (the kept range starts one float above lo) when the low edge is open.
            geOut[j] += b.LoOpen ? geEdge[j] : geKept[j];
            gtOut[j] += b.LoOpen ? geKept[j] : 0;
            leOut[j] += b.HiOpen ? leEdge[j] : leKept[j];
            ltOut[j] += b.HiOpen ? leKept[j] : 0;
            keptLo[j] = b.LoOpen ? MathF.BitIncrement(b.Lo) : b.Lo;
            keptHi[j] = b.HiOpen ? MathF.BitDecrement(b.Hi) : b.Hi;
        }
        // Gather: for each noted vector, each bracket's inside lanes (a few percent of the data).
        for (int k = 0; k < nh; k++)
        {
            var x = Vector256.LoadUnsafe(ref v, (nuint)hits[k]);
            for (int j = 0; j < brackets.Length; j++)
            {
                uint mask = (Vector256.GreaterThanOrEqual(x, Vector256.Create(keptLo[j])) & Vector256.LessThanOrEqual(x, Vector256.Create(keptHi[j]))).ExtractMostSignificantBits();
                while (mask != 0)
                {
                    int lane = System.Numerics.BitOperations.TrailingZeroCount(mask);
                    mask &= mask - 1;
                    kept[j].Add(x[lane]);
                }
            }
        }
    }

    /// <summary>One element in float arithmetic, exactly as one SIMD lane computes it.</summary>
    internal static void AddFloat(FusedAcc a, float r, float c, long index, FusedPlan p, FusedThreadState t)
    {
        float atol = (float)Math.Min(p.Atol, float.MaxValue), rtol = (float)Math.Min(p.Rtol, float.MaxValue);
        float abs = AbsF(r, c), ar = Math.Abs(r), rel = RelF(abs, ar), rob = RobustF(abs, ar, p.RobustFloor);
        if (!(abs == 0 || abs <= Math.Min(atol + rtol * ar, float.MaxValue))) a.Mismatch++;
        if (abs == 0) a.ZeroAbs++;
        if (float.IsNaN(r)) a.NanRef++;
        if (float.IsNaN(c)) a.NanCand++;
        if (float.IsPositiveInfinity(abs)) a.InfAbs++; else { a.SumAbs += abs; a.SumAbsSq += abs * abs; }
        if (float.IsPositiveInfinity(rel)) a.InfRel++; else { a.SumRel += rel; a.SumRelSq += rel * rel; }
        if (float.IsPositiveInfinity(rob)) a.RobustInf++; else a.RobustSum += rob;
        a.MinAbs = Math.Min(a.MinAbs, abs); a.MinRel = Math.Min(a.MinRel, rel);
        if (abs > a.MaxAbs) { a.MaxAbs = abs; a.MaxAbsIndex = index; }
        if (rel > a.MaxRel) { a.MaxRel = rel; a.MaxRelIndex = index; }
        a.RobustMax = Math.Max(a.RobustMax, rob);
        a.NeedAtol = Math.Max(a.NeedAtol, float.IsPositiveInfinity(abs) ? float.PositiveInfinity : abs == 0 ? 0 : abs - rtol * ar);
        float tr = (abs - atol) / ar;
        if (float.IsNaN(tr)) tr = float.PositiveInfinity;
        a.NeedRtol = Math.Max(a.NeedRtol, abs <= atol ? 0 : tr);
        bool fr = float.IsFinite(r), fc = float.IsFinite(c);
        if (fr && fc) { a.Dot += r * c; a.RefSq += r * r; a.CandSq += c * c; }
        if (fr) { a.RefFinite++; a.RefMin = Math.Min(a.RefMin, r); a.RefMax = Math.Max(a.RefMax, r); a.RefSum += r; a.RefSumSq += r * r; }
        if (fc) { a.CandFinite++; a.CandMin = Math.Min(a.CandMin, c); a.CandMax = Math.Max(a.CandMax, c); a.CandSum += c; a.CandSumSq += c * c; }
        a.AddQuantity(0, abs, t);
        a.AddQuantity(1, rel, t);
        if (fr) a.AddQuantity(2, r, t);
        if (fc) a.AddQuantity(3, c, t);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float AbsF(float r, float c)
    {
        if (c == r) return 0;
        bool nr = float.IsNaN(r), nc = float.IsNaN(c);
        if (nr && nc) return 0;
        if (nr || nc) return float.PositiveInfinity;
        return Math.Abs(c - r);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float RelF(float abs, float absRef)
    {
        if (abs == 0) return 0;
        float rel = abs / absRef;
        return float.IsNaN(rel) ? float.PositiveInfinity : rel;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float RobustF(float abs, float absRef, float floor)
    {
        if (abs == 0) return 0;
        float v = abs / Math.Max(absRef, floor);
        return float.IsNaN(v) ? float.PositiveInfinity : v;
    }

    private static int FirstIndex(ReadOnlySpan<float> r, ReadOnlySpan<float> c, float target, int which, float floor)
    {
        for (int k = 0; k < r.Length; k++)
        {
            float abs = AbsF(r[k], c[k]);
            float v = which switch { 0 => abs, 1 => RelF(abs, Math.Abs(r[k])), _ => RobustF(abs, Math.Abs(r[k]), floor) };
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
