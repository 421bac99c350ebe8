using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using PolyNet.Onnx;

namespace PolyNet.Compare.Kernels;

/// <summary>
/// Computes <see cref="ComparisonMetrics"/> for two numeric tensors of equal length in two passes over the data
/// (<see cref="FusedKernel"/>): the first computes everything but the robust error and counts each quantity per radix
/// bin; the second computes the robust error (its floor needs the largest |ref|) and looks again only at the values in
/// the bins that hold the wanted ranks (<see cref="RadixQuantiles"/>), so quantiles are exact without sorting or
/// sampling. Passes run over chunks in parallel; chunk results merge in index order, so the numbers are the same
/// whatever the thread count. float32, float16 and bfloat16 data go through the SIMD kernel (float16 and bfloat16
/// widened chunk by chunk, exactly); float64 and integer data through the scalar double-precision path, whose
/// quantiles and histograms are taken at float32 precision.
/// Memory: per thread, four 256 KiB radix tables, one chunk of scratch (only for 16-bit types), the values kept in
/// target bins, small byte-count tables and, for a quantity with a bin of heavy ties, 256 KiB of low-bit counts per
/// target; never a full-size temporary.
/// </summary>
internal static class ComparisonEngine
{
    public const int ChunkSize = 1 << 18;

    /// <summary>Benchmarks only: called with each phase's name and seconds (first pass, plan, second pass, quantiles).</summary>
    internal static Action<string, double>? PhaseTimes;
    private static readonly double[] Percentiles = [0.5, 0.9, 0.95, 0.99];

    public static ComparisonMetrics Run(TensorData reference, TensorData candidate, double atol, double rtol, double userQuantile, int? threads = null)
    {
        // Radix counts are 32-bit: a bin could otherwise overflow (possible only for 4-bit types, two per byte).
        if (reference.ElementCount > int.MaxValue)
            throw new NotSupportedException($"comparing {reference.ElementCount} elements: tensors of more than {int.MaxValue} elements are not supported");
        var states = new List<FusedThreadState>();
        try
        {
            return Run(reference, candidate, atol, rtol, userQuantile, threads, states);
        }
        finally
        {
            // Pooled buffers go back even when a pass throws.
            foreach (var state in states) state.Dispose();
        }
    }

    private static ComparisonMetrics Run(TensorData reference, TensorData candidate, double atol, double rtol, double userQuantile, int? threads, List<FusedThreadState> states)
    {
        long n = reference.ElementCount;
        bool simd = IsFloat32Like(reference.ElementType) && IsFloat32Like(candidate.ElementType);
        var rs = simd ? new FloatSource(reference) : null;
        var cs = simd ? new FloatSource(candidate) : null;
        var po = new ParallelOptions { MaxDegreeOfParallelism = threads ?? (n < 4 * ChunkSize ? 1 : Environment.ProcessorCount) };
        var plan = new FusedPlan { Atol = atol, Rtol = rtol, Radix = n > RadixQuantiles.DirectLimit, LeanBlocks = new bool[(n + FusedKernel.Block - 1) / FusedKernel.Block] };
        int chunks = (int)((n + ChunkSize - 1) / ChunkSize);
        bool widen = simd && (rs!.NeedsScratch || cs!.NeedsScratch);
        var gate = new Lock();
        int workers = po.MaxDegreeOfParallelism;

        // Both passes: chunks in parallel, one state per worker thread, reused by the second pass.
        var pool = new System.Collections.Concurrent.ConcurrentBag<FusedThreadState>();
        void Pass(Action<long, int, FusedThreadState> body) => Parallel.For(0, chunks, po, () =>
        {
            if (!pool.TryTake(out var state))
            {
                state = new FusedThreadState(plan, simd, widen, workers, n);
                lock (gate) states.Add(state);
            }
            return state;
        }, (k, _, state) =>
        {
            long start = (long)k * ChunkSize;
            body(start, (int)Math.Min(ChunkSize, n - start), state);
            return state;
        }, pool.Add);

        long phase = System.Diagnostics.Stopwatch.GetTimestamp();
        void Phase(string name)
        {
            if (PhaseTimes is null) return;
            long now = System.Diagnostics.Stopwatch.GetTimestamp();
            PhaseTimes(name, System.Diagnostics.Stopwatch.GetElapsedTime(phase, now).TotalSeconds);
            phase = now;
        }

        // ---- first pass ------------------------------------------------------------------------------------------
        var parts = new FusedAcc[chunks];
        Pass((start, len, state) =>
        {
            var acc = new FusedAcc();
            if (simd)
                FusedKernel.Run(rs!.Chunk(start, len, state.R), cs!.Chunk(start, len, state.C), start, plan, acc, state);
            else
                for (long i = start; i < start + len; i++) acc.AddDouble(reference.GetDouble(i), candidate.GetDouble(i), i, plan, state);
            parts[(int)(start / ChunkSize)] = acc;
        });
        var a = new FusedAcc();
        foreach (var part in parts) a.Merge(part);
        double peakRef = Math.Max(Math.Abs(Finite(a.RefMin)), Math.Abs(Finite(a.RefMax)));
        plan.RobustFloor = (float)Math.Max(peakRef * ComparisonMetrics.RobustFloorFraction, float.Epsilon);

        Phase("first pass");
        // Cosine, relative L2, SNR and PSNR are sums over pairs finite on both sides; with none, there is nothing to
        // measure (NaN, never a perfect score for a broken output). An element NaN on one side only has no error a
        // number can give: the kernels count its error as +inf (a mismatch, the largest), so the error quantiles over
        // the other elements are the ranks below those.
        var (pairs, nanPairs) = a.RefFinite == n && a.CandFinite == n ? (n, 0L) : FinitePairs(reference, candidate);

        // ---- radix counts: histograms, and the bins that hold wanted ranks ----------------------------------------
        long[] counts = [n - nanPairs, n - nanPairs, a.RefFinite, a.CandFinite];
        double[] mins = [a.MinAbs, a.MinRel, a.RefMin, a.CandMin], maxs = [a.MaxAbs, a.MaxRel, a.RefMax, a.CandMax];
        var histogram = Enumerable.Range(0, FusedPlan.Quantities).Select(_ => new long[FusedPlan.HistogramBins]).ToArray();
        var where = new Dictionary<long, (int, long)>[FusedPlan.Quantities];
        var targets = new RadixTarget[FusedPlan.Quantities][];
        var knownValues = Enumerable.Range(0, FusedPlan.Quantities).Select(_ => new Dictionary<long, float>()).ToArray();
        for (int q = 0; q < FusedPlan.Quantities; q++)
        {
            foreach (var state in states)
                for (int b = 0; b < FusedPlan.HistogramBins; b++) histogram[q][b] += state.Histogram[q][b];
            if (!plan.Radix) { targets[q] = []; continue; }
            // The threads' counts summed into the first thread's table (the states are disposed below). Sums fit in
            // int: no count exceeds the element count, which spans keep below 2^31. The candidate's table holds its
            // counts minus the reference's, so the reference's sum is added to it.
            var radix = states[0].Radix[q].AsSpan(0, RadixQuantiles.Bins);
            for (int t = 1; t < states.Count; t++) System.Numerics.Tensors.TensorPrimitives.Add(radix, states[t].Radix[q].AsSpan(0, RadixQuantiles.Bins), radix);
            if (q == 3) System.Numerics.Tensors.TensorPrimitives.Add(radix, states[0].Radix[2].AsSpan(0, RadixQuantiles.Bins), radix);
            foreach (int b in RadixQuantiles.BinsInOrder)
                if (radix[b] != 0) histogram[q][RadixQuantiles.Octave(b)] += radix[b];
            // Exact +0s: every exact error is one (abs, and rel through them: the +0 bin holding no more values than
            // there are exact errors holds only those); a side's are counted only when its +0 bin is heavy.
            long plusZeros = q < 2 ? a.ZeroAbs : radix[0] > RadixQuantiles.KeepLimit && rs is { NeedsScratch: false } ? PlusZeros(q == 2 ? reference : candidate, po) : -1;
            Dictionary<long, float> known;
            (targets[q], where[q], known) = RadixQuantiles.Plan(radix, WantedRanks(counts[q], userQuantile), mins[q] == maxs[q], plusZeros);
            foreach (var (k, v) in known) knownValues[q][k] = v;
        }
        plan.Targets = targets;

        Phase("plan");
        // ---- second pass -----------------------------------------------------------------------------------------
        var robustParts = new RobustAcc[chunks];
        Pass((start, len, state) =>
        {
            var acc = new RobustAcc();
            if (simd)
                FusedKernel.Run2(rs!.Chunk(start, len, state.R), cs!.Chunk(start, len, state.C), start, plan, acc, state);
            else
            {
                state.PrepareTargets(plan);
                for (long i = start; i < start + len; i++) acc.AddDouble(reference.GetDouble(i), candidate.GetDouble(i), plan, state);
            }
            robustParts[(int)(start / ChunkSize)] = acc;
        });
        var rob = new RobustAcc();
        foreach (var part in robustParts) rob.Merge(part);

        Phase("second pass");
        // ---- exact quantiles -------------------------------------------------------------------------------------
        var values = plan.Radix ? RadixQuantiles.Resolve(targets, where, states, po) : new Dictionary<long, float>[FusedPlan.Quantities];
        if (plan.Radix) for (int q = 0; q < FusedPlan.Quantities; q++) foreach (var (k, v) in knownValues[q]) values[q][k] = v;
        Parallel.For(0, FusedPlan.Quantities, po, q =>
        {
            var wanted = WantedRanks(counts[q], userQuantile);
            if (counts[q] == 0) values[q] = [];
            else if (!plan.Radix) values[q] = RadixQuantiles.Direct(states.Select(s => s.All[q]).ToList(), wanted);
            else if (targets[q].Length == 0) foreach (var k in wanted) values[q][k] = (float)mins[q];
        });
        var dists = new Distribution[FusedPlan.Quantities];
        for (int q = 0; q < FusedPlan.Quantities; q++)
        {
            long nq = counts[q];
            var vq = values[q];
            double Quant(double pct)
            {
                var (k0, k1, frac) = Ranks(nq, pct);
                return k0 < 0 ? double.NaN : Interpolate(vq[k0], vq[k1], frac);
            }
            dists[q] = (Quantity)q switch
            {
                Quantity.Abs => Dist(nq, a.MinAbs, a.MaxAbs, a.SumAbs, a.SumAbsSq, n - a.InfAbs, Quant, userQuantile),
                Quantity.Rel => Dist(nq, a.MinRel, a.MaxRel, a.SumRel, a.SumRelSq, n - a.InfRel, Quant, userQuantile),
                Quantity.Ref => Dist(nq, a.RefMin, a.RefMax, a.RefSum, a.RefSumSq, a.RefFinite, Quant, userQuantile),
                _ => Dist(nq, a.CandMin, a.CandMax, a.CandSum, a.CandSumSq, a.CandFinite, Quant, userQuantile),
            };
        }
        Phase("quantiles");
        if (nanPairs > 0)
            for (int q = 0; q < 2; q++) dists[q] = dists[q] with { Max = double.NaN };
        var robust = n == 0 ? Distribution.Empty : new Distribution(n, 0, rob.Max, n - rob.Inf > 0 ? rob.Sum / (n - rob.Inf) : double.NaN,
            double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        double mse = pairs > 0 ? a.SumAbsSq / pairs : double.NaN;
        return new ComparisonMetrics
        {
            Count = n,
            Mismatches = a.Mismatch,
            AbsError = dists[0],
            RelError = dists[1],
            Reference = dists[2],
            Candidate = dists[3],
            RobustRelError = robust,
            RobustFloor = plan.RobustFloor,
            InfiniteAbsErrors = a.InfAbs,
            InfiniteRelErrors = a.InfRel,
            WorstAbs = n == 0 ? null : Worst(reference, candidate, a.MaxAbsIndex),
            WorstRel = n == 0 ? null : Worst(reference, candidate, a.MaxRelIndex),
            NeededAtol = a.NeedAtol,
            NeededRtol = a.NeedRtol,
            SimilarityPairs = pairs,
            // One element has no direction to compare (its cosine is ±1 whatever the values): NaN, as with none.
            CosineSimilarity = pairs < 2 && n > 0 ? double.NaN : a.RefSq == 0 && a.CandSq == 0 ? 1 : Math.Clamp(a.Dot / Math.Sqrt(a.RefSq * a.CandSq), -1, 1),
            RelativeL2 = pairs == 0 && n > 0 ? double.NaN : a.RefSq == 0 ? (a.SumAbsSq == 0 ? 0 : double.PositiveInfinity) : Math.Sqrt(a.SumAbsSq / a.RefSq),
            SnrDb = pairs == 0 && n > 0 ? double.NaN : a.SumAbsSq == 0 ? double.PositiveInfinity : 10 * Math.Log10(a.RefSq / a.SumAbsSq),
            PsnrDb = pairs == 0 && n > 0 ? double.NaN : mse == 0 ? double.PositiveInfinity : 10 * Math.Log10(peakRef * peakRef / mse),
            NanReference = a.NanRef,
            NanCandidate = a.NanCand,
            InfReference = n - a.RefFinite - a.NanRef,
            InfCandidate = n - a.CandFinite - a.NanCand,
            NanPairs = nanPairs,
            AbsHistogram = OctaveHistogram.ReadErrors(histogram[0], a.ZeroAbs, a.InfAbs - nanPairs, nanPairs),
            RelHistogram = OctaveHistogram.ReadErrors(histogram[1], a.ZeroAbs, a.InfRel - nanPairs, nanPairs),
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
            var (k0, k1, _) = Ranks(n, pct);
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

    /// <summary>Pairs finite on both sides, and pairs NaN on one side only (only called when a side has non-finite values).</summary>
    private static (long Finite, long NanOneSide) FinitePairs(TensorData r, TensorData c)
    {
        long pairs = 0, nan = 0;
        for (long i = 0; i < r.ElementCount; i++)
        {
            double x = r.GetDouble(i), y = c.GetDouble(i);
            if (double.IsFinite(x) && double.IsFinite(y)) pairs++;
            else if (double.IsNaN(x) != double.IsNaN(y)) nan++;
        }
        return (pairs, nan);
    }

    private static WorstElement Worst(TensorData r, TensorData c, long index)
    {
        if (index < 0) index = 0;
        double rv = r.GetDouble(index), cv = c.GetDouble(index);
        double abs = ErrorMath.ReportedAbs(rv, cv);
        return new WorstElement(index, r.Shape.FormatIndex(index), r.FormatElement(index), c.FormatElement(index), abs, ErrorMath.ReportedRel(abs, rv));
    }

    /// <summary>How many float32 elements are exactly +0 (one vector scan, in parallel).</summary>
    private static long PlusZeros(TensorData t, ParallelOptions po)
    {
        long n = t.ElementCount, total = 0;
        int chunks = (int)((n + ChunkSize - 1) / ChunkSize);
        Parallel.For(0, chunks, po, () => 0L, (k, _, sum) =>
        {
            var span = t.Span<uint>().Slice(k * ChunkSize, (int)Math.Min(ChunkSize, n - (long)k * ChunkSize));
            int i = 0;
            var acc = Vector512<uint>.Zero;
            ref uint v = ref MemoryMarshal.GetReference(span);
            for (; i + 16 <= span.Length; i += 16)
                acc -= Vector512.Equals(Vector512.LoadUnsafe(ref v, (nuint)i), Vector512<uint>.Zero);
            long s = 0;
            for (int lane = 0; lane < 16; lane++) s += acc[lane];
            for (; i < span.Length; i++) if (span[i] == 0) s++;
            return sum + s;
        }, s => Interlocked.Add(ref total, s));
        return total;
    }

    /// <summary>numpy's default ("linear") quantile of n sorted values at q: the two ranks it reads and the weight.</summary>
    public static (long K0, long K1, double Frac) Ranks(long n, double q)
    {
        if (n <= 0) return (-1, -1, 0);
        double h = q * (n - 1);
        long k0 = (long)Math.Floor(h);
        long k1 = Math.Min(k0 + 1, n - 1);
        return (k0, k1, h - k0);
    }

    public static double Interpolate(float x0, float x1, double frac)
    {
        if (frac == 0 || x0 == x1) return x0;
        if (float.IsInfinity(x1)) return x1;
        return x0 + frac * ((double)x1 - x0);
    }
}
