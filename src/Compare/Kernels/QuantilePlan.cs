namespace PolyNet.Compare.Kernels;

/// <summary>
/// Exact quantiles in one counting pass, by selection inside brackets chosen from a sample:
/// 1. a fixed-seed random sample of the data (<see cref="SampleSize"/> elements) is sorted; for each wanted rank k
///    of n values, a bracket [lo, hi] around k's position in the sample is chosen wide enough (4 standard deviations
///    of a sample quantile plus a margin) that it holds the k-th value with overwhelming probability;
/// 2. the pass counts values &lt; lo, ≤ lo, &lt; hi, ≤ hi and keeps the values strictly inside (lo, hi);
/// 3. the k-th value is then lo, hi, or found by selection among the kept values, exactly.
/// If a bracket misses (the counts say so, so this is never silent), the caller falls back to selection over the
/// full data (one full-size temporary). Small inputs skip sampling and select directly.
/// </summary>
internal sealed class QuantilePlan
{
    public const int SampleSize = 1 << 16;

    private readonly List<(long Rank, int Bracket)> _targets = [];
    private readonly List<(float Lo, float Hi)> _brackets = [];

    /// <summary>Plans brackets for <paramref name="ranks"/> (0-based, among <paramref name="n"/> values) from a sorted sample.</summary>
    public QuantilePlan(long n, float[] sortedSample, IEnumerable<long> ranks)
    {
        N = n;
        int m = sortedSample.Length;
        var wanted = ranks.Where(k => k >= 0 && k < n).Distinct().Order().ToList();
        var raw = new List<(long Rank, float Lo, float Hi)>();
        foreach (var k in wanted)
        {
            if (m == 0) { raw.Add((k, float.NegativeInfinity, float.PositiveInfinity)); continue; }
            double p = n <= 1 ? 0 : (double)k / (n - 1);
            double pos = p * (m - 1);
            int delta = (int)Math.Ceiling(4 * Math.Sqrt(m * p * (1 - p))) + 3;
            int loI = (int)Math.Floor(pos) - delta, hiI = (int)Math.Ceiling(pos) + delta;
            float lo = loI < 0 ? float.NegativeInfinity : sortedSample[loI];
            float hi = hiI >= m ? float.PositiveInfinity : sortedSample[hiI];
            raw.Add((k, lo, hi));
        }
        // Merge overlapping brackets so every value is kept at most once.
        foreach (var (rank, lo, hi) in raw)
        {
            if (_brackets.Count > 0 && lo <= _brackets[^1].Hi)
                _brackets[^1] = (_brackets[^1].Lo, Math.Max(_brackets[^1].Hi, hi));
            else
                _brackets.Add((lo, hi));
            _targets.Add((rank, _brackets.Count - 1));
        }
    }

    public long N { get; }
    public IReadOnlyList<(float Lo, float Hi)> Brackets => _brackets;
    public IEnumerable<long> PlannedRanks => _targets.Select(t => t.Rank);

    /// <summary>Thresholds to count for the brackets: "&lt;" at lo and hi, "≤" at lo and hi.</summary>
    public IEnumerable<float> LtThresholds => _brackets.SelectMany(b => new[] { b.Lo, b.Hi });
    public IEnumerable<float> LeThresholds => _brackets.SelectMany(b => new[] { b.Lo, b.Hi });

    /// <summary>
    /// The value of each planned rank, from the counts (<paramref name="lt"/>/<paramref name="le"/> at offset
    /// <paramref name="ltOffset"/>/<paramref name="leOffset"/>, in <see cref="LtThresholds"/> order) and kept values;
    /// null when any bracket missed.
    /// </summary>
    public Dictionary<long, float>? Resolve(long[] lt, int ltOffset, long[] le, int leOffset, List<float>[] kept)
    {
        var result = new Dictionary<long, float>();
        var arrays = new float[_brackets.Count][];
        foreach (var (rank, b) in _targets)
        {
            var (lo, hi) = _brackets[b];
            long ltLo = lt[ltOffset + 2 * b], ltHi = lt[ltOffset + 2 * b + 1];
            long leLo = le[leOffset + 2 * b], leHi = le[leOffset + 2 * b + 1];
            if (rank < ltLo || rank >= leHi) return null;
            if (rank < leLo) { result[rank] = lo; continue; }
            if (rank >= ltHi) { result[rank] = hi; continue; }
            arrays[b] ??= kept[b].ToArray();
            long inner = rank - leLo;
            if (arrays[b].Length != ltHi - leLo) return null; // counts and kept values disagree: never expected
            result[rank] = Select.Nth<float>(arrays[b], (int)inner);
        }
        return result;
    }

    /// <summary>numpy's default ("linear") quantile of n sorted values at q: the ranks it needs.</summary>
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
        if (float.IsInfinity(x0) || float.IsInfinity(x1)) return frac < 1 && float.IsInfinity(x0) ? x0 : x1;
        return x0 + frac * ((double)x1 - x0);
    }
}
