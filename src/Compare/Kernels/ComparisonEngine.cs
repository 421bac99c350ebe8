using System.Globalization;
using PolyNet.Onnx;

namespace PolyNet.Compare.Kernels;

/// <summary>
/// Computes <see cref="ComparisonMetrics"/> for two numeric tensors of equal length in two passes over the data:
/// pass 1 (statistics, verdict counts, worst elements) and pass 2 (exact quantiles via <see cref="QuantilePlan"/>,
/// histogram counts, robust relative error). Both passes run over chunks in parallel; chunk results merge in index
/// order, so the numbers are the same whatever the thread count. float32, float16 and bfloat16 data go through the
/// SIMD kernels; float64 and integer data through the scalar double-precision path (their quantiles and histograms
/// are taken at float32 precision).
/// Memory: at most one full-size temporary (only when a quantile bracket misses), plus one chunk of scratch per thread.
/// </summary>
internal static class ComparisonEngine
{
    public const int ChunkSize = 1 << 18;
    private static readonly double[] Percentiles = [0.5, 0.9, 0.95, 0.99];

    /// <summary>Quantities that get quantiles and histograms, with their names for messages.</summary>
    private static readonly Quantity[] Summarized = [Quantity.Abs, Quantity.Rel, Quantity.Ref, Quantity.Cand, Quantity.RobustRel];

    public static ComparisonMetrics Run(TensorData reference, TensorData candidate, double atol, double rtol, double userQuantile, int? threads = null)
    {
        long n = reference.ElementCount;
        var p = new KernelParams(atol, rtol);
        bool simd = IsFloat32Like(reference.ElementType) && IsFloat32Like(candidate.ElementType);
        var rs = simd ? new FloatSource(reference) : null;
        var cs = simd ? new FloatSource(candidate) : null;
        int chunks = (int)((n + ChunkSize - 1) / ChunkSize);
        bool needScratch = simd && (rs!.NeedsScratch || cs!.NeedsScratch);
        Func<Scratch> newScratch = () => needScratch ? NewScratch() : NoScratch;
        var po = new ParallelOptions { MaxDegreeOfParallelism = threads ?? (n < 4 * ChunkSize ? 1 : Environment.ProcessorCount) };

        // ---- pass 1 --------------------------------------------------------------------------------------------
        var p1 = new Pass1Acc[Math.Max(1, chunks)];
        for (int k = 0; k < p1.Length; k++) p1[k] = Pass1Acc.Empty;
        Parallel.For(0, chunks, po, newScratch, (k, _, scratch) =>
        {
            long start = (long)k * ChunkSize;
            int len = (int)Math.Min(ChunkSize, n - start);
            var acc = Pass1Acc.Empty;
            if (simd)
            {
                var r = rs!.Chunk(start, len, scratch.R);
                var c = cs!.Chunk(start, len, scratch.C);
                Pass1Kernel.Run(r, c, start, p, ref acc);
            }
            else
            {
                for (long i = start; i < start + len; i++) acc.AddScalar(reference.GetDouble(i), candidate.GetDouble(i), i, p);
            }
            p1[k] = acc;
            return scratch;
        }, _ => { });
        var a = Pass1Acc.Empty;
        foreach (var part in p1) a.Merge(part);

        // ---- plan pass 2 from a sample -------------------------------------------------------------------------
        double refPeak = Math.Max(Math.Abs(Finite(a.RefMin)), Math.Abs(Finite(a.RefMax)));
        float floor = (float)Math.Max(refPeak * ComparisonMetrics.RobustFloorFraction, float.Epsilon);
        var plan = new Pass2Plan { RobustFloor = floor };
        long[] counts = [n, n, a.RefFinite, a.CandFinite, n];
        var samples = Sample(reference, candidate, rs, cs, n, floor);
        var qplans = new QuantilePlan?[Pass2Plan.QuantityCount];
        var hists = new HistogramPlan?[Pass2Plan.QuantityCount];
        var lt = new List<float>[Pass2Plan.QuantityCount];
        var le = new List<float>[Pass2Plan.QuantityCount];
        foreach (var q in Summarized)
        {
            int qi = (int)q;
            long nq = counts[qi];
            var ranks = new List<long>();
            foreach (var pct in Percentiles.Append(userQuantile))
            {
                var (k0, k1, _) = QuantilePlan.Ranks(nq, pct);
                ranks.Add(k0);
                ranks.Add(k1);
            }
            qplans[qi] = new QuantilePlan(nq, nq <= QuantilePlan.SampleSize ? [] : samples[qi], ranks);
            lt[qi] = [.. qplans[qi]!.LtThresholds];
            le[qi] = [.. qplans[qi]!.LeThresholds];
            hists[qi] = q switch
            {
                Quantity.Ref => HistogramPlan.Linear(a.RefMin, a.RefMax, a.RefFinite),
                Quantity.Cand => HistogramPlan.Linear(a.CandMin, a.CandMax, a.CandFinite),
                Quantity.Abs => HistogramPlan.Decades(a.MinPosAbs, a.MaxFinAbs),
                Quantity.Rel => HistogramPlan.Decades(a.MinPosRel, a.MaxFinRel),
                _ => null,
            };
            if (hists[qi] is { } h)
            {
                h.LeOffset = le[qi].Count;
                le[qi].AddRange(h.LeEdges);
                h.LtOffset = lt[qi].Count;
                lt[qi].AddRange(h.LtEdges);
            }
            plan.Collect[qi] = [.. qplans[qi]!.Brackets];
        }
        for (int qi = 0; qi < Pass2Plan.QuantityCount; qi++)
        {
            plan.Lt[qi] = lt[qi]?.ToArray() ?? [];
            plan.Le[qi] = le[qi]?.ToArray() ?? [];
        }

        // ---- pass 2 --------------------------------------------------------------------------------------------
        var p2 = new Pass2Acc[Math.Max(1, chunks)];
        Parallel.For(0, chunks, po, newScratch, (k, _, scratch) =>
        {
            long start = (long)k * ChunkSize;
            int len = (int)Math.Min(ChunkSize, n - start);
            var acc = new Pass2Acc(plan);
            if (simd)
            {
                var r = rs!.Chunk(start, len, scratch.R);
                var c = cs!.Chunk(start, len, scratch.C);
                Pass2Kernel.Run(r, c, start, plan, acc);
            }
            else
            {
                Span<float> qs = stackalloc float[Pass2Plan.QuantityCount];
                for (long i = start; i < start + len; i++)
                {
                    DoubleQuantities(reference.GetDouble(i), candidate.GetDouble(i), floor, qs);
                    Pass2Kernel.AddScalar(qs, i, plan, acc);
                }
            }
            p2[k] = acc;
            return scratch;
        }, _ => { });
        var b = new Pass2Acc(plan);
        foreach (var part in p2) if (part is not null) b.Merge(part);

        // ---- resolve -------------------------------------------------------------------------------------------
        var dists = new Distribution[Pass2Plan.QuantityCount];
        foreach (var q in Summarized)
        {
            int qi = (int)q;
            var values = qplans[qi]!.Resolve(b.LtCount[qi], 0, b.LeCount[qi], 0, b.Collected[qi])
                         ?? FullSelection(reference, candidate, rs, cs, q, floor, counts[qi], qplans[qi]!);
            double Quant(double pct)
            {
                var (k0, k1, frac) = QuantilePlan.Ranks(counts[qi], pct);
                return k0 < 0 ? double.NaN : QuantilePlan.Interpolate(values[k0], values[k1], frac);
            }
            dists[qi] = q switch
            {
                Quantity.Abs => Dist(counts[qi], 0, a.MaxAbs, a.SumAbs, a.SumAbsSq, n - a.InfAbs, Quant, userQuantile),
                Quantity.Rel => Dist(counts[qi], 0, a.MaxRel, a.SumRel, a.SumRelSq, n - a.InfRel, Quant, userQuantile),
                Quantity.Ref => Dist(counts[qi], a.RefMin, a.RefMax, a.RefSum, a.RefSumSq, a.RefFinite, Quant, userQuantile),
                Quantity.Cand => Dist(counts[qi], a.CandMin, a.CandMax, a.CandSum, a.CandSumSq, a.CandFinite, Quant, userQuantile),
                _ => Dist(counts[qi], 0, b.RobustMax, b.RobustSum, double.NaN, n - b.RobustInf, Quant, userQuantile),
            };
        }

        double mse = a.DiffSq / Math.Max(1, Math.Min(a.RefFinite, a.CandFinite));
        return new ComparisonMetrics
        {
            Count = n,
            Mismatches = a.Mismatch,
            AbsError = dists[0],
            RelError = dists[1],
            Reference = dists[2],
            Candidate = dists[3],
            RobustRelError = dists[4],
            RobustFloor = floor,
            InfiniteAbsErrors = a.InfAbs,
            InfiniteRelErrors = a.InfRel,
            WorstAbs = n == 0 ? null : Worst(reference, candidate, a.MaxAbsIndex),
            WorstRel = n == 0 ? null : Worst(reference, candidate, a.MaxRelIndex),
            NeededAtol = a.NeedAtol,
            NeededRtol = a.NeedRtol,
            CosineSimilarity = a.RefSq == 0 && a.CandSq == 0 ? 1 : a.Dot / Math.Sqrt(a.RefSq * a.CandSq),
            RelativeL2 = a.RefSq == 0 ? (a.DiffSq == 0 ? 0 : double.PositiveInfinity) : Math.Sqrt(a.DiffSq / a.RefSq),
            SnrDb = a.DiffSq == 0 ? double.PositiveInfinity : 10 * Math.Log10(a.RefSq / a.DiffSq),
            PsnrDb = mse == 0 ? double.PositiveInfinity : 10 * Math.Log10(refPeak * refPeak / mse),
            NanReference = a.NanRef,
            NanCandidate = a.NanCand,
            InfReference = a.InfRef,
            InfCandidate = a.InfCand,
            AbsHistogram = hists[0]?.Read(b.LtCount[0], b.LeCount[0], counts[0]),
            RelHistogram = hists[1]?.Read(b.LtCount[1], b.LeCount[1], counts[1]),
            ReferenceHistogram = hists[2]?.Read(b.LtCount[2], b.LeCount[2], counts[2]),
            CandidateHistogram = hists[3]?.Read(b.LtCount[3], b.LeCount[3], counts[3]),
        };
    }

    private static bool IsFloat32Like(ElementType t) => t is ElementType.Float or ElementType.Float16 or ElementType.BFloat16;

    /// <summary>Per-thread chunk buffers for widening float16/bfloat16 (unused, and not allocated, for float32).</summary>
    private sealed record Scratch(float[] R, float[] C);

    private static Scratch NewScratch() => new(new float[ChunkSize], new float[ChunkSize]);
    private static readonly Scratch NoScratch = new([], []);

    private static double Finite(double v) => double.IsFinite(v) ? v : 0;

    private static Distribution Dist(long count, double min, double max, double sum, double sumSq, long finite, Func<double, double> quant, double userQ)
    {
        if (count == 0) return Distribution.Empty;
        double mean = finite > 0 ? sum / finite : double.NaN;
        double std = finite > 0 && !double.IsNaN(sumSq) ? Math.Sqrt(Math.Max(0, sumSq / finite - mean * mean)) : double.NaN;
        return new Distribution(count, min, max, mean, std, quant(0.5), quant(0.9), quant(0.95), quant(0.99), quant(userQ));
    }

    private static WorstElement Worst(TensorData r, TensorData c, long index)
    {
        if (index < 0) index = 0;
        double rv = r.GetDouble(index), cv = c.GetDouble(index);
        double abs = ErrorMath.AbsError(rv, cv);
        return new WorstElement(index, r.Shape.FormatIndex(index), r.FormatElement(index), c.FormatElement(index), abs, ErrorMath.RelError(abs, rv));
    }

    private static void DoubleQuantities(double r, double c, float floor, Span<float> q)
    {
        double abs = ErrorMath.AbsError(r, c);
        q[0] = (float)abs;
        q[1] = (float)ErrorMath.RelError(abs, r);
        q[2] = double.IsFinite(r) ? (float)r : float.NaN;
        q[3] = double.IsFinite(c) ? (float)c : float.NaN;
        q[4] = (float)ErrorMath.RobustRel(abs, r, floor);
    }

    private static void Quantities(TensorData r, TensorData c, FloatSource? rs, FloatSource? cs, long i, float floor, Span<float> q)
    {
        if (rs is not null) Pass2Kernel.Quantities(rs.At(i), cs!.At(i), floor, q);
        else DoubleQuantities(r.GetDouble(i), c.GetDouble(i), floor, q);
    }

    /// <summary>Sorted samples of each quantity at fixed-seed random positions (NaN, i.e. excluded, values dropped).</summary>
    private static float[][] Sample(TensorData r, TensorData c, FloatSource? rs, FloatSource? cs, long n, float floor)
    {
        var lists = Enumerable.Range(0, Pass2Plan.QuantityCount).Select(_ => new List<float>(QuantilePlan.SampleSize)).ToArray();
        if (n > QuantilePlan.SampleSize)
        {
            ulong state = 0x9E3779B97F4A7C15UL;
            Span<float> q = stackalloc float[Pass2Plan.QuantityCount];
            for (int s = 0; s < QuantilePlan.SampleSize; s++)
            {
                state += 0x9E3779B97F4A7C15UL;
                ulong z = state;
                z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
                z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
                z ^= z >> 31;
                long i = (long)(z % (ulong)n);
                Quantities(r, c, rs, cs, i, floor, q);
                for (int k = 0; k < q.Length; k++) if (!float.IsNaN(q[k])) lists[k].Add(q[k]);
            }
        }
        return lists.Select(l => { var arr = l.ToArray(); Array.Sort(arr); return arr; }).ToArray();
    }

    /// <summary>The fallback: every value of one quantity in one temporary array, then selection for each rank.</summary>
    private static Dictionary<long, float> FullSelection(TensorData r, TensorData c, FloatSource? rs, FloatSource? cs, Quantity quantity, float floor, long count, QuantilePlan plan)
    {
        var all = new float[count];
        long w = 0;
        Span<float> q = stackalloc float[Pass2Plan.QuantityCount];
        for (long i = 0; i < r.ElementCount; i++)
        {
            Quantities(r, c, rs, cs, i, floor, q);
            float v = q[(int)quantity];
            if (!float.IsNaN(v)) all[w++] = v;
        }
        var result = new Dictionary<long, float>();
        foreach (var k in plan.PlannedRanks) result[k] = Select.Nth<float>(all, (int)k);
        return result;
    }
}
