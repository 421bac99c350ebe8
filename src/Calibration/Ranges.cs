namespace PolyNet.Calibration;

/// <summary>How a tensor's dynamic range is chosen from the values seen.</summary>
public enum CalibrationMethod
{
    /// <summary>The largest |x| seen (TensorRT's MinMaxCalibration).</summary>
    MinMax,
    /// <summary>The threshold whose 128-level quantization loses least information (KL divergence), TensorRT's EntropyCalibration2.</summary>
    Entropy,
    /// <summary>The |x| below which a given share of the values lies (pytorch-quantization and ONNX Runtime offer it; TensorRT does not).</summary>
    Percentile,
}

/// <summary>
/// The values one tensor took during calibration: the exact largest |x|, and a histogram of |x| with 2048 bins of equal
/// width, as TensorRT's entropy calibrator keeps. The first batch sets the range to its largest |x|; when a later value
/// exceeds the range, the range doubles (pairs of bins merge) until it fits, as TensorRT's documentation describes.
/// NaNs and infinities are counted apart and kept out of the histogram and of <see cref="AbsMax"/> (a range must be
/// finite to quantize); <see cref="ClippedShare"/> counts infinities as clipped.
/// </summary>
public sealed class TensorHistogram
{
    public const int Bins = 2048;
    private readonly long[] _counts = new long[Bins];

    public double Width { get; private set; }
    /// <summary>The largest finite |x| seen.</summary>
    public float AbsMax { get; private set; }
    public long Count { get; private set; }
    public long NaNs { get; private set; }
    public long Infinities { get; private set; }
    public ReadOnlySpan<long> Counts => _counts;
    /// <summary>The histogram's upper edge: Bins × Width.</summary>
    public double Range => Width * Bins;

    public void Add(ReadOnlySpan<float> values)
    {
        float batchMax = 0;
        foreach (var v in values)
        {
            if (float.IsNaN(v)) { NaNs++; continue; }
            var a = MathF.Abs(v);
            if (float.IsInfinity(a)) { Infinities++; continue; }
            if (a > batchMax) batchMax = a;
        }
        if (batchMax > AbsMax) AbsMax = batchMax;
        if (Width == 0 && batchMax > 0) Width = batchMax / (double)Bins;
        while (Width > 0 && batchMax > Width * Bins) Grow();
        foreach (var v in values)
        {
            if (!float.IsFinite(v)) continue;
            Count++;
            if (Width == 0) { _counts[0]++; continue; }
            int i = (int)(MathF.Abs(v) / Width);
            _counts[Math.Min(i, Bins - 1)]++;
        }
    }

    /// <summary>Doubles the range: bin i of the new histogram holds old bins 2i and 2i+1.</summary>
    private void Grow()
    {
        for (int i = 0; i < Bins / 2; i++) _counts[i] = _counts[2 * i] + _counts[2 * i + 1];
        Array.Clear(_counts, Bins / 2, Bins / 2);
        Width *= 2;
    }

    /// <summary>
    /// The share of non-NaN values whose |x| exceeds <paramref name="range"/>: infinities always; finite values from the
    /// histogram, bins wholly above the range counted whole and the bin the range cuts counted in proportion to the
    /// part above it (values spread evenly within a bin). A NaN range clips everything; an infinite one nothing.
    /// </summary>
    public double ClippedShare(double range)
    {
        long total = Count + Infinities;
        if (total == 0) return 0;
        if (double.IsNaN(range)) return 1;
        if (double.IsPositiveInfinity(range)) return 0;
        if (range < 0) range = 0;
        double above = Infinities;
        if (Width > 0 && range < AbsMax)
        {
            double pos = range / Width;
            int cut = (int)Math.Min(Math.Floor(pos), Bins);
            for (int i = cut + 1; i < Bins; i++) above += _counts[i];
            if (cut < Bins) above += _counts[cut] * (cut + 1 - pos);
        }
        return above / total;
    }
}

/// <summary>The range algorithms, on a <see cref="TensorHistogram"/>.</summary>
public static class Ranges
{
    public const int Levels = 128;
    public const int StartBin = 128;

    public static float Choose(TensorHistogram h, CalibrationMethod method, double percentile = 99.99) => method switch
    {
        CalibrationMethod.MinMax => h.AbsMax,
        CalibrationMethod.Entropy => Entropy(h),
        _ => Percentile(h, percentile),
    };

    /// <summary>
    /// TensorRT's entropy calibration (EntropyCalibration2 as NVIDIA describes it, following pytorch-quantization's
    /// open implementation where the description is silent). For each candidate threshold i from bin 128 to 2048:
    /// P is the histogram's first i bins with everything beyond added to bin i−1; Q merges those i bins into 128 groups
    /// (bin j belongs to group ⌊128·j/i⌋), spreads each group's count evenly over its non-empty bins and leaves empty bins
    /// empty; KL(P‖Q) is taken on P and Q normalized (infinite when Q is 0 where P is not). Bin 0's count is replaced by
    /// bin 1's first, as pytorch-quantization does, so the spike of exact zeros after a ReLU does not decide the range.
    /// The threshold with the smallest divergence wins, the largest on ties; the range is its upper edge, i × bin width,
    /// never more than the largest |x| seen. Candidates stop at the last non-empty bin: beyond it P no longer changes and
    /// the largest-on-ties rule would otherwise pick the end of a histogram whose range doubled past the data (TensorRT's
    /// documentation warns of such half-empty histograms). An all-zero tensor has range 0. Cost: about 2048² steps.
    /// </summary>
    public static float Entropy(TensorHistogram h)
    {
        if (h.Width == 0 || h.Count == 0) return 0;
        var bins = h.Counts.ToArray().Select(c => (double)c).ToArray();
        bins[0] = bins[1];
        double best = double.PositiveInfinity;
        int bestI = 0;
        var p = new double[TensorHistogram.Bins];
        var q = new double[TensorHistogram.Bins];
        var groupSum = new double[Levels];
        var groupNonEmpty = new int[Levels];
        var tail = new double[TensorHistogram.Bins + 1]; // tail[i] = sum of bins[i..]
        for (int i = TensorHistogram.Bins - 1; i >= 0; i--) tail[i] = tail[i + 1] + bins[i];
        int last = Array.FindLastIndex(bins, c => c != 0) + 1; // bins beyond the largest value are empty
        for (int i = Math.Min(StartBin, last); i <= last; i++)
        {
            Array.Clear(groupSum);
            Array.Clear(groupNonEmpty);
            for (int j = 0; j < i; j++)
            {
                int g = (int)((long)j * Levels / i);
                groupSum[g] += bins[j];
                if (bins[j] != 0) groupNonEmpty[g]++;
            }
            double pSum = 0, qSum = 0;
            for (int j = 0; j < i; j++)
            {
                p[j] = bins[j] + (j == i - 1 ? tail[i] : 0);
                int g = (int)((long)j * Levels / i);
                q[j] = bins[j] == 0 ? 0 : groupSum[g] / groupNonEmpty[g];
                pSum += p[j];
                qSum += q[j];
            }
            double kl = 0;
            if (pSum == 0) kl = 0;
            else if (qSum == 0) kl = double.PositiveInfinity;
            else
                for (int j = 0; j < i; j++)
                {
                    if (p[j] == 0) continue;
                    if (q[j] == 0) { kl = double.PositiveInfinity; break; }
                    double pj = p[j] / pSum, qj = q[j] / qSum;
                    kl += pj * Math.Log(pj / qj);
                }
            if (kl <= best)
            {
                best = kl;
                bestI = i;
            }
        }
        return (float)Math.Min(bestI * h.Width, h.AbsMax);
    }

    /// <summary>
    /// The smallest bin edge below which at least <paramref name="percentile"/>% of the values lie: the upper edge of
    /// the first bin where the cumulative share reaches it (so at most 100 − percentile % of values are clipped).
    /// </summary>
    public static float Percentile(TensorHistogram h, double percentile)
    {
        if (!(percentile > 0 && percentile <= 100)) throw new InvalidInputException($"--percentile {percentile}: must be in (0, 100]");
        if (h.Count == 0 || h.Width == 0) return 0;
        double want = percentile / 100 * h.Count;
        long cum = 0;
        var c = h.Counts;
        for (int i = 0; i < c.Length; i++)
        {
            cum += c[i];
            if (cum >= want) return (float)Math.Min((i + 1) * h.Width, h.AbsMax);
        }
        return h.AbsMax;
    }
}
