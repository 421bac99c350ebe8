namespace PolyNet.Compare.Kernels;

/// <summary>
/// Turns the pass's (sign, exponent) counts into a display histogram: one bin per octave [2^e, 2^(e+1)) over the
/// occupied range (neighbours merged until at most <see cref="MaxBins"/> remain), negative octaves mirrored for
/// signed values. Bins are exact: every finite value falls in exactly one. Infinite errors have a bin of their own;
/// non-finite output values are not binned (they are counted apart).
/// </summary>
internal static class OctaveHistogram
{
    public const int MaxBins = 24;

    /// <summary>
    /// Errors (non-negative): exact zeros get their own bin (<paramref name="zeros"/> of the exponent-0 count), and
    /// infinite errors (an infinity on one side only, or of opposite signs) a bin, and elements NaN on one side only
    /// (no error measures them) the last bin.
    /// </summary>
    public static Histogram ReadErrors(long[] counts, long zeros, long infinite, long nanPairs)
    {
        var segs = new List<(double Low, double High, long Count)>();
        if (counts[0] - zeros > 0) segs.Add((double.Epsilon, Pow2(-126), counts[0] - zeros));
        for (int e = 1; e <= 254; e++)
            if (counts[e] > 0) segs.Add((Pow2(e - 127), Pow2(e - 126), counts[e]));
        var bins = new List<HistogramBin>();
        if (zeros > 0) bins.Add(new HistogramBin(0, 0, zeros, "0"));
        bins.AddRange(Merge(segs).Select(Bin));
        if (infinite > 0) bins.Add(new HistogramBin(double.PositiveInfinity, double.PositiveInfinity, infinite, "inf"));
        if (nanPairs > 0) bins.Add(new HistogramBin(double.NaN, double.NaN, nanPairs, "NaN on one side"));
        return new Histogram(bins, LogScale: true);
    }

    /// <summary>Signed values: negative octaves (most negative first), then zero and subnormals, then positive octaves.</summary>
    public static Histogram ReadValues(long[] counts)
    {
        var neg = new List<(double Low, double High, long Count)>();
        for (int e = 254; e >= 1; e--)
            if (counts[256 + e] > 0) neg.Add((-Pow2(e - 126), -Pow2(e - 127), counts[256 + e]));
        var pos = new List<(double Low, double High, long Count)>();
        for (int e = 1; e <= 254; e++)
            if (counts[e] > 0) pos.Add((Pow2(e - 127), Pow2(e - 126), counts[e]));
        long tiny = counts[0] + counts[256];
        int budget = MaxBins - (tiny > 0 ? 1 : 0);
        int negBudget = neg.Count + pos.Count == 0 ? 0 : Math.Max(neg.Count > 0 ? 1 : 0, budget * neg.Count / (neg.Count + pos.Count));
        var bins = new List<HistogramBin>();
        bins.AddRange(Merge(neg, negBudget).Select(Bin));
        if (tiny > 0) bins.Add(new HistogramBin(-Pow2(-126), Pow2(-126), tiny, "0 (and subnormal)"));
        bins.AddRange(Merge(pos, budget - negBudget).Select(Bin));
        return new Histogram(bins, LogScale: true);
    }

    private static List<(double Low, double High, long Count)> Merge(List<(double Low, double High, long Count)> segs, int max = MaxBins)
    {
        max = Math.Max(1, max);
        while (segs.Count > max)
        {
            var merged = new List<(double, double, long)>();
            for (int i = 0; i < segs.Count; i += 2)
                merged.Add(i + 1 < segs.Count ? (Math.Min(segs[i].Low, segs[i + 1].Low), Math.Max(segs[i].High, segs[i + 1].High), segs[i].Count + segs[i + 1].Count) : segs[i]);
            segs = merged;
        }
        return segs;
    }

    private static HistogramBin Bin((double Low, double High, long Count) s) => new(s.Low, s.High, s.Count, $"[{Format.Number(s.Low)}, {Format.Number(s.High)})");

    private static double Pow2(int e) => Math.ScaleB(1.0, e);
}
