namespace PolyNet.Compare.Kernels;

/// <summary>
/// Exact quantiles in the same pass that computes everything else, by selection inside brackets chosen from a sample:
/// 1. a fixed-seed stratified sample of the data (<see cref="SampleSize"/> elements, one at a random position in each
///    of that many equal stretches) is sorted; for each wanted rank k of n values, a bracket [lo, hi] around k's
///    position in the sample is chosen wide enough (4 standard deviations of a sample quantile, plus a margin) to hold
///    the k-th value with overwhelming probability;
/// 2. the pass counts values ≥ lo and ≤ hi (and, for an edge many sample values equal, &gt; lo or &lt; hi, leaving
///    those ties out of what is kept) and keeps the values inside;
/// 3. the k-th value is then lo, hi, or found by selection among the kept values: exact.
/// The counts prove whether a bracket holds its rank, so a miss is never silent: the caller then selects over the
/// whole data (its one full-size temporary). Inputs no larger than the sample skip brackets and select directly.
/// </summary>
internal sealed class QuantilePlan
{
    public const int SampleSize = 1 << 16;
    /// <summary>An edge is left open when more than this many sample values equal it (heavy ties, such as zeros).</summary>
    private const int TieThreshold = 16;

    private readonly List<Bracket> _brackets = [];

    public QuantilePlan(long n, float[] sortedSample, IEnumerable<long> ranks)
    {
        int m = sortedSample.Length;
        var raw = new List<(long Rank, float Lo, float Hi)>();
        foreach (var k in ranks.Where(k => k >= 0 && k < n).Distinct().Order())
        {
            double p = n <= 1 ? 0 : (double)k / (n - 1);
            double pos = p * (m - 1);
            int delta = (int)Math.Ceiling(4 * Math.Sqrt(m * p * (1 - p))) + 3;
            int loI = (int)Math.Floor(pos) - delta, hiI = (int)Math.Ceiling(pos) + delta;
            raw.Add((k, loI < 0 ? float.NegativeInfinity : sortedSample[loI], hiI >= m ? float.PositiveInfinity : sortedSample[hiI]));
        }
        foreach (var (_, lo, hi) in raw)
        {
            // Overlapping brackets merge, so every value is kept at most once.
            if (_brackets.Count > 0 && lo <= _brackets[^1].Hi)
                _brackets[^1] = _brackets[^1] with { Hi = Math.Max(_brackets[^1].Hi, hi) };
            else
                _brackets.Add(new Bracket(lo, hi, false, false));
        }
        for (int j = 0; j < _brackets.Count; j++)
        {
            var b = _brackets[j];
            long inSample = m == 0 ? n : sortedSample.Count(v => v >= b.Lo && v <= b.Hi);
            _expected.Add(m == 0 ? n : (long)((double)n * inSample / m));
            _brackets[j] = b with { LoOpen = Ties(sortedSample, b.Lo) > TieThreshold, HiOpen = Ties(sortedSample, b.Hi) > TieThreshold && b.Hi != b.Lo };
        }
    }

    public Bracket[] Brackets => [.. _brackets];

    /// <summary>Per bracket, how many values it should keep if the data resembles the sample.</summary>
    public long[] ExpectedKept => _expected.ToArray();
    private readonly List<long> _expected = [];

    private static int Ties(float[] sorted, float v)
    {
        if (float.IsInfinity(v)) return 0;
        int lo = Array.BinarySearch(sorted, v);
        if (lo < 0) return 0;
        int a = lo, b = lo;
        while (a > 0 && sorted[a - 1] == v) a--;
        while (b < sorted.Length - 1 && sorted[b + 1] == v) b++;
        return b - a + 1;
    }

    /// <summary>
    /// The value of every wanted rank of the <paramref name="count"/> comparable values (the values the pass counted:
    /// for value quantities the finite ones, which may be fewer than planned) from the pass's counts and kept values,
    /// or null when a rank falls in no bracket (then the caller selects over all the data).
    /// </summary>
    public Dictionary<long, float>? Resolve(long count, IEnumerable<long> wanted, long[] ge, long[] gt, long[] le, long[] lt, IReadOnlyList<FloatBuffer>[] keptParts)
    {
        var result = new Dictionary<long, float>();
        var inner = _brackets.Select(_ => new List<int>()).ToArray();
        foreach (var k in wanted.Distinct())
        {
            // Values not counted by a bracket's "≥ lo" are below it: brackets are disjoint and ordered.
            int j = Enumerable.Range(0, _brackets.Count).FirstOrDefault(b => k >= count - ge[b] && k < le[b], -1);
            if (j < 0) return null;
            var b = _brackets[j];
            long offset = b.LoOpen ? count - gt[j] : count - ge[j]; // where the kept values start in sorted order
            long end = b.HiOpen ? lt[j] : le[j];                      // where they end
            if (end < offset) return null;
            if (k < offset) result[k] = b.Lo;
            else if (k >= end) result[k] = b.Hi;
            else inner[j].Add((int)(k - offset));
        }
        for (int j = 0; j < _brackets.Count; j++)
        {
            if (inner[j].Count == 0) continue;
            var b = _brackets[j];
            long offset = b.LoOpen ? count - gt[j] : count - ge[j], end = b.HiOpen ? lt[j] : le[j];
            // Every chunk's kept values for this bracket, in one array of exactly the counted size.
            var parts = keptParts[j];
            long total = parts.Sum(p => (long)p.Count);
            if (total != end - offset) return null; // the counts and the kept values disagree: never expected
            var all = System.Buffers.ArrayPool<float>.Shared.Rent((int)total);
            int w = 0;
            foreach (var p in parts) { p.Span.CopyTo(all.AsSpan(w)); w += p.Count; }
            var ranks = inner[j].Distinct().Order().ToArray();
            var values = new float[ranks.Length];
            Select.Ranks(all.AsSpan(0, (int)total), ranks, values);
            System.Buffers.ArrayPool<float>.Shared.Return(all);
            for (int i = 0; i < ranks.Length; i++) result[ranks[i] + offset] = values[i];
        }
        return result;
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
