using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace PolyNet.Compare.Kernels;

/// <summary>
/// The two passes over float32 data (<see cref="ComparisonEngine"/> drives them).
/// The first computes every comparison metric except the robust error: verdict counts, error and value statistics,
/// similarity sums, and per quantity the counts per radix bin (<see cref="RadixQuantiles"/>), whose marginals are the
/// octave histograms. The second computes the robust relative error (its floor needs the largest |ref|) and keeps or
/// counts the values in the radix bins that hold wanted ranks.
/// 512-bit SIMD (two 256-bit halves where the hardware has no AVX-512); lanes follow exactly the float semantics of
/// <see cref="AddFloat"/>, which handles the tail. A block whose values are all finite takes a lean path; any NaN or
/// infinity in a block sends that block through the full path, which gives the same results for finite values.
/// </summary>
internal static class FusedKernel
{
    public const int Block = 8192;

    /// <summary>Per-thread scratch, so a block allocates nothing.</summary>
    private sealed class Context
    {
        public readonly float[][] Buffers = Enumerable.Range(0, FusedPlan.Quantities).Select(_ => new float[Block]).ToArray();
        public readonly int[] Keys = new int[Block];
        /// <summary>First pass: the candidate's bins differed from the reference's for most of the last block.</summary>
        public bool DenseCandidate;
        /// <summary>Second pass: per quantity, the bits of the values in a target bin (16 elements of slack).</summary>
        public readonly uint[][] Packs = Enumerable.Range(0, FusedPlan.Quantities).Select(_ => new uint[Block + 16]).ToArray();
        /// <summary>Second pass: the kept values among packed ones, when kept and counted targets mix (16 elements of slack).</summary>
        public readonly uint[] Aside = new uint[Block + 16];
        /// <summary>Second pass, a quantity with more than four targets: per vector, the lanes in a target bin.</summary>
        public readonly ushort[] Masks = new ushort[Block / 16];
    }

    // ---- first pass ------------------------------------------------------------------------------------------------

    /// <summary>Runs the first pass over one chunk.</summary>
    public static void Run(ReadOnlySpan<float> r, ReadOnlySpan<float> c, long baseIndex, FusedPlan plan, FusedAcc acc, FusedThreadState state)
    {
        var ctx = (Context)(state.KernelContext ??= new Context());
        for (int start = 0; start < r.Length; start += Block)
        {
            int len = Math.Min(Block, r.Length - start);
            RunBlock(r.Slice(start, len), c.Slice(start, len), baseIndex + start, plan, acc, state, ctx);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunBlock(ReadOnlySpan<float> r, ReadOnlySpan<float> c, long baseIndex, FusedPlan plan, FusedAcc acc, FusedThreadState state, Context ctx)
    {
        int vecEnd = r.Length & ~15;
        if (vecEnd > 0)
        {
            var b = ctx.Buffers;
            var rv = r[..vecEnd];
            var cv = c[..vecEnd];
            bool lean = ValuesLean(rv, cv, acc);
            plan.LeanBlocks[baseIndex / Block] = lean;
            if (lean) ErrorsLean(rv, cv, baseIndex, plan, acc, b[0], b[1]);
            else
            {
                Values(rv, cv, acc, b[2], b[3]);
                Errors(rv, cv, baseIndex, plan, acc, b[0], b[1]);
            }
            // Values of a lean block are all finite: count them where they are; else the buffers hold NaN for the rest.
            ReadOnlySpan<float> refs = lean ? rv : b[2].AsSpan(0, vecEnd), cands = lean ? cv : b[3].AsSpan(0, vecEnd);
            if (plan.Radix)
            {
                RadixCount(b[0].AsSpan(0, vecEnd), state.Radix[0], ctx.Keys);
                RadixCount(b[1].AsSpan(0, vecEnd), state.Radix[1], ctx.Keys);
                RadixCount(refs, state.Radix[2], ctx.Keys);
                // Sparse corrections while few bins differ; the previous block's share decides.
                int differ = RadixCountPair(refs, cands, state.Radix[3], ctx.Keys, ctx.DenseCandidate);
                ctx.DenseCandidate = differ > vecEnd / 4;
            }
            else
            {
                KeepAll(b[0].AsSpan(0, vecEnd), 0, state);
                KeepAll(b[1].AsSpan(0, vecEnd), 1, state);
                KeepAll(refs, 2, state);
                KeepAll(cands, 3, state);
            }
        }
        for (int i = vecEnd; i < r.Length; i++) AddFloat(acc, r[i], c[i], baseIndex + i, plan, state);
    }

    /// <summary>
    /// The values' statistics when every value is finite (checked at the end: a NaN or an infinity shows in the sums or
    /// extremes, and then nothing is added and the caller takes the full path). Returns whether the block was lean.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool ValuesLean(ReadOnlySpan<float> r, ReadOnlySpan<float> c, FusedAcc acc)
    {
        var zero = Vector512<float>.Zero;
        Vector512<float> dot = zero, rSq = zero, cSq = zero, rSum = zero, cSum = zero;
        Vector512<float> rMin = Vector512.Create(float.PositiveInfinity), cMin = rMin, rMax = Vector512.Create(float.NegativeInfinity), cMax = rMax;
        ref float rr = ref MemoryMarshal.GetReference(r);
        ref float cr = ref MemoryMarshal.GetReference(c);
        for (int i = 0; i < r.Length; i += 16)
        {
            var vr = Vector512.LoadUnsafe(ref rr, (nuint)i);
            var vc = Vector512.LoadUnsafe(ref cr, (nuint)i);
            dot += vr * vc; rSq += vr * vr; cSq += vc * vc;
            rSum += vr; cSum += vc;
            rMin = Vector512.MinNative(rMin, vr); rMax = Vector512.MaxNative(rMax, vr);
            cMin = Vector512.MinNative(cMin, vc); cMax = Vector512.MaxNative(cMax, vc);
        }
        // Any NaN or infinity makes a sum non-finite (NaN + x is NaN; inf + x is inf or NaN): the check is complete.
        var sums = rSum + cSum + rSq + cSq;
        if (!Vector512.EqualsAll(sums - sums, zero)) return false;
        float rLo = HMin(rMin), rHi = HMax(rMax), cLo = HMin(cMin), cHi = HMax(cMax);
        double refSq = Vector512.Sum(rSq), candSq = Vector512.Sum(cSq);
        acc.Dot += Vector512.Sum(dot); acc.RefSq += refSq; acc.CandSq += candSq;
        acc.RefFinite += r.Length; acc.CandFinite += r.Length;
        acc.RefMin = Math.Min(acc.RefMin, rLo); acc.RefMax = Math.Max(acc.RefMax, rHi);
        acc.CandMin = Math.Min(acc.CandMin, cLo); acc.CandMax = Math.Max(acc.CandMax, cHi);
        acc.RefSum += Vector512.Sum(rSum); acc.RefSumSq += refSq;
        acc.CandSum += Vector512.Sum(cSum); acc.CandSumSq += candSq;
        return true;
    }

    /// <summary>Errors, verdict and their statistics for a block whose values are all finite; writes |cand − ref| and the relative error.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ErrorsLean(ReadOnlySpan<float> r, ReadOnlySpan<float> c, long baseIndex, FusedPlan plan, FusedAcc acc, float[] absOut, float[] relOut)
    {
        var zero = Vector512<float>.Zero;
        var inf = Vector512.Create(float.PositiveInfinity);
        var vAtol = Vector512.Create((float)Math.Min(plan.Atol, float.MaxValue));
        var vRtol = Vector512.Create((float)Math.Min(plan.Rtol, float.MaxValue));
        Vector512<int> ok = default, infRel = default, zeroAbs = default;
        Vector512<float> sumAbs = zero, sumAbsSq = zero, sumRel = zero, sumRelSq = zero, maxAbs = zero, maxRel = zero;
        Vector512<float> needA = zero, needR = zero, minAbs = inf, minRel = inf;
        ref float rr = ref MemoryMarshal.GetReference(r);
        ref float cr = ref MemoryMarshal.GetReference(c);
        ref float ao = ref MemoryMarshal.GetArrayDataReference(absOut);
        ref float ro = ref MemoryMarshal.GetArrayDataReference(relOut);
        for (int i = 0; i < r.Length; i += 16)
        {
            var vr = Vector512.LoadUnsafe(ref rr, (nuint)i);
            var vc = Vector512.LoadUnsafe(ref cr, (nuint)i);
            var ar = Vector512.Abs(vr);
            // 0/0 (equal zeros) is NaN: an exact zero error has relative error 0. A zero reference otherwise gives +inf.
            var (abs, rel) = LeanErrors.AbsRel(vr, vc, ar);
            var absZero = Vector512.Equals(abs, zero);
            abs.StoreUnsafe(ref ao, (nuint)i);
            rel.StoreUnsafe(ref ro, (nuint)i);
            // The sum cannot be NaN (finite ar); past float.MaxValue it is +inf and passes every finite error, as the full path's clamp does.
            ok -= Vector512.LessThanOrEqual(abs, vAtol + vRtol * ar).AsInt32();
            zeroAbs -= absZero.AsInt32();
            var relInf = Vector512.Equals(rel, inf);
            infRel -= relInf.AsInt32();
            var relF = Vector512.AndNot(rel, relInf);
            sumAbs += abs; sumAbsSq += abs * abs;
            sumRel += relF; sumRelSq += relF * relF;
            maxAbs = Vector512.MaxNative(maxAbs, abs);
            maxRel = Vector512.MaxNative(maxRel, rel);
            minAbs = Vector512.MinNative(minAbs, abs);
            minRel = Vector512.MinNative(minRel, rel);
            // abs − rtol·|ref| is at most 0 for an exact zero error, and needA starts at 0: no special case.
            needA = Vector512.MaxNative(needA, abs - vRtol * ar);
        }
        // The rtol an element needs, (abs − atol)/|ref|, is positive only where abs > atol and never exceeds its
        // relative error: most blocks (every one of a passing comparison) cannot raise the maximum and skip the division.
        if (HMax(maxAbs) > vAtol[0] && HMax(maxRel) > acc.NeedRtol)
            for (int i = 0; i < r.Length; i += 16)
            {
                var vr = Vector512.LoadUnsafe(ref rr, (nuint)i);
                var vc = Vector512.LoadUnsafe(ref cr, (nuint)i);
                var abs = Vector512.Abs(vc - vr);
                needR = Vector512.MaxNative(needR, Vector512.ConditionalSelect(Vector512.LessThanOrEqual(abs, vAtol), zero, (abs - vAtol) / Vector512.Abs(vr)));
            }
        acc.Mismatch += r.Length - Vector512.Sum(ok);
        acc.ZeroAbs += Vector512.Sum(zeroAbs);
        acc.InfRel += Vector512.Sum(infRel);
        Finish(r, c, baseIndex, plan, acc, sumAbs, sumAbsSq, sumRel, sumRelSq, maxAbs, maxRel, minAbs, minRel, needA, needR);
    }

    /// <summary>Errors, verdict and their statistics with full NaN and infinity semantics; writes |cand − ref| and the relative error.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Errors(ReadOnlySpan<float> r, ReadOnlySpan<float> c, long baseIndex, FusedPlan plan, FusedAcc acc, float[] absOut, float[] relOut)
    {
        var zero = Vector512<float>.Zero;
        var inf = Vector512.Create(float.PositiveInfinity);
        var fmax = Vector512.Create(float.MaxValue);
        var vAtol = Vector512.Create((float)Math.Min(plan.Atol, float.MaxValue));
        var vRtol = Vector512.Create((float)Math.Min(plan.Rtol, float.MaxValue));
        Vector512<int> mismatch = default, infAbs = default, infRel = default, zeroAbs = default;
        Vector512<float> sumAbs = zero, sumAbsSq = zero, sumRel = zero, sumRelSq = zero, maxAbs = zero, maxRel = zero;
        Vector512<float> needA = zero, needR = zero, minAbs = inf, minRel = inf;
        ref float rr = ref MemoryMarshal.GetReference(r);
        ref float cr = ref MemoryMarshal.GetReference(c);
        ref float ao = ref MemoryMarshal.GetArrayDataReference(absOut);
        ref float ro = ref MemoryMarshal.GetArrayDataReference(relOut);
        for (int i = 0; i < r.Length; i += 16)
        {
            var vr = Vector512.LoadUnsafe(ref rr, (nuint)i);
            var vc = Vector512.LoadUnsafe(ref cr, (nuint)i);
            var ar = Vector512.Abs(vr);
            var (abs, rel) = AbsRel(vr, vc, ar);
            abs.StoreUnsafe(ref ao, (nuint)i);
            rel.StoreUnsafe(ref ro, (nuint)i);
            var absZero = Vector512.Equals(abs, zero);
            // NaN bounds (a NaN reference) only meet errors of 0 or +inf, whose verdicts the clamp does not change.
            var ok = Vector512.LessThanOrEqual(abs, Vector512.MinNative(vAtol + vRtol * ar, fmax)) | absZero;
            mismatch -= (~ok).AsInt32();
            zeroAbs -= absZero.AsInt32();
            var absInf = Vector512.Equals(abs, inf);
            var relInf = Vector512.Equals(rel, inf);
            infAbs -= absInf.AsInt32();
            infRel -= relInf.AsInt32();
            var absF = Vector512.AndNot(abs, absInf);
            var relF = Vector512.AndNot(rel, relInf);
            sumAbs += absF; sumAbsSq += absF * absF;
            sumRel += relF; sumRelSq += relF * relF;
            maxAbs = Vector512.MaxNative(maxAbs, abs);
            maxRel = Vector512.MaxNative(maxRel, rel);
            minAbs = Vector512.MinNative(minAbs, abs);
            minRel = Vector512.MinNative(minRel, rel);
            needA = Vector512.MaxNative(needA, Vector512.ConditionalSelect(absInf, inf, Vector512.ConditionalSelect(absZero, zero, abs - vRtol * ar)));
            var tr = (abs - vAtol) / ar;
            tr = Vector512.ConditionalSelect(Vector512.IsNaN(tr), inf, tr);
            needR = Vector512.MaxNative(needR, Vector512.ConditionalSelect(Vector512.LessThanOrEqual(abs, vAtol), zero, tr));
        }
        acc.Mismatch += Vector512.Sum(mismatch);
        acc.ZeroAbs += Vector512.Sum(zeroAbs);
        acc.InfAbs += Vector512.Sum(infAbs); acc.InfRel += Vector512.Sum(infRel);
        Finish(r, c, baseIndex, plan, acc, sumAbs, sumAbsSq, sumRel, sumRelSq, maxAbs, maxRel, minAbs, minRel, needA, needR);
    }

    /// <summary>A compile-time switch: a type argument, so each loop is compiled for one value.</summary>
    internal interface IFlag
    {
        static abstract bool Value { get; }
    }

    internal readonly struct Yes : IFlag
    {
        public static bool Value => true;
    }

    internal readonly struct No : IFlag
    {
        public static bool Value => false;
    }

    /// <summary>How a loop computes |cand − ref| and the relative error: a type argument, so each loop is compiled for one.</summary>
    internal interface IErrors
    {
        static abstract (Vector512<float> Abs, Vector512<float> Rel) AbsRel(Vector512<float> vr, Vector512<float> vc, Vector512<float> ar);
    }

    /// <summary>Full NaN and infinity semantics (<see cref="AbsRel"/>).</summary>
    internal readonly struct FullErrors : IErrors
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static (Vector512<float> Abs, Vector512<float> Rel) AbsRel(Vector512<float> vr, Vector512<float> vc, Vector512<float> ar) => FusedKernel.AbsRel(vr, vc, ar);
    }

    /// <summary>All values finite: the same bits with fewer instructions (0/0 from equal zeros is the only NaN to clear).</summary>
    internal readonly struct LeanErrors : IErrors
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static (Vector512<float> Abs, Vector512<float> Rel) AbsRel(Vector512<float> vr, Vector512<float> vc, Vector512<float> ar)
        {
            var abs = Vector512.Abs(vc - vr);
            return (abs, Vector512.AndNot(abs / ar, Vector512.Equals(abs, Vector512<float>.Zero)));
        }
    }

    /// <summary>
    /// |cand − ref| and the relative error with full semantics: equal values (NaN against NaN included) have error 0,
    /// NaN against a number +inf; the relative error is 0 for a zero error and +inf where it is undefined.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (Vector512<float> Abs, Vector512<float> Rel) AbsRel(Vector512<float> vr, Vector512<float> vc, Vector512<float> ar)
    {
        var zero = Vector512<float>.Zero;
        var inf = Vector512.Create(float.PositiveInfinity);
        var abs = Vector512.Abs(vc - vr);
        abs = Vector512.ConditionalSelect(Vector512.Equals(vc, vr) | (Vector512.IsNaN(vr) & Vector512.IsNaN(vc)), zero, abs);
        abs = Vector512.ConditionalSelect(Vector512.IsNaN(abs), inf, abs);
        var absZero = Vector512.Equals(abs, zero);
        var rel = Vector512.AndNot(abs / ar, absZero);
        rel = Vector512.ConditionalSelect(Vector512.IsNaN(rel), inf, rel);
        return (abs, rel);
    }

    private static void Finish(ReadOnlySpan<float> r, ReadOnlySpan<float> c, long baseIndex, FusedPlan plan, FusedAcc acc,
        Vector512<float> sumAbs, Vector512<float> sumAbsSq, Vector512<float> sumRel, Vector512<float> sumRelSq, Vector512<float> maxAbs,
        Vector512<float> maxRel, Vector512<float> minAbs, Vector512<float> minRel, Vector512<float> needA, Vector512<float> needR)
    {
        acc.SumAbs += Vector512.Sum(sumAbs); acc.SumAbsSq += Vector512.Sum(sumAbsSq);
        acc.SumRel += Vector512.Sum(sumRel); acc.SumRelSq += Vector512.Sum(sumRelSq);
        acc.NeedAtol = Math.Max(acc.NeedAtol, HMax(needA)); acc.NeedRtol = Math.Max(acc.NeedRtol, HMax(needR));
        acc.MinAbs = Math.Min(acc.MinAbs, HMin(minAbs)); acc.MinRel = Math.Min(acc.MinRel, HMin(minRel));
        // Worst elements: only when this block beats what is known, find the first index by rescanning it.
        float mAbs = HMax(maxAbs), mRel = HMax(maxRel);
        if (mAbs > acc.MaxAbs) { acc.MaxAbs = mAbs; acc.MaxAbsIndex = baseIndex + FirstIndex(r, c, mAbs, relative: false); }
        if (mRel > acc.MaxRel) { acc.MaxRel = mRel; acc.MaxRelIndex = baseIndex + FirstIndex(r, c, mRel, relative: true); }
    }

    /// <summary>Statistics of both sides' values and their similarity; writes the finite values (NaN for the rest) to the buffers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Values(ReadOnlySpan<float> r, ReadOnlySpan<float> c, FusedAcc acc, float[] refOut, float[] candOut)
    {
        var zero = Vector512<float>.Zero;
        var inf = Vector512.Create(float.PositiveInfinity);
        var ninf = Vector512.Create(float.NegativeInfinity);
        var nan = Vector512.Create(float.NaN);
        Vector512<int> nanR = default, nanC = default, finR = default, finC = default;
        Vector512<float> dot = zero, refSq = zero, candSq = zero;
        Vector512<float> rMin = inf, rMax = ninf, rSum = zero, rSumSq = zero, cMin = inf, cMax = ninf, cSum = zero, cSumSq = zero;
        ref float rr = ref MemoryMarshal.GetReference(r);
        ref float cr = ref MemoryMarshal.GetReference(c);
        ref float ro = ref MemoryMarshal.GetArrayDataReference(refOut);
        ref float co = ref MemoryMarshal.GetArrayDataReference(candOut);
        for (int i = 0; i < r.Length; i += 16)
        {
            var vr = Vector512.LoadUnsafe(ref rr, (nuint)i);
            var vc = Vector512.LoadUnsafe(ref cr, (nuint)i);
            var finMaskR = Vector512.Equals(vr - vr, zero);
            var finMaskC = Vector512.Equals(vc - vc, zero);
            nanR -= Vector512.IsNaN(vr).AsInt32();
            nanC -= Vector512.IsNaN(vc).AsInt32();
            finR -= finMaskR.AsInt32();
            finC -= finMaskC.AsInt32();
            var both = finMaskR & finMaskC;
            var rB = vr & both;
            var cB = vc & both;
            dot += rB * cB; refSq += rB * rB; candSq += cB * cB;
            var rF = vr & finMaskR;
            var cF = vc & finMaskC;
            rSum += rF; rSumSq += rF * rF; cSum += cF; cSumSq += cF * cF;
            rMin = Vector512.MinNative(rMin, Vector512.ConditionalSelect(finMaskR, vr, inf));
            rMax = Vector512.MaxNative(rMax, Vector512.ConditionalSelect(finMaskR, vr, ninf));
            cMin = Vector512.MinNative(cMin, Vector512.ConditionalSelect(finMaskC, vc, inf));
            cMax = Vector512.MaxNative(cMax, Vector512.ConditionalSelect(finMaskC, vc, ninf));
            Vector512.ConditionalSelect(finMaskR, vr, nan).StoreUnsafe(ref ro, (nuint)i);
            Vector512.ConditionalSelect(finMaskC, vc, nan).StoreUnsafe(ref co, (nuint)i);
        }
        acc.NanRef += Vector512.Sum(nanR); acc.NanCand += Vector512.Sum(nanC);
        acc.Dot += Vector512.Sum(dot); acc.RefSq += Vector512.Sum(refSq); acc.CandSq += Vector512.Sum(candSq);
        acc.RefFinite += Vector512.Sum(finR); acc.CandFinite += Vector512.Sum(finC);
        acc.RefMin = Math.Min(acc.RefMin, HMin(rMin)); acc.RefMax = Math.Max(acc.RefMax, HMax(rMax));
        acc.CandMin = Math.Min(acc.CandMin, HMin(cMin)); acc.CandMax = Math.Max(acc.CandMax, HMax(cMax));
        acc.RefSum += Vector512.Sum(rSum); acc.RefSumSq += Vector512.Sum(rSumSq);
        acc.CandSum += Vector512.Sum(cSum); acc.CandSumSq += Vector512.Sum(cSumSq);
    }

    /// <summary>
    /// Counts each value in its radix bin (<see cref="RadixQuantiles.Bin"/>): bins computed 16 at a time, counted by
    /// scalar increments. NaN placeholders land in a NaN bin, which is never read.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void RadixCount(ReadOnlySpan<float> values, int[] table, int[] keys, int delta = 1)
    {
        ref float v = ref MemoryMarshal.GetReference(values);
        ref int kr = ref MemoryMarshal.GetArrayDataReference(keys);
        for (int i = 0; i < values.Length; i += 16)
            Vector512.ShiftRightLogical(Vector512.LoadUnsafe(ref v, (nuint)i).AsUInt32(), 16).AsInt32().StoreUnsafe(ref kr, (nuint)i);
        fixed (int* kp = keys)
        fixed (int* tp = table)
        {
            // Keys are below 2^16: read as unsigned, they index without a sign extension.
            for (uint* k = (uint*)kp, end = (uint*)kp + values.Length; k < end; k += 4)
            {
                tp[k[0]] += delta;
                tp[k[1]] += delta;
                tp[k[2]] += delta;
                tp[k[3]] += delta;
            }
        }
    }

    /// <summary>
    /// The candidate's radix counts as a correction to the reference's: only where an element's two bins differ (rare
    /// when the outputs are close) does the candidate's bin gain one and the reference's lose one. The candidate's
    /// counts are the reference's table plus this one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int RadixCountPair(ReadOnlySpan<float> refs, ReadOnlySpan<float> cands, int[] table, int[] keys, bool dense)
    {
        ref float pr = ref MemoryMarshal.GetReference(refs);
        ref float pc = ref MemoryMarshal.GetReference(cands);
        int differ = 0;
        if (dense)
        {
            // Most bins differ (unrelated outputs): every candidate counted, every reference discounted, no branches.
            for (int i = 0; i < refs.Length; i += 16)
            {
                var br = Vector512.ShiftRightLogical(Vector512.LoadUnsafe(ref pr, (nuint)i).AsUInt32(), 16);
                var bc = Vector512.ShiftRightLogical(Vector512.LoadUnsafe(ref pc, (nuint)i).AsUInt32(), 16);
                differ += System.Numerics.BitOperations.PopCount((~Vector512.Equals(br, bc)).ExtractMostSignificantBits());
            }
            RadixCount(cands, table, keys, +1);
            RadixCount(refs, table, keys, -1);
            return differ;
        }
        for (int i = 0; i < refs.Length; i += 16)
        {
            var br = Vector512.ShiftRightLogical(Vector512.LoadUnsafe(ref pr, (nuint)i).AsUInt32(), 16);
            var bc = Vector512.ShiftRightLogical(Vector512.LoadUnsafe(ref pc, (nuint)i).AsUInt32(), 16);
            if (br == bc) continue;
            ulong mask = (~Vector512.Equals(br, bc)).ExtractMostSignificantBits();
            differ += System.Numerics.BitOperations.PopCount(mask);
            while (mask != 0)
            {
                int lane = System.Numerics.BitOperations.TrailingZeroCount(mask);
                mask &= mask - 1;
                table[(int)bc[lane]]++;
                table[(int)br[lane]]--;
            }
        }
        return differ;
    }

    /// <summary>Direct mode (small inputs): every counted value kept, with its octave.</summary>
    private static void KeepAll(ReadOnlySpan<float> values, int q, FusedThreadState state)
    {
        var all = state.All[q];
        var hist = state.Histogram[q];
        foreach (var x in values)
        {
            if (float.IsNaN(x)) continue;
            all.Add(x);
            hist[BitConverter.SingleToUInt32Bits(x) >> 23]++;
        }
    }

    /// <summary>One element of the first pass in float arithmetic, exactly as one SIMD lane computes it.</summary>
    internal static void AddFloat(FusedAcc a, float r, float c, long index, FusedPlan p, FusedThreadState t)
    {
        float atol = (float)Math.Min(p.Atol, float.MaxValue), rtol = (float)Math.Min(p.Rtol, float.MaxValue);
        float abs = AbsF(r, c), ar = Math.Abs(r), rel = RelF(abs, ar);
        if (!(abs == 0 || abs <= Math.Min(atol + rtol * ar, float.MaxValue))) a.Mismatch++;
        if (abs == 0) a.ZeroAbs++;
        if (float.IsNaN(r)) a.NanRef++;
        if (float.IsNaN(c)) a.NanCand++;
        if (float.IsPositiveInfinity(abs)) a.InfAbs++; else { a.SumAbs += abs; a.SumAbsSq += abs * abs; }
        if (float.IsPositiveInfinity(rel)) a.InfRel++; else { a.SumRel += rel; a.SumRelSq += rel * rel; }
        a.MinAbs = Math.Min(a.MinAbs, abs); a.MinRel = Math.Min(a.MinRel, rel);
        if (abs > a.MaxAbs) { a.MaxAbs = abs; a.MaxAbsIndex = index; }
        if (rel > a.MaxRel) { a.MaxRel = rel; a.MaxRelIndex = index; }
        a.NeedAtol = Math.Max(a.NeedAtol, float.IsPositiveInfinity(abs) ? float.PositiveInfinity : abs == 0 ? 0 : abs - rtol * ar);
        float tr = (abs - atol) / ar;
        if (float.IsNaN(tr)) tr = float.PositiveInfinity;
        a.NeedRtol = Math.Max(a.NeedRtol, abs <= atol ? 0 : tr);
        bool fr = float.IsFinite(r), fc = float.IsFinite(c);
        if (fr && fc) { a.Dot += r * c; a.RefSq += r * r; a.CandSq += c * c; }
        if (fr) { a.RefFinite++; a.RefMin = Math.Min(a.RefMin, r); a.RefMax = Math.Max(a.RefMax, r); a.RefSum += r; a.RefSumSq += r * r; }
        if (fc) { a.CandFinite++; a.CandMin = Math.Min(a.CandMin, c); a.CandMax = Math.Max(a.CandMax, c); a.CandSum += c; a.CandSumSq += c * c; }
        FusedAcc.AddQuantities(abs, rel, r, fr, c, fc, p, t);
    }

    // ---- second pass -----------------------------------------------------------------------------------------------

    /// <summary>Runs the second pass over one chunk: the robust error's statistics, and the values in target bins.</summary>
    public static void Run2(ReadOnlySpan<float> r, ReadOnlySpan<float> c, long baseIndex, FusedPlan plan, RobustAcc acc, FusedThreadState state)
    {
        var ctx = (Context)(state.KernelContext ??= new Context());
        state.PrepareTargets(plan);
        // Up to four targets per quantity are tested in registers during the robust loop; a quantity with more (a
        // rank pair split across bins, an unusual user quantile) is tested apart, after it.
        Span<uint> inLoop = stackalloc uint[16];
        inLoop.Fill(uint.MaxValue); // never equal to a 16-bit bin
        Span<int> packed = stackalloc int[FusedPlan.Quantities];
        for (int q = 0; q < FusedPlan.Quantities; q++)
            if (plan.Targets[q].Length <= 4)
                for (int j = 0; j < plan.Targets[q].Length; j++) inLoop[4 * q + j] = (uint)plan.Targets[q][j].Bin;
        for (int start = 0; start < r.Length; start += Block)
        {
            int len = Math.Min(Block, r.Length - start);
            var rb = r.Slice(start, len);
            var cb = c.Slice(start, len);
            int vecEnd = len & ~15;
            if (vecEnd > 0)
            {
                var b = ctx.Buffers;
                // A block the first pass found all finite recomputes its errors the lean way (same bits); the errors
                // are stored only when a quantity with more than four targets scans them again below.
                bool lean = plan.LeanBlocks[(baseIndex + start) / Block], store = plan.Targets[0].Length > 4 || plan.Targets[1].Length > 4;
                if (lean && !store) Robust<LeanErrors, No>(rb[..vecEnd], cb[..vecEnd], plan.RobustFloor, acc, b[0], b[1], inLoop, ctx.Packs, packed);
                else if (lean) Robust<LeanErrors, Yes>(rb[..vecEnd], cb[..vecEnd], plan.RobustFloor, acc, b[0], b[1], inLoop, ctx.Packs, packed);
                else if (!store) Robust<FullErrors, No>(rb[..vecEnd], cb[..vecEnd], plan.RobustFloor, acc, b[0], b[1], inLoop, ctx.Packs, packed);
                else Robust<FullErrors, Yes>(rb[..vecEnd], cb[..vecEnd], plan.RobustFloor, acc, b[0], b[1], inLoop, ctx.Packs, packed);
                ReadOnlySpan<float> abs = b[0].AsSpan(0, vecEnd), rel = b[1].AsSpan(0, vecEnd);
                int vectors = vecEnd / 16;
                for (int q = 0; q < FusedPlan.Quantities; q++)
                {
                    if (plan.Targets[q].Length <= 4)
                    {
                        CollectPacked(ctx.Packs[q].AsSpan(0, packed[q]), q, plan, state, ctx.Aside);
                        continue;
                    }
                    var values = q switch { 0 => abs, 1 => rel, 2 => rb[..vecEnd], _ => cb[..vecEnd] };
                    Mark(values, q, plan, ctx.Masks.AsSpan(0, vectors));
                    CollectMarked(values, q, plan, state, ctx.Masks.AsSpan(0, vectors));
                }
            }
            for (int i = vecEnd; i < len; i++) AddRobust(acc, rb[i], cb[i], plan, state);
        }
    }

    /// <summary>
    /// The robust relative error's sum, maximum and infinite count, and, per quantity (abs, rel, ref, cand), the values
    /// whose bin is one of its four targets in <paramref name="t"/>: their bits packed into <paramref name="packs"/>[q],
    /// their number in <paramref name="packed"/>[q]. Writes the errors to the buffers only when
    /// <typeparamref name="TStore"/> says a later scan reads them (a quantity with more than four targets).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Robust<TErrors, TStore>(ReadOnlySpan<float> r, ReadOnlySpan<float> c, float floor, RobustAcc acc, float[] absOut, float[] relOut, ReadOnlySpan<uint> t, uint[][] packs, Span<int> packed)
        where TErrors : struct, IErrors where TStore : struct, IFlag
    {
        var zero = Vector512<float>.Zero;
        var inf = Vector512.Create(float.PositiveInfinity);
        var vFloor = Vector512.Create(floor);
        Vector512<int> infRob = default;
        Vector512<float> sumRob = zero, maxRob = zero;
        var a0 = Vector512.Create(t[0]); var a1 = Vector512.Create(t[1]); var a2 = Vector512.Create(t[2]); var a3 = Vector512.Create(t[3]);
        var e0 = Vector512.Create(t[4]); var e1 = Vector512.Create(t[5]); var e2 = Vector512.Create(t[6]); var e3 = Vector512.Create(t[7]);
        var r0 = Vector512.Create(t[8]); var r1 = Vector512.Create(t[9]); var r2 = Vector512.Create(t[10]); var r3 = Vector512.Create(t[11]);
        var c0 = Vector512.Create(t[12]); var c1 = Vector512.Create(t[13]); var c2 = Vector512.Create(t[14]); var c3 = Vector512.Create(t[15]);
        ref float rr = ref MemoryMarshal.GetReference(r);
        ref float cr = ref MemoryMarshal.GetReference(c);
        ref float ao = ref MemoryMarshal.GetArrayDataReference(absOut);
        ref float ro = ref MemoryMarshal.GetArrayDataReference(relOut);
        ref uint pa = ref MemoryMarshal.GetArrayDataReference(packs[0]);
        ref uint pe = ref MemoryMarshal.GetArrayDataReference(packs[1]);
        ref uint pr = ref MemoryMarshal.GetArrayDataReference(packs[2]);
        ref uint pc = ref MemoryMarshal.GetArrayDataReference(packs[3]);
        int na = 0, ne = 0, nr = 0, nc = 0;
        for (int i = 0; i < r.Length; i += 16)
        {
            var vr = Vector512.LoadUnsafe(ref rr, (nuint)i);
            var vc = Vector512.LoadUnsafe(ref cr, (nuint)i);
            var ar = Vector512.Abs(vr);
            var (abs, rel) = TErrors.AbsRel(vr, vc, ar);
            if (TStore.Value)
            {
                abs.StoreUnsafe(ref ao, (nuint)i);
                rel.StoreUnsafe(ref ro, (nuint)i);
            }
            // Where |ref| ≥ floor the robust error is the relative error; only a vector with a smaller |ref| (or a NaN)
            // divides by the floor. Undefined quotients are +inf, as in RobustF.
            var rob = rel;
            var far = ~Vector512.GreaterThanOrEqual(ar, vFloor);
            if (far != Vector512<float>.Zero)
            {
                var q = Vector512.AndNot(abs / vFloor, Vector512.Equals(abs, zero));
                rob = Vector512.ConditionalSelect(far, Vector512.ConditionalSelect(Vector512.IsNaN(q), inf, q), rel);
            }
            var robInf = Vector512.Equals(rob, inf);
            infRob -= robInf.AsInt32();
            sumRob += Vector512.AndNot(rob, robInf);
            maxRob = Vector512.MaxNative(maxRob, rob);
            var ba = Vector512.ShiftRightLogical(abs.AsUInt32(), 16);
            var be = Vector512.ShiftRightLogical(rel.AsUInt32(), 16);
            var br = Vector512.ShiftRightLogical(vr.AsUInt32(), 16);
            var bc = Vector512.ShiftRightLogical(vc.AsUInt32(), 16);
            na = Pack(abs.AsUInt32(), Vector512.Equals(ba, a0) | Vector512.Equals(ba, a1) | Vector512.Equals(ba, a2) | Vector512.Equals(ba, a3), ref pa, na);
            ne = Pack(rel.AsUInt32(), Vector512.Equals(be, e0) | Vector512.Equals(be, e1) | Vector512.Equals(be, e2) | Vector512.Equals(be, e3), ref pe, ne);
            nr = Pack(vr.AsUInt32(), Vector512.Equals(br, r0) | Vector512.Equals(br, r1) | Vector512.Equals(br, r2) | Vector512.Equals(br, r3), ref pr, nr);
            nc = Pack(vc.AsUInt32(), Vector512.Equals(bc, c0) | Vector512.Equals(bc, c1) | Vector512.Equals(bc, c2) | Vector512.Equals(bc, c3), ref pc, nc);
        }
        packed[0] = na; packed[1] = ne; packed[2] = nr; packed[3] = nc;
        acc.Sum += Vector512.Sum(sumRob);
        acc.Inf += Vector512.Sum(infRob);
        acc.Max = Math.Max(acc.Max, HMax(maxRob));
    }

    /// <summary>
    /// Appends the lanes of <paramref name="bits"/> that <paramref name="mask"/> selects at <paramref name="dst"/>[n…]
    /// (the destination needs 16 elements of slack); returns the new count. No branch with AVX-512 (a compress).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Pack(Vector512<uint> bits, Vector512<uint> mask, ref uint dst, int n)
    {
        if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported)
        {
            System.Runtime.Intrinsics.X86.Avx512F.Compress(Vector512<uint>.Zero, mask, bits).StoreUnsafe(ref dst, (nuint)n);
            return n + System.Numerics.BitOperations.PopCount(mask.ExtractMostSignificantBits());
        }
        ulong m = mask.ExtractMostSignificantBits();
        while (m != 0)
        {
            int lane = System.Numerics.BitOperations.TrailingZeroCount(m);
            m &= m - 1;
            Unsafe.Add(ref dst, n++) = bits[lane];
        }
        return n;
    }

    /// <summary>
    /// Keeps (or counts the low bits of) the packed values (float bits) of quantity <paramref name="q"/>, every one in
    /// a target bin.
    /// </summary>
    private static void CollectPacked(ReadOnlySpan<uint> packed, int q, FusedPlan plan, FusedThreadState state, uint[] scratch)
    {
        var targets = plan.Targets[q];
        if (packed.Length == 0) return;
        var low = state.Low[q];
        if (plan.AllCounted[q])
        {
            // Every target counted (heavy ties everywhere): no branch per value.
            int b1 = targets.Length > 1 ? targets[1].Bin : -1, b2 = targets.Length > 2 ? targets[2].Bin : -1, b3 = targets.Length > 3 ? targets[3].Bin : -1;
            ref int counts = ref MemoryMarshal.GetArrayDataReference(low!);
            foreach (uint x in packed)
            {
                int bin = (int)(x >> 16);
                int j = (bin == b1 ? 1 : 0) | (bin == b2 ? 2 : 0) | (bin == b3 ? 3 : 0);
                Unsafe.Add(ref counts, j << 16 | (int)(x & 0xFFFF))++;
            }
            return;
        }
        var kept = state.Kept[q]!;
        if (plan.AllKept[q])
        {
            kept.AddRange(MemoryMarshal.Cast<uint, float>(packed));
            RadixQuantiles.CountByteRows(packed, plan.TargetBins[q], 16, state.Step1[q]!);
            return;
        }
        // Kept and counted targets mixed (a bin of heavy ties among others, such as a ReLU's zeros): 16 values at a
        // time, the kept ones packed aside, the counted ones counted, a run of one value in one add. No branch per value.
        Span<int> c = stackalloc int[4];
        for (int j = 0; j < 4; j++) c[j] = j < targets.Length && targets[j].Counted ? targets[j].Bin : -1;
        Vector512<uint> c0 = Vector512.Create((uint)c[0]), c1 = Vector512.Create((uint)c[1]), c2 = Vector512.Create((uint)c[2]), c3 = Vector512.Create((uint)c[3]);
        ref uint aside = ref MemoryMarshal.GetArrayDataReference(scratch);
        ref uint p = ref MemoryMarshal.GetReference(packed);
        int na = 0, end = packed.Length & ~15;
        for (int i = 0; i < end; i += 16)
        {
            var x = Vector512.LoadUnsafe(ref p, (nuint)i);
            var bins = Vector512.ShiftRightLogical(x, 16);
            var counted = Vector512.Equals(bins, c0) | Vector512.Equals(bins, c1) | Vector512.Equals(bins, c2) | Vector512.Equals(bins, c3);
            na = Pack(x, ~counted, ref aside, na);
            ulong m = counted.ExtractMostSignificantBits();
            if (m == 0) continue;
            uint x0 = x[System.Numerics.BitOperations.TrailingZeroCount(m)];
            if ((Vector512.Equals(x, Vector512.Create(x0)) & counted) == counted)
            {
                low![IndexOf(targets, (int)(x0 >> 16)) << 16 | (int)(x0 & 0xFFFF)] += System.Numerics.BitOperations.PopCount(m);
                continue;
            }
            while (m != 0)
            {
                uint xi = x[System.Numerics.BitOperations.TrailingZeroCount(m)];
                m &= m - 1;
                low![IndexOf(targets, (int)(xi >> 16)) << 16 | (int)(xi & 0xFFFF)]++;
            }
        }
        for (int i = end; i < packed.Length; i++)
        {
            uint x = packed[i];
            int j = IndexOf(targets, (int)(x >> 16));
            if (targets[j].Counted) low![j << 16 | (int)(x & 0xFFFF)]++;
            else Unsafe.Add(ref aside, na++) = x;
        }
        var keptBits = scratch.AsSpan(0, na);
        kept.AddRange(MemoryMarshal.Cast<uint, float>(keptBits));
        RadixQuantiles.CountByteRows(keptBits, plan.TargetBins[q], 16, state.Step1[q]!);
    }

    private static int IndexOf(RadixTarget[] targets, int bin)
    {
        int j = 0;
        while (targets[j].Bin != bin) j++;
        return j;
    }

    /// <summary>
    /// Keeps (or counts the low bits of) the values of quantity <paramref name="q"/> in its target bins: the lanes
    /// <paramref name="masks"/> marks, one 16-bit mask per vector. Raw reference and candidate values can be passed: a
    /// non-finite value's bin is never a target.
    /// </summary>
    private static void CollectMarked(ReadOnlySpan<float> values, int q, FusedPlan plan, FusedThreadState state, ReadOnlySpan<ushort> masks)
    {
        var targets = plan.Targets[q];
        if (targets.Length == 0) return;
        var low = state.Low[q];
        var kept = state.Kept[q];
        for (int k = 0; k < masks.Length; k++)
        {
            uint mask = masks[k];
            int i = 16 * k;
            while (mask != 0)
            {
                int lane = System.Numerics.BitOperations.TrailingZeroCount(mask);
                mask &= mask - 1;
                float x = values[i + lane];
                int bin = RadixQuantiles.Bin(x);
                int j = 0;
                while (targets[j].Bin != bin) j++;
                if (targets[j].Counted) low![j << 16 | (int)(BitConverter.SingleToUInt32Bits(x) & 0xFFFF)]++;
                else
                {
                    kept!.Add(x);
                    state.Step1[q]![(j << 2) << 8 | (int)((BitConverter.SingleToUInt32Bits(x) >> 8) & 0xFF)]++;
                }
            }
        }
    }

    /// <summary>The lanes of every vector whose bin is one of quantity <paramref name="q"/>'s targets, for a quantity with more than four.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Mark(ReadOnlySpan<float> values, int q, FusedPlan plan, Span<ushort> masks)
    {
        var targets = plan.Targets[q];
        ref float v = ref MemoryMarshal.GetReference(values);
        masks.Clear();
        for (int first = 0; first < targets.Length; first += 4)
        {
            var t0 = Vector512.Create((uint)targets[first].Bin);
            var t1 = Vector512.Create(first + 1 < targets.Length ? (uint)targets[first + 1].Bin : uint.MaxValue);
            var t2 = Vector512.Create(first + 2 < targets.Length ? (uint)targets[first + 2].Bin : uint.MaxValue);
            var t3 = Vector512.Create(first + 3 < targets.Length ? (uint)targets[first + 3].Bin : uint.MaxValue);
            for (int i = 0, k = 0; i < values.Length; i += 16, k++)
            {
                var bin = Vector512.ShiftRightLogical(Vector512.LoadUnsafe(ref v, (nuint)i).AsUInt32(), 16);
                masks[k] |= (ushort)(Vector512.Equals(bin, t0) | Vector512.Equals(bin, t1) | Vector512.Equals(bin, t2) | Vector512.Equals(bin, t3)).ExtractMostSignificantBits();
            }
        }
    }

    /// <summary>One element of the second pass in float arithmetic, exactly as one SIMD lane computes it.</summary>
    internal static void AddRobust(RobustAcc a, float r, float c, FusedPlan p, FusedThreadState t)
    {
        float abs = AbsF(r, c), ar = Math.Abs(r);
        float rob = RobustF(abs, ar, p.RobustFloor);
        if (float.IsPositiveInfinity(rob)) a.Inf++; else a.Sum += rob;
        a.Max = Math.Max(a.Max, rob);
        if (!p.Radix) return;
        RadixQuantiles.Collect(0, abs, p, t);
        RadixQuantiles.Collect(1, RelF(abs, ar), p, t);
        if (float.IsFinite(r)) RadixQuantiles.Collect(2, r, p, t);
        if (float.IsFinite(c)) RadixQuantiles.Collect(3, c, p, t);
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

    private static int FirstIndex(ReadOnlySpan<float> r, ReadOnlySpan<float> c, float target, bool relative)
    {
        for (int k = 0; k < r.Length; k++)
        {
            float abs = AbsF(r[k], c[k]);
            if ((relative ? RelF(abs, Math.Abs(r[k])) : abs) == target) return k;
        }
        return 0;
    }

    /// <summary>Horizontal maximum of lanes holding no NaN (every caller's case), by halving.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float HMax(Vector512<float> v)
    {
        var a = Vector256.MaxNative(v.GetLower(), v.GetUpper());
        var b = Vector128.MaxNative(a.GetLower(), a.GetUpper());
        b = Vector128.MaxNative(b, Vector128.Shuffle(b, Vector128.Create(2, 3, 0, 1)));
        b = Vector128.MaxNative(b, Vector128.Shuffle(b, Vector128.Create(1, 0, 3, 2)));
        return b.ToScalar();
    }

    /// <summary>Horizontal minimum of lanes holding no NaN (every caller's case), by halving.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float HMin(Vector512<float> v)
    {
        var a = Vector256.MinNative(v.GetLower(), v.GetUpper());
        var b = Vector128.MinNative(a.GetLower(), a.GetUpper());
        b = Vector128.MinNative(b, Vector128.Shuffle(b, Vector128.Create(2, 3, 0, 1)));
        b = Vector128.MinNative(b, Vector128.Shuffle(b, Vector128.Create(1, 0, 3, 2)));
        return b.ToScalar();
    }
}
