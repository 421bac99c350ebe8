using System.Text.Json.Serialization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using PolyNet.Compare.Kernels;
using PolyNet.Onnx;

namespace PolyNet.Compare;

/// <summary>One element with its error.</summary>
public sealed record ElementError(long FlatIndex, string Index, double Reference, double Candidate, double Abs, double Rel);

/// <summary>The error of one channel (index along <see cref="Explanation.ChannelAxis"/>).</summary>
/// <param name="NonFinite">Elements whose error is not a number (NaN or infinity on one side only): <see cref="MaxAbs"/> and
/// <see cref="MeanAbs"/> are over the other elements, NaN when there are none.</param>
public sealed record ChannelError(long Channel, long Count, long Mismatches, double MaxAbs, double MeanAbs, long NonFinite = 0);

/// <summary>The error of the elements whose |reference| lies in [Low, High).</summary>
/// <param name="NonFinite">Elements of the band whose candidate is NaN or infinite (the reference is finite in every band):
/// the means and the maximum are over the other elements, NaN when there are none.</param>
public sealed record MagnitudeBand(double Low, double High, long Count, long Mismatches, double MeanAbs, double MaxAbs, double MeanRel, long NonFinite = 0);

/// <summary>
/// |cand − ref| over a 2-D slice (the last two dimensions, at the leading indices of the worst element), max-pooled to at
/// most <see cref="Explanation.HeatmapSide"/> cells per side. Row-major.
/// </summary>
public sealed record Heatmap(string Slice, int Rows, int Cols, int SourceRows, int SourceCols, [property: JsonIgnore] float[] Values, double Max);

/// <summary>
/// Where the errors of one output sit: the worst elements, the error per channel, the error against the magnitude of
/// the reference, and a heat map. Computed in one extra pass, for failing outputs (and for every output of an HTML
/// report): it costs a scan that passing outputs need not pay.
/// </summary>
public sealed record Explanation
{
    public const int WorstCount = 10;
    public const int HeatmapSide = 128;
    public const int MaxChannels = 4096;

    public required IReadOnlyList<ElementError> Worst { get; init; }
    /// <summary>The axis channels are counted along (1 for 4-D NCHW and 2-D [N, C]; the last axis for 3-D [N, T, C]), or null.</summary>
    public int? ChannelAxis { get; init; }
    public IReadOnlyList<ChannelError> Channels { get; init; } = [];
    public required IReadOnlyList<MagnitudeBand> Magnitudes { get; init; }
    public Heatmap? Heatmap { get; init; }

    public static int? ChannelAxisFor(TensorShape s) => s.Rank switch
    {
        4 or >= 5 => s[1] <= MaxChannels ? 1 : null,
        3 => s[2] <= MaxChannels ? 2 : null,
        2 => s[1] <= MaxChannels ? 1 : null,
        _ => null,
    };

    public static Explanation Compute(TensorData r, TensorData c, Tolerance tol, int? threads = null)
    {
        long n = r.ElementCount;
        var shape = r.Shape;
        int? axis = ChannelAxisFor(shape);
        long channels = axis is { } ax ? shape[ax] : 0;
        long inner = 1;
        if (axis is { } a) for (int d = a + 1; d < shape.Rank; d++) inner *= shape[d];
        // Chunks in parallel (one pass, float32 read directly), merged in index order: the same numbers whatever the
        // thread count. Within a chunk the channel advances with a counter, not a division per element.
        const long chunk = 1 << 22;
        int parts = (int)((n + chunk - 1) / chunk);
        var partials = new Partial[parts];
        bool f32 = r.ElementType == ElementType.Float && c.ElementType == ElementType.Float;
        // float32, float16 and bfloat16 are judged in float arithmetic exactly as the comparison kernel judged them, so
        // the per-channel and per-band mismatch totals add up to the verdict's count; other types in double, as there.
        bool floatLike = IsFloatLike(r.ElementType) && IsFloatLike(c.ElementType);
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts < 2 ? 1 : threads ?? Environment.ProcessorCount }, k =>
        {
            long start = k * chunk, end = Math.Min(n, start + chunk);
            // float32 with channels in runs of whole vectors: 16 elements at a time (same verdicts, same bands).
            if (f32 && (channels == 0 || inner % 16 == 0))
            {
                partials[k] = VectorChunk(r, c, tol, start, end, channels, inner);
                return;
            }
            var p = partials[k] = new Partial(channels);
            AddRange(p, r, c, tol, start, end, channels, inner, floatLike);
        });
        var chCount = new long[channels];
        var chMis = new long[channels];
        var chMax = new double[channels];
        var chSum = new double[channels];
        var bandCount = new long[256];
        var bandMis = new long[256];
        var bandSum = new double[256];
        var bandMax = new double[256];
        var bandRel = new double[256];
        var worst = new PriorityQueue<long, double>();
        foreach (var p in partials)
        {
            for (long ch = 0; ch < channels; ch++)
            {
                chCount[ch] += p.ChCount[ch]; chMis[ch] += p.ChMis[ch]; chSum[ch] += p.ChSum[ch];
                chMax[ch] = Math.Max(chMax[ch], p.ChMax[ch]);
            }
            for (int k = 0; k < p.BandCount.Length; k++)
            {
                int e = k & 255;
                bandCount[e] += p.BandCount[k]; bandMis[e] += p.BandMis[k]; bandSum[e] += p.BandSum[k]; bandRel[e] += p.BandRel[k];
                bandMax[e] = Math.Max(bandMax[e], p.BandMax[k]);
            }
            // Chunks in index order: a later element replaces only a strictly larger error.
            foreach (var (idx, abs) in p.Worst.UnorderedItems.OrderBy(x => x.Element))
            {
                if (worst.Count < WorstCount) worst.Enqueue(idx, abs);
                else if (worst.TryPeek(out _, out var smallest) && abs > smallest) worst.EnqueueDequeue(idx, abs);
            }
        }
        var worstList = new List<ElementError>();
        while (worst.TryDequeue(out var idx, out _))
        {
            double rv = r.GetDouble(idx), cv = c.GetDouble(idx), abs = ErrorMath.ReportedAbs(rv, cv);
            worstList.Add(new ElementError(idx, shape.FormatIndex(idx), rv, cv, abs, ErrorMath.ReportedRel(abs, rv)));
        }
        worstList.Reverse();
        // Errors that are not numbers make the passes' maxima infinite and leave the means over too many elements:
        // where there are any (rarely), one more pass counts them, and the means and maxima cover the finite errors.
        var chNonFinite = new long[channels];
        var bandNonFinite = new long[256];
        if (bandMax.Any(double.IsInfinity) || chMax.Any(double.IsInfinity))
            FiniteOnly(r, c, channels, inner, chNonFinite, chMax, chSum, bandNonFinite, bandMax, bandSum, bandRel);
        static double Mean(double sum, long count, long nonFinite) => count - nonFinite > 0 ? sum / (count - nonFinite) : double.NaN;
        var bands = new List<MagnitudeBand>();
        for (int e = 0; e < 255; e++)
        {
            if (bandCount[e] == 0) continue;
            double low = e == 0 ? 0 : Math.ScaleB(1.0, e - 127), high = Math.ScaleB(1.0, e - 126);
            bands.Add(new MagnitudeBand(low, high, bandCount[e], bandMis[e], Mean(bandSum[e], bandCount[e], bandNonFinite[e]),
                bandNonFinite[e] == bandCount[e] ? double.NaN : bandMax[e], Mean(bandRel[e], bandCount[e], bandNonFinite[e]), bandNonFinite[e]));
        }
        return new Explanation
        {
            Worst = worstList,
            ChannelAxis = axis,
            Channels = Enumerable.Range(0, (int)channels).Select(ch => new ChannelError(ch, chCount[ch], chMis[ch], chNonFinite[ch] == chCount[ch] && chCount[ch] > 0 ? double.NaN : chMax[ch],
                chCount[ch] == 0 ? 0 : Mean(chSum[ch], chCount[ch], chNonFinite[ch]), chNonFinite[ch])).ToList(),
            Magnitudes = MergeBands(bands, 16),
            Heatmap = worstList.Count > 0 ? MakeHeatmap(r, c, worstList[0].FlatIndex) : null,
        };
    }

    /// <summary>
    /// One chunk of float32 data, 16 elements at a time: errors and verdicts exactly as the comparison kernel computes
    /// them, channel totals in registers over each run of the channel (whole vectors: <paramref name="inner"/> is a
    /// multiple of 16), the worst-element heap touched only by vectors holding an error above its smallest, and the
    /// magnitude bands (by |ref|'s exponent): the chunk's four most frequent in registers, the rest lane by lane, in
    /// four interleaved copies so that neighbours sharing a band do not chain their additions through memory.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static Partial VectorChunk(TensorData rt, TensorData ct, Tolerance tol, long start, long end, long channels, long inner)
    {
        var p = new Partial(channels, copies: 4);
        ReadOnlySpan<float> r = rt.Span<float>(), c = ct.Span<float>();
        var zero = Vector512<float>.Zero;
        var inf = Vector512.Create(float.PositiveInfinity);
        var fmax = Vector512.Create(float.MaxValue);
        var vAtol = Vector512.Create((float)Math.Min(tol.Atol, float.MaxValue));
        var vRtol = Vector512.Create((float)Math.Min(tol.Rtol, float.MaxValue));
        long ch = channels > 0 ? start / inner % channels : 0, pos = channels > 0 ? start % inner : 0;
        Vector512<float> runMax = zero, runSum = zero;
        long runMis = 0, runCount = 0;
        double smallest = double.NegativeInfinity;
        Span<float> absLanes = stackalloc float[16], relLanes = stackalloc float[16], refLanes = stackalloc float[16];
        long vecEnd = start + ((end - start) & ~15L);
        ref float rr = ref MemoryMarshal.GetReference(r);
        ref float cr = ref MemoryMarshal.GetReference(c);
        // The four most frequent bands among the chunk's first 4,096 references (-1: none).
        var seen = new int[256];
        for (long i = start; i < Math.Min(end, start + 4096); i++)
            if (float.IsFinite(r[(int)i])) seen[BitConverter.SingleToUInt32Bits(Math.Abs(r[(int)i])) >> 23]++;
        var hot = Enumerable.Range(0, 256).Where(b => seen[b] > 0).OrderByDescending(b => seen[b]).Take(4).Concat(Enumerable.Repeat(-1, 4)).Take(4).ToArray();
        Vector512<int> hb0 = Vector512.Create(hot[0]), hb1 = Vector512.Create(hot[1]), hb2 = Vector512.Create(hot[2]), hb3 = Vector512.Create(hot[3]);
        long hc0 = 0, hc1 = 0, hc2 = 0, hc3 = 0, hm0 = 0, hm1 = 0, hm2 = 0, hm3 = 0;
        Vector512<float> hs0 = zero, hs1 = zero, hs2 = zero, hs3 = zero, hr0 = zero, hr1 = zero, hr2 = zero, hr3 = zero;
        Vector512<float> hx0 = zero, hx1 = zero, hx2 = zero, hx3 = zero;
        for (long i = start; i < vecEnd; i += 16)
        {
            var vr = Vector512.LoadUnsafe(ref rr, (nuint)i);
            var vc = Vector512.LoadUnsafe(ref cr, (nuint)i);
            var ar = Vector512.Abs(vr);
            var (abs, rel) = FusedKernel.AbsRel(vr, vc, ar);
            var absZero = Vector512.Equals(abs, zero);
            var ok = Vector512.LessThanOrEqual(abs, Vector512.MinNative(vAtol + vRtol * ar, fmax)) | absZero;
            uint mis = (uint)(~ok).ExtractMostSignificantBits();
            if (FusedKernel.HMax(abs) > smallest || p.Worst.Count < WorstCount)
            {
                abs.CopyTo(absLanes);
                for (int lane = 0; lane < 16; lane++)
                {
                    double a = absLanes[lane];
                    if (!(a > smallest || p.Worst.Count < WorstCount)) continue;
                    if (p.Worst.Count < WorstCount) p.Worst.Enqueue(i + lane, a);
                    else p.Worst.EnqueueDequeue(i + lane, a);
                    if (p.Worst.Count == WorstCount) p.Worst.TryPeek(out _, out smallest);
                }
            }
            var absFinite = Vector512.AndNot(abs, Vector512.Equals(abs, inf));
            if (channels > 0)
            {
                runCount += 16;
                runMis += System.Numerics.BitOperations.PopCount(mis);
                runMax = Vector512.MaxNative(runMax, abs);
                runSum += absFinite;
                if ((pos += 16) == inner)
                {
                    p.ChCount[ch] += runCount; p.ChMis[ch] += runMis; p.ChSum[ch] += Vector512.Sum(runSum);
                    p.ChMax[ch] = Math.Max(p.ChMax[ch], FusedKernel.HMax(runMax));
                    runCount = runMis = 0;
                    runMax = runSum = zero;
                    pos = 0;
                    if (++ch == channels) ch = 0;
                }
            }
            // Bands: finite references only; a relative error that is not finite adds 0 to the band's total. Lanes in
            // one of the four hot bands are summed in registers; the others one by one.
            var relFinite = Vector512.AndNot(rel, Vector512.Equals(rel, inf));
            var bands = Vector512.ShiftRightLogical(ar.AsInt32(), 23);
            var misV = ~ok;
            var m0 = Vector512.Equals(bands, hb0).AsSingle(); var m1 = Vector512.Equals(bands, hb1).AsSingle();
            var m2 = Vector512.Equals(bands, hb2).AsSingle(); var m3 = Vector512.Equals(bands, hb3).AsSingle();
            hc0 += System.Numerics.BitOperations.PopCount((uint)m0.ExtractMostSignificantBits()); hm0 += System.Numerics.BitOperations.PopCount((uint)(m0 & misV).ExtractMostSignificantBits());
            hc1 += System.Numerics.BitOperations.PopCount((uint)m1.ExtractMostSignificantBits()); hm1 += System.Numerics.BitOperations.PopCount((uint)(m1 & misV).ExtractMostSignificantBits());
            hc2 += System.Numerics.BitOperations.PopCount((uint)m2.ExtractMostSignificantBits()); hm2 += System.Numerics.BitOperations.PopCount((uint)(m2 & misV).ExtractMostSignificantBits());
            hc3 += System.Numerics.BitOperations.PopCount((uint)m3.ExtractMostSignificantBits()); hm3 += System.Numerics.BitOperations.PopCount((uint)(m3 & misV).ExtractMostSignificantBits());
            hs0 += absFinite & m0; hr0 += relFinite & m0; hx0 = Vector512.MaxNative(hx0, abs & m0);
            hs1 += absFinite & m1; hr1 += relFinite & m1; hx1 = Vector512.MaxNative(hx1, abs & m1);
            hs2 += absFinite & m2; hr2 += relFinite & m2; hx2 = Vector512.MaxNative(hx2, abs & m2);
            hs3 += absFinite & m3; hr3 += relFinite & m3; hx3 = Vector512.MaxNative(hx3, abs & m3);
            uint rest = (uint)(~(m0 | m1 | m2 | m3) & Vector512.Equals(vr - vr, zero)).ExtractMostSignificantBits();
            if (rest == 0) continue;
            abs.CopyTo(absLanes);
            relFinite.CopyTo(relLanes);
            vr.CopyTo(refLanes);
            while (rest != 0)
            {
                int lane = System.Numerics.BitOperations.TrailingZeroCount(rest);
                rest &= rest - 1;
                int band = (int)(BitConverter.SingleToUInt32Bits(Math.Abs(refLanes[lane])) >> 23) | (lane & 3) << 8;
                float a = absLanes[lane];
                p.BandCount[band]++;
                p.BandMis[band] += (mis >> lane) & 1;
                if (float.IsFinite(a))
                {
                    p.BandSum[band] += a;
                    p.BandRel[band] += relLanes[lane];
                }
                if (a > p.BandMax[band]) p.BandMax[band] = a;
            }
        }
        AddHot(p, hot[0], hc0, hm0, hs0, hr0, hx0);
        AddHot(p, hot[1], hc1, hm1, hs1, hr1, hx1);
        AddHot(p, hot[2], hc2, hm2, hs2, hr2, hx2);
        AddHot(p, hot[3], hc3, hm3, hs3, hr3, hx3);
        if (channels > 0 && runCount > 0)
        {
            p.ChCount[ch] += runCount; p.ChMis[ch] += runMis; p.ChSum[ch] += Vector512.Sum(runSum);
            p.ChMax[ch] = Math.Max(p.ChMax[ch], FusedKernel.HMax(runMax));
        }
        // The tail (fewer than 16 elements, at the end of the tensor): the same arithmetic, one element at a time.
        if (vecEnd < end) AddRange(p, rt, ct, tol, vecEnd, end, channels, inner, floatLike: true);
        return p;
    }

    /// <summary>
    /// Adds elements [<paramref name="start"/>, <paramref name="end"/>) to <paramref name="p"/> one at a time: float
    /// arithmetic, as the comparison kernel's, for float-like types; double (ErrorMath) for the rest.
    /// </summary>
    private static void AddRange(Partial p, TensorData r, TensorData c, Tolerance tol, long start, long end, long channels, long inner, bool floatLike)
    {
        bool f32 = r.ElementType == ElementType.Float && c.ElementType == ElementType.Float;
        var rs = f32 ? r.Span<float>() : default;
        var cs = f32 ? c.Span<float>() : default;
        float atolF = (float)Math.Min(tol.Atol, float.MaxValue), rtolF = (float)Math.Min(tol.Rtol, float.MaxValue);
        long ch = channels > 0 ? start / inner % channels : 0, pos = channels > 0 ? start % inner : 0;
        // The heap's smallest once it holds WorstCount.
        double smallest = p.Worst.Count == WorstCount && p.Worst.TryPeek(out _, out var least) ? least : double.NegativeInfinity;
        for (long i = start; i < end; i++)
        {
            double rv = f32 ? rs[(int)i] : r.GetDouble(i), cv = f32 ? cs[(int)i] : c.GetDouble(i);
            double abs, rel;
            bool mis;
            if (floatLike)
            {
                float absF = FusedKernel.AbsF((float)rv, (float)cv), ar = Math.Abs((float)rv);
                abs = absF;
                rel = FusedKernel.RelF(absF, ar);
                mis = !(absF == 0 || absF <= Math.Min(atolF + rtolF * ar, float.MaxValue));
            }
            else
            {
                abs = ErrorMath.AbsError(rv, cv);
                rel = ErrorMath.RelError(abs, rv);
                mis = !ErrorMath.Passes(abs, rv, tol.Atol, tol.Rtol);
            }
            // Keep the WorstCount largest errors (a min-heap by error; among equal errors, which index stays is the
            // heap's choice, the same on every run).
            if (abs > smallest || p.Worst.Count < WorstCount)
            {
                if (p.Worst.Count < WorstCount) p.Worst.Enqueue(i, abs);
                else p.Worst.EnqueueDequeue(i, abs);
                if (p.Worst.Count == WorstCount) p.Worst.TryPeek(out _, out smallest);
            }
            if (channels > 0)
            {
                p.ChCount[ch]++;
                if (mis) p.ChMis[ch]++;
                if (abs > p.ChMax[ch]) p.ChMax[ch] = abs;
                if (double.IsFinite(abs)) p.ChSum[ch] += abs;
                if (++pos == inner) { pos = 0; if (++ch == channels) ch = 0; }
            }
            if (double.IsFinite(rv))
            {
                int band = (int)(BitConverter.SingleToUInt32Bits(Math.Abs((float)rv)) >> 23);
                p.BandCount[band]++;
                if (mis) p.BandMis[band]++;
                if (double.IsFinite(abs)) { p.BandSum[band] += abs; p.BandRel[band] += double.IsFinite(rel) ? rel : 0; }
                if (abs > p.BandMax[band]) p.BandMax[band] = abs;
            }
        }
    }

    private static void AddHot(Partial p, int band, long count, long mis, Vector512<float> sum, Vector512<float> rel, Vector512<float> max)
    {
        if (band < 0) return;
        p.BandCount[band] += count;
        p.BandMis[band] += mis;
        p.BandSum[band] += Vector512.Sum(sum);
        p.BandRel[band] += Vector512.Sum(rel);
        p.BandMax[band] = Math.Max(p.BandMax[band], FusedKernel.HMax(max));
    }

    /// <summary>One chunk's share of an explanation.</summary>
    private sealed class Partial(long channels, int copies = 1)
    {
        public readonly long[] ChCount = new long[channels], ChMis = new long[channels];
        public readonly double[] ChMax = new double[channels], ChSum = new double[channels];
        /// <summary>Band totals, in <c>copies</c> interleaved copies: [copy · 256 + band].</summary>
        public readonly long[] BandCount = new long[256 * copies], BandMis = new long[256 * copies];
        public readonly double[] BandSum = new double[256 * copies], BandMax = new double[256 * copies], BandRel = new double[256 * copies];
        public readonly PriorityQueue<long, double> Worst = new();
    }

    private static bool IsFloatLike(ElementType t) => t is ElementType.Float or ElementType.Float16 or ElementType.BFloat16;

    /// <summary>Per channel and band: how many errors are not numbers, and the maxima and sums of the others (scalar; only for data with such errors).</summary>
    private static void FiniteOnly(TensorData r, TensorData c, long channels, long inner, long[] chNonFinite, double[] chMax, double[] chSum,
        long[] bandNonFinite, double[] bandMax, double[] bandSum, double[] bandRel)
    {
        Array.Clear(chMax); Array.Clear(chSum); Array.Clear(bandMax); Array.Clear(bandSum); Array.Clear(bandRel);
        for (long i = 0; i < r.ElementCount; i++)
        {
            double rv = r.GetDouble(i), cv = c.GetDouble(i), abs = ErrorMath.AbsError(rv, cv), rel = ErrorMath.RelError(abs, rv);
            bool finite = double.IsFinite(abs);
            if (channels > 0)
            {
                long ch = i / inner % channels;
                if (!finite) chNonFinite[ch]++;
                else { chSum[ch] += abs; chMax[ch] = Math.Max(chMax[ch], abs); }
            }
            if (!double.IsFinite(rv)) continue;
            int band = (int)(BitConverter.SingleToUInt32Bits(Math.Abs((float)rv)) >> 23);
            if (!finite) bandNonFinite[band]++;
            else
            {
                bandSum[band] += abs;
                bandMax[band] = Math.Max(bandMax[band], abs);
                if (double.IsFinite(rel)) bandRel[band] += rel;
            }
        }
    }

    private static List<MagnitudeBand> MergeBands(List<MagnitudeBand> bands, int max)
    {
        while (bands.Count > max)
        {
            var merged = new List<MagnitudeBand>();
            for (int i = 0; i < bands.Count; i += 2)
            {
                if (i + 1 == bands.Count) { merged.Add(bands[i]); break; }
                var x = bands[i];
                var y = bands[i + 1];
                long count = x.Count + y.Count, fx = x.Count - x.NonFinite, fy = y.Count - y.NonFinite;
                double Mix(double a, double b) => fx + fy == 0 ? double.NaN : ((fx > 0 ? a * fx : 0) + (fy > 0 ? b * fy : 0)) / (fx + fy);
                double MaxOf(double a, double b) => double.IsNaN(a) ? b : double.IsNaN(b) ? a : Math.Max(a, b);
                merged.Add(new MagnitudeBand(x.Low, y.High, count, x.Mismatches + y.Mismatches, Mix(x.MeanAbs, y.MeanAbs), MaxOf(x.MaxAbs, y.MaxAbs), Mix(x.MeanRel, y.MeanRel), x.NonFinite + y.NonFinite));
            }
            bands = merged;
        }
        return bands;
    }

    private static Heatmap? MakeHeatmap(TensorData r, TensorData c, long worstIndex)
    {
        var s = r.Shape;
        if (s.Rank < 2) return null;
        int rows = (int)s[s.Rank - 2], cols = (int)s[s.Rank - 1];
        if (rows == 0 || cols == 0) return null;
        long plane = (long)rows * cols;
        long start = worstIndex / plane * plane;
        var lead = s.FormatIndex(start).Trim('[', ']').Split(", ");
        var slice = "[" + string.Join(", ", lead.Take(s.Rank - 2).Append(":").Append(":")) + "]";
        int outRows = Math.Min(rows, HeatmapSide), outCols = Math.Min(cols, HeatmapSide);
        var values = new float[outRows * outCols];
        for (int y = 0; y < rows; y++)
            for (int x = 0; x < cols; x++)
            {
                long i = start + (long)y * cols + x;
                double abs = ErrorMath.AbsError(r.GetDouble(i), c.GetDouble(i));
                int cell = (int)((long)y * outRows / rows) * outCols + (int)((long)x * outCols / cols);
                float v = double.IsFinite(abs) ? (float)abs : float.MaxValue;
                if (v > values[cell]) values[cell] = v;
            }
        return new Heatmap(slice, outRows, outCols, rows, cols, values, values.Max());
    }
}

/// <summary>
/// Top-k agreement for classification outputs: the last axis holds class scores, every other index is a row.
/// Ties break toward the lower class index, so the result is deterministic.
/// </summary>
public sealed record TopKResult(int K, long Rows, long Top1Agree, long SetsEqual, double MeanOverlap)
{
    public double Top1Percent => Rows == 0 ? 100 : 100.0 * Top1Agree / Rows;
    public double SetsEqualPercent => Rows == 0 ? 100 : 100.0 * SetsEqual / Rows;

    public static TopKResult? Compute(TensorData r, TensorData c, int k)
    {
        if (r.Shape.Rank == 0 || !r.ElementType.IsFloatingPoint() && !r.ElementType.IsInteger()) return null;
        long classes = r.Shape[r.Shape.Rank - 1];
        if (classes == 0) return null;
        int kk = (int)Math.Min(k, classes);
        long rows = r.ElementCount / classes;
        long top1 = 0, equal = 0;
        double overlap = 0;
        var a = new long[kk];
        var b = new long[kk];
        for (long row = 0; row < rows; row++)
        {
            Top(r, row * classes, classes, a);
            Top(c, row * classes, classes, b);
            if (a[0] == b[0]) top1++;
            int common = a.Intersect(b).Count();
            if (common == kk) equal++;
            overlap += (double)common / kk;
        }
        return new TopKResult(kk, rows, top1, equal, rows == 0 ? 1 : overlap / rows);
    }

    /// <summary>Indices of the k largest values (NaN counts as smallest), best first.</summary>
    private static void Top(TensorData t, long start, long count, long[] result)
    {
        int k = result.Length;
        var vals = new double[k];
        int filled = 0;
        for (long i = 0; i < count; i++)
        {
            double v = t.GetDouble(start + i);
            if (double.IsNaN(v)) v = double.NegativeInfinity;
            if (filled == k && !(v > vals[k - 1])) continue;
            int pos = filled < k ? filled++ : k - 1;
            while (pos > 0 && v > vals[pos - 1]) { vals[pos] = vals[pos - 1]; result[pos] = result[pos - 1]; pos--; }
            vals[pos] = v;
            result[pos] = i;
        }
    }
}
