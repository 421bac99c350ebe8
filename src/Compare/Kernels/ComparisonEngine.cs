using PolyNet.Onnx;

namespace PolyNet.Compare.Kernels;

/// <summary>
/// Computes <see cref="ComparisonMetrics"/> for two numeric tensors of equal length in one pass over the data
/// (<see cref="FusedKernel"/>), after a small fixed-seed sample that places the quantile brackets
/// (<see cref="QuantilePlan"/>). The pass runs over chunks in parallel; chunk results merge in index order, so the
/// numbers are the same whatever the thread count. float32, float16 and bfloat16 data go through the SIMD kernel
/// (float16 and bfloat16 widened chunk by chunk, exactly); float64 and integer data through the scalar
/// double-precision path, whose quantiles and histograms are taken at float32 precision.
/// Memory: per thread, one chunk of scratch (only for 16-bit types) and the values kept inside brackets; one full-size
/// temporary only if a bracket misses its rank.
/// </summary>
internal static class ComparisonEngine
{
    public const int ChunkSize = 1 << 18;
    private static readonly double[] Percentiles = [0.5, 0.9, 0.95, 0.99];

    public static ComparisonMetrics Run(TensorData reference, TensorData candidate, double atol, double rtol, double userQuantile, int? threads = null)
    {
        long n = reference.ElementCount;
        bool simd = IsFloat32Like(reference.ElementType) && IsFloat32Like(candidate.ElementType);
        var rs = simd ? new FloatSource(reference) : null;
        var cs = simd ? new FloatSource(candidate) : null;
        var po = new ParallelOptions { MaxDegreeOfParallelism = threads ?? (n < 4 * ChunkSize ? 1 : Environment.ProcessorCount) };

        // ---- sample, robust floor, brackets ----------------------------------------------------------------------
        var (samples, peak) = Sample(reference, candidate, rs, cs, n, po);
        float floor = (float)Math.Max(peak * ComparisonMetrics.RobustFloorFraction, float.Epsilon);
        var qplans = new QuantilePlan[FusedPlan.Quantities];
        // Value quantities count finite values only; their exact count is known after the pass, so brackets are
        // planned on n and resolved on the true count (the ranks shift a little when non-finite values exist, and
        // the brackets' margins hold them; a rank outside every bracket falls back to a full selection).
        for (int q = 0; q < FusedPlan.Quantities; q++) qplans[q] = new QuantilePlan(n, samples[q], WantedRanks(n, userQuantile));
        var plan = new FusedPlan { Atol = atol, Rtol = rtol, RobustFloor = floor, Brackets = qplans.Select(p => p.Brackets).ToArray(), ExpectedKept = qplans.Select(p => p.ExpectedKept).ToArray() };

        // ---- the pass --------------------------------------------------------------------------------------------
        int chunks = (int)((n + ChunkSize - 1) / ChunkSize);
        var parts = new FusedAcc[chunks];
        bool widen = simd && (rs!.NeedsScratch || cs!.NeedsScratch);
        var states = new List<FusedThreadState>();
        var gate = new Lock();
        int workers = po.MaxDegreeOfParallelism;
        Parallel.For(0, chunks, po, () => new FusedThreadState(plan, simd, widen, workers), (k, _, state) =>
        {
            long start = (long)k * ChunkSize;
            int len = (int)Math.Min(ChunkSize, n - start);
            var acc = new FusedAcc(plan);
            if (simd)
                FusedKernel.Run(rs!.Chunk(start, len, state.R), cs!.Chunk(start, len, state.C), start, plan, acc, state);
            else
                for (long i = start; i < start + len; i++) acc.AddDouble(reference.GetDouble(i), candidate.GetDouble(i), i, plan, state);
            parts[k] = acc;
            return state;
        }, state => { lock (gate) states.Add(state); });
        var a = new FusedAcc(plan);
        var histogram = Enumerable.Range(0, FusedPlan.Quantities).Select(_ => new long[FusedPlan.HistogramBins]).ToArray();
        foreach (var state in states)
        {
            // Integer counts: the sum over threads is the same whatever the split.
            if (simd) FusedKernel.FoldJoint(state.ErrorPairs, state.ValuePairs, histogram);
            for (int q = 0; q < FusedPlan.Quantities; q++)
                for (int b = 0; b < FusedPlan.HistogramBins; b++) histogram[q][b] += state.Histogram[q][b];
        }
        foreach (var part in parts) a.Merge(part);
        // ---- exact quantiles -------------------------------------------------------------------------------------
        long[] counts = [n, n, a.RefFinite, a.CandFinite];
        var dists = new Distribution[FusedPlan.Quantities];
        Parallel.For(0, FusedPlan.Quantities, po, q =>
        {
            long nq = counts[q];
            var wanted = WantedRanks(nq, userQuantile);
            var values = qplans[q].Resolve(nq, wanted, a.Ge[q], a.Gt[q], a.Le[q], a.Lt[q],
                Enumerable.Range(0, plan.Brackets[q].Length).Select(j => (IReadOnlyList<FloatBuffer>)states.Select(t => t.Kept[q][j]).ToList()).ToArray());
            values ??= FullSelection(reference, candidate, rs, cs, (Quantity)q, nq, wanted);
            double Quant(double pct)
            {
                var (k0, k1, frac) = QuantilePlan.Ranks(nq, pct);
                return k0 < 0 ? double.NaN : QuantilePlan.Interpolate(values[k0], values[k1], frac);
            }
            dists[q] = (Quantity)q switch
            {
                Quantity.Abs => Dist(nq, a.MinAbs, a.MaxAbs, a.SumAbs, a.SumAbsSq, n - a.InfAbs, Quant, userQuantile),
                Quantity.Rel => Dist(nq, a.MinRel, a.MaxRel, a.SumRel, a.SumRelSq, n - a.InfRel, Quant, userQuantile),
                Quantity.Ref => Dist(nq, a.RefMin, a.RefMax, a.RefSum, a.RefSumSq, a.RefFinite, Quant, userQuantile),
                _ => Dist(nq, a.CandMin, a.CandMax, a.CandSum, a.CandSumSq, a.CandFinite, Quant, userQuantile),
            };
        });
        long finiteAbs = n - a.InfAbs;
        var robust = n == 0 ? Distribution.Empty : new Distribution(n, 0, a.RobustMax, n - a.RobustInf > 0 ? a.RobustSum / (n - a.RobustInf) : double.NaN,
            double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        double peakRef = Math.Max(Math.Abs(Finite(a.RefMin)), Math.Abs(Finite(a.RefMax)));
        double mse = finiteAbs > 0 ? a.SumAbsSq / finiteAbs : double.NaN;
        foreach (var state in states) state.Dispose();
        return new ComparisonMetrics
        {
            Count = n,
            Mismatches = a.Mismatch,
            AbsError = dists[0],
            RelError = dists[1],
            Reference = dists[2],
            Candidate = dists[3],
            RobustRelError = robust,
            RobustFloor = floor,
            InfiniteAbsErrors = a.InfAbs,
            InfiniteRelErrors = a.InfRel,
            WorstAbs = n == 0 ? null : Worst(reference, candidate, a.MaxAbsIndex),
            WorstRel = n == 0 ? null : Worst(reference, candidate, a.MaxRelIndex),
            NeededAtol = a.NeedAtol,
            NeededRtol = a.NeedRtol,
            CosineSimilarity = a.RefSq == 0 && a.CandSq == 0 ? 1 : a.Dot / Math.Sqrt(a.RefSq * a.CandSq),
            RelativeL2 = a.RefSq == 0 ? (a.SumAbsSq == 0 ? 0 : double.PositiveInfinity) : Math.Sqrt(a.SumAbsSq / a.RefSq),
            SnrDb = a.SumAbsSq == 0 ? double.PositiveInfinity : 10 * Math.Log10(a.RefSq / a.SumAbsSq),
            PsnrDb = mse == 0 ? double.PositiveInfinity : 10 * Math.Log10(peakRef * peakRef / mse),
            NanReference = a.NanRef,
            NanCandidate = a.NanCand,
            InfReference = n - a.RefFinite - a.NanRef,
            InfCandidate = n - a.CandFinite - a.NanCand,
            AbsHistogram = OctaveHistogram.ReadErrors(histogram[0], a.ZeroAbs, a.InfAbs),
            RelHistogram = OctaveHistogram.ReadErrors(histogram[1], a.ZeroAbs, a.InfRel),
            ReferenceHistogram = OctaveHistogram.ReadValues(histogram[2]),
            CandidateHistogram = OctaveHistogram.ReadValues(histogram[3]),
        };
    }

    /// <summary>The ranks numpy's linear quantiles read for p50, p90, p95, p99 and the user's quantile, of n values.</summary>
    private static List<long> WantedRanks(long n, double userQuantile)
    {
        var ranks = new List<long>();
        foreach (var pct in Percentiles.Append(userQuantile))
        {
            var (k0, k1, _) = QuantilePlan.Ranks(n, pct);
            if (k0 < 0) continue;
            ranks.Add(k0);
            ranks.Add(k1);
        }
        return ranks;
    }

    private static bool IsFloat32Like(ElementType t) => t is ElementType.Float or ElementType.Float16 or ElementType.BFloat16;


    private static double Finite(double v) => double.IsFinite(v) ? v : 0;

    private static Distribution Dist(long count, double min, double max, double sum, double sumSq, long finite, Func<double, double> quant, double userQ)
    {
        if (count == 0) return Distribution.Empty;
        double mean = finite > 0 ? sum / finite : double.NaN;
        double std = finite > 0 ? Math.Sqrt(Math.Max(0, sumSq / finite - mean * mean)) : double.NaN;
        return new Distribution(count, min, max, mean, std, quant(0.5), quant(0.9), quant(0.95), quant(0.99), quant(userQ));
    }

    private static WorstElement Worst(TensorData r, TensorData c, long index)
    {
        if (index < 0) index = 0;
        double rv = r.GetDouble(index), cv = c.GetDouble(index);
        double abs = ErrorMath.AbsError(rv, cv);
        return new WorstElement(index, r.Shape.FormatIndex(index), r.FormatElement(index), c.FormatElement(index), abs, ErrorMath.RelError(abs, rv));
    }

    /// <summary>The four quantities of element <paramref name="i"/> (NaN where a value is not finite).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void Quantities(TensorData r, TensorData c, FloatSource? rs, FloatSource? cs, long i, Span<float> q)
    {
        if (rs is not null)
        {
            float rv = rs.At(i), cv = cs!.At(i);
            float abs = FusedKernel.AbsF(rv, cv);
            q[0] = abs;
            q[1] = FusedKernel.RelF(abs, Math.Abs(rv));
            q[2] = float.IsFinite(rv) ? rv : float.NaN;
            q[3] = float.IsFinite(cv) ? cv : float.NaN;
        }
        else
        {
            double rv = r.GetDouble(i), cv = c.GetDouble(i);
            double abs = ErrorMath.AbsError(rv, cv);
            q[0] = (float)abs;
            q[1] = (float)ErrorMath.RelError(abs, rv);
            q[2] = double.IsFinite(rv) ? (float)rv : float.NaN;
            q[3] = double.IsFinite(cv) ? (float)cv : float.NaN;
        }
    }

    /// <summary>
    /// Sorted samples of each quantity (NaN dropped) and the largest finite |ref| seen. Above <see cref="QuantilePlan.SampleSize"/>
    /// elements: one element at a fixed-seed random position in each of that many equal stretches; otherwise the
    /// samples are empty (every value is kept and selected exactly) and the peak is exact.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static (float[][] Samples, double Peak) Sample(TensorData r, TensorData c, FloatSource? rs, FloatSource? cs, long n, ParallelOptions po)
    {
        int m = QuantilePlan.SampleSize;
        if (n <= m)
        {
            double peak = 0;
            for (long i = 0; i < n; i++) { double v = Math.Abs(r.GetDouble(i)); if (double.IsFinite(v)) peak = Math.Max(peak, v); }
            return (Enumerable.Range(0, FusedPlan.Quantities).Select(_ => Array.Empty<float>()).ToArray(), peak);
        }
        var values = new float[FusedPlan.Quantities][];
        for (int q = 0; q < values.Length; q++) values[q] = new float[m];
        Parallel.For(0, 4, po, part =>
        {
            Span<float> qs = stackalloc float[FusedPlan.Quantities];
            for (int s = part * m / 4; s < (part + 1) * m / 4; s++)
            {
                long start = n * s / m, end = n * (s + 1) / m;
                ulong z = Runners.Inputs.SplitMix64.Finalize(0x5DEECE66DUL + (ulong)s);
                long i = start + (long)(z % (ulong)(end - start));
                Quantities(r, c, rs, cs, i, qs);
                for (int q = 0; q < qs.Length; q++) values[q][s] = qs[q];
            }
        });
        double peakSample = 0;
        foreach (var v in values[2]) if (!float.IsNaN(v)) peakSample = Math.Max(peakSample, Math.Abs(v));
        var sorted = new float[FusedPlan.Quantities][];
        Parallel.For(0, FusedPlan.Quantities, po, q =>
        {
            var list = values[q].Where(v => !float.IsNaN(v)).ToArray();
            Array.Sort(list);
            sorted[q] = list;
        });
        return (sorted, peakSample);
    }

    /// <summary>How many times <see cref="FullSelection"/> ran in this process (tests check the brackets held).</summary>
    internal static long FullSelections;

    /// <summary>The fallback: every value of one quantity in one temporary array, then selection for each rank.</summary>
    private static Dictionary<long, float> FullSelection(TensorData r, TensorData c, FloatSource? rs, FloatSource? cs, Quantity quantity, long count, List<long> ranks)
    {
        Interlocked.Increment(ref FullSelections);
        var all = new float[count];
        long w = 0;
        Span<float> q = stackalloc float[FusedPlan.Quantities];
        for (long i = 0; i < r.ElementCount; i++)
        {
            Quantities(r, c, rs, cs, i, q);
            float v = q[(int)quantity];
            if (!float.IsNaN(v)) all[w++] = v;
        }
        var sorted = ranks.Distinct().Order().Select(k => (int)k).ToArray();
        var values = new float[sorted.Length];
        Select.Ranks(all, sorted, values);
        return sorted.Select((k, i) => (k, i)).ToDictionary(t => (long)t.k, t => values[t.i]);
    }
}
