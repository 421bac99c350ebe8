using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace PolyNet.Compare.Kernels;

/// <summary>The per-element quantities the second pass evaluates (values of non-finite elements are excluded).</summary>
internal enum Quantity
{
    Abs = 0,
    Rel = 1,
    Ref = 2,
    Cand = 3,
    RobustRel = 4,
}

/// <summary>
/// What the second pass counts, per quantity: how many values are &lt; each of <see cref="Lt"/>, how many are ≤ each
/// of <see cref="Le"/>, and which values fall strictly inside each interval of <see cref="Collect"/> (kept for exact
/// selection). With these counts, quantiles are resolved exactly and histograms read off directly.
/// </summary>
internal sealed class Pass2Plan
{
    public const int QuantityCount = 5;
    public float RobustFloor = float.Epsilon;
    public float[][] Lt = Enumerable.Range(0, QuantityCount).Select(_ => Array.Empty<float>()).ToArray();
    public float[][] Le = Enumerable.Range(0, QuantityCount).Select(_ => Array.Empty<float>()).ToArray();
    public (float Lo, float Hi)[][] Collect = Enumerable.Range(0, QuantityCount).Select(_ => Array.Empty<(float, float)>()).ToArray();
}

internal sealed class Pass2Acc
{
    public readonly long[][] LtCount;
    public readonly long[][] LeCount;
    public readonly List<float>[][] Collected;
    public double RobustSum;
    public double RobustMax = -1;
    public long RobustMaxIndex = -1;
    public long RobustInf;

    public Pass2Acc(Pass2Plan plan)
    {
        LtCount = plan.Lt.Select(t => new long[t.Length]).ToArray();
        LeCount = plan.Le.Select(t => new long[t.Length]).ToArray();
        Collected = plan.Collect.Select(c => c.Select(_ => new List<float>()).ToArray()).ToArray();
    }

    public void Merge(Pass2Acc o)
    {
        for (int q = 0; q < LtCount.Length; q++)
        {
            for (int t = 0; t < LtCount[q].Length; t++) LtCount[q][t] += o.LtCount[q][t];
            for (int t = 0; t < LeCount[q].Length; t++) LeCount[q][t] += o.LeCount[q][t];
            for (int j = 0; j < Collected[q].Length; j++) Collected[q][j].AddRange(o.Collected[q][j]);
        }
        RobustSum += o.RobustSum;
        RobustInf += o.RobustInf;
        if (o.RobustMax > RobustMax) { RobustMax = o.RobustMax; RobustMaxIndex = o.RobustMaxIndex; }
    }
}

/// <summary>The second pass over float32 data (SIMD with a scalar tail of the same semantics).</summary>
internal static class Pass2Kernel
{
    /// <summary>The five quantities of one element, as the vector lanes compute them (NaN marks "excluded").</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Quantities(float r, float c, float floor, Span<float> q)
    {
        float abs = Pass1Kernel.AbsF(r, c);
        float ar = Math.Abs(r);
        q[0] = abs;
        q[1] = Pass1Kernel.RelF(abs, ar);
        q[2] = float.IsFinite(r) ? r : float.NaN;
        q[3] = float.IsFinite(c) ? c : float.NaN;
        q[4] = Robust(abs, ar, floor);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Robust(float abs, float ar, float floor)
    {
        if (abs == 0) return 0;
        float v = abs / Math.Max(ar, floor);
        return float.IsNaN(v) ? float.PositiveInfinity : v;
    }

    public static void Run(ReadOnlySpan<float> r, ReadOnlySpan<float> c, long baseIndex, Pass2Plan plan, Pass2Acc acc)
    {
        int n = r.Length;
        int i = 0;
        var zero = Vector256<float>.Zero;
        var inf = Vector256.Create(float.PositiveInfinity);
        var nan = Vector256.Create(float.NaN);
        var vFloor = Vector256.Create(plan.RobustFloor);
        // Lane counters per threshold, flushed to the long totals at the end (a chunk is far below 2^31 per lane).
        var lt = plan.Lt.Select(t => new Vector256<int>[t.Length]).ToArray();
        var le = plan.Le.Select(t => new Vector256<int>[t.Length]).ToArray();
        var vLt = plan.Lt.Select(t => t.Select(Vector256.Create).ToArray()).ToArray();
        var vLe = plan.Le.Select(t => t.Select(Vector256.Create).ToArray()).ToArray();
        var vLo = plan.Collect.Select(t => t.Select(x => Vector256.Create(x.Lo)).ToArray()).ToArray();
        var vHi = plan.Collect.Select(t => t.Select(x => Vector256.Create(x.Hi)).ToArray()).ToArray();
        Vector256<float> robustSum = zero, robustMax = Vector256.Create(-1f);
        Vector256<int> robustInf = default;
        Span<Vector256<float>> q = stackalloc Vector256<float>[Pass2Plan.QuantityCount];
        ref float rr = ref MemoryMarshal.GetReference(r);
        ref float cr = ref MemoryMarshal.GetReference(c);
        float blockRobustMax = -1;
        for (; i + 8 <= n; i += 8)
        {
            var vr = Vector256.LoadUnsafe(ref rr, (nuint)i);
            var vc = Vector256.LoadUnsafe(ref cr, (nuint)i);
            var isNanR = ~Vector256.Equals(vr, vr);
            var isNanC = ~Vector256.Equals(vc, vc);
            var ar = Vector256.Abs(vr);
            var abs = Vector256.Abs(vc - vr);
            abs = Vector256.ConditionalSelect(Vector256.Equals(vc, vr) | (isNanR & isNanC), zero, abs);
            abs = Vector256.ConditionalSelect(~Vector256.Equals(abs, abs), inf, abs);
            var absZero = Vector256.Equals(abs, zero);
            var rel = abs / ar;
            rel = Vector256.ConditionalSelect(absZero, zero, rel);
            rel = Vector256.ConditionalSelect(~Vector256.Equals(rel, rel), inf, rel);
            var rob = abs / Vector256.Max(ar, vFloor);
            rob = Vector256.ConditionalSelect(absZero, zero, rob);
            rob = Vector256.ConditionalSelect(~Vector256.Equals(rob, rob), inf, rob);
            q[0] = abs;
            q[1] = rel;
            q[2] = Vector256.ConditionalSelect(Vector256.Equals(vr - vr, zero), vr, nan);
            q[3] = Vector256.ConditionalSelect(Vector256.Equals(vc - vc, zero), vc, nan);
            q[4] = rob;
            var robInf = Vector256.Equals(rob, inf);
            robustInf -= robInf.AsInt32();
            robustSum += Vector256.ConditionalSelect(robInf, zero, rob);
            robustMax = Vector256.Max(robustMax, rob);

            for (int k = 0; k < Pass2Plan.QuantityCount; k++)
            {
                var v = q[k];
                var tl = vLt[k];
                var cl = lt[k];
                for (int t = 0; t < tl.Length; t++) cl[t] -= Vector256.LessThan(v, tl[t]).AsInt32();
                var te = vLe[k];
                var ce = le[k];
                for (int t = 0; t < te.Length; t++) ce[t] -= Vector256.LessThanOrEqual(v, te[t]).AsInt32();
                var lo = vLo[k];
                if (lo.Length == 0) continue;
                var hi = vHi[k];
                var any = Vector256<float>.Zero;
                for (int j = 0; j < lo.Length; j++) any |= Vector256.GreaterThan(v, lo[j]) & Vector256.LessThan(v, hi[j]);
                if (any != Vector256<float>.Zero)
                {
                    for (int lane = 0; lane < 8; lane++)
                    {
                        float x = v[lane];
                        for (int j = 0; j < lo.Length; j++)
                            if (x > plan.Collect[k][j].Lo && x < plan.Collect[k][j].Hi) acc.Collected[k][j].Add(x);
                    }
                }
            }
        }
        for (int k = 0; k < Pass2Plan.QuantityCount; k++)
        {
            for (int t = 0; t < lt[k].Length; t++) acc.LtCount[k][t] += Vector256.Sum(lt[k][t]);
            for (int t = 0; t < le[k].Length; t++) acc.LeCount[k][t] += Vector256.Sum(le[k][t]);
        }
        acc.RobustSum += Vector256.Sum(robustSum);
        acc.RobustInf += Vector256.Sum(robustInf);
        if (i > 0)
        {
            blockRobustMax = Pass1Kernel.HMax(robustMax);
            if (blockRobustMax > acc.RobustMax)
            {
                for (int k = 0; k < i; k++)
                {
                    float abs = Pass1Kernel.AbsF(r[k], c[k]);
                    if (Robust(abs, Math.Abs(r[k]), plan.RobustFloor) == blockRobustMax)
                    {
                        acc.RobustMax = blockRobustMax;
                        acc.RobustMaxIndex = baseIndex + k;
                        break;
                    }
                }
            }
        }
        Span<float> qs = stackalloc float[Pass2Plan.QuantityCount];
        for (; i < n; i++)
        {
            Quantities(r[i], c[i], plan.RobustFloor, qs);
            AddScalar(qs, baseIndex + i, plan, acc);
        }
    }

    /// <summary>One element's quantities into the counters (shared by the tail and by the float64 path).</summary>
    public static void AddScalar(ReadOnlySpan<float> qs, long index, Pass2Plan plan, Pass2Acc acc)
    {
        for (int k = 0; k < Pass2Plan.QuantityCount; k++)
        {
            float v = qs[k];
            for (int t = 0; t < plan.Lt[k].Length; t++) if (v < plan.Lt[k][t]) acc.LtCount[k][t]++;
            for (int t = 0; t < plan.Le[k].Length; t++) if (v <= plan.Le[k][t]) acc.LeCount[k][t]++;
            for (int j = 0; j < plan.Collect[k].Length; j++)
                if (v > plan.Collect[k][j].Lo && v < plan.Collect[k][j].Hi) acc.Collected[k][j].Add(v);
        }
        float rob = qs[4];
        if (float.IsPositiveInfinity(rob)) acc.RobustInf++;
        else acc.RobustSum += rob;
        if (rob > acc.RobustMax) { acc.RobustMax = rob; acc.RobustMaxIndex = index; }
    }
}
