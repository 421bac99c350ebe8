namespace PolyNet.Jobs.Bench;

/// <summary>A 95% confidence interval for a median, in milliseconds.</summary>
public sealed record MedianInterval(double Low, double High);

/// <summary>What a two-sample Mann-Whitney U test found: the normal approximation with ties corrected, two-sided.</summary>
/// <param name="Z">Positive when the second sample tends to be larger (slower).</param>
public sealed record MannWhitney(double U, double Z, double P);

/// <summary>
/// The statistics of latency samples that a CI gate can trust: a distribution-free confidence interval for the
/// median (order statistics), Tukey's fences for outliers, and the Mann-Whitney U test BenchmarkDotNet's statistical
/// test uses. Pure functions over arrays of milliseconds.
/// </summary>
public static class LatencyStatistics
{
    public static double Median(IReadOnlyList<double> values)
    {
        var s = values.Order().ToArray();
        return s.Length == 0 ? double.NaN : s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    /// <summary>
    /// The 95% interval [x(j), x(k)] of the sorted sample with j, k the binomial(n, 1/2) quantiles' normal approximation
    /// (n/2 ∓ 1.96·√n/2); from 6 values up (fewer: the whole range).
    /// </summary>
    public static MedianInterval MedianCi(IReadOnlyList<double> values)
    {
        var s = values.Order().ToArray();
        if (s.Length < 6) return new(s[0], s[^1]);
        double half = 1.96 * Math.Sqrt(s.Length) / 2;
        int j = Math.Max(0, (int)Math.Floor(s.Length / 2.0 - half) - 1);
        int k = Math.Min(s.Length - 1, (int)Math.Ceiling(s.Length / 2.0 + half));
        return new(s[j], s[k]);
    }

    /// <summary>Values above Q3 + 1.5·IQR (Tukey's upper fence): the runs an interruption or a clock change slowed.</summary>
    public static int UpperOutliers(IReadOnlyList<double> values)
    {
        var s = values.Order().ToArray();
        if (s.Length < 4) return 0;
        double q1 = Quantile(s, 0.25), q3 = Quantile(s, 0.75);
        return s.Count(v => v > q3 + 1.5 * (q3 - q1));
    }

    /// <summary>Linear interpolation between order statistics (numpy's default).</summary>
    private static double Quantile(double[] sorted, double q)
    {
        double pos = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos);
        int hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }

    /// <summary>Relative spread of round medians: (max − min) / median of them.</summary>
    public static double Spread(IReadOnlyList<double> roundMedians)
        => roundMedians.Count < 2 ? 0 : (roundMedians.Max() - roundMedians.Min()) / Median(roundMedians);

    /// <summary>Mann-Whitney U of <paramref name="b"/> against <paramref name="a"/> (ranks averaged over ties).</summary>
    public static MannWhitney Test(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        int n1 = a.Count, n2 = b.Count, n = n1 + n2;
        if (n1 == 0 || n2 == 0) throw new ArgumentException("both samples need values");
        var all = a.Select(v => (v, First: true)).Concat(b.Select(v => (v, First: false))).OrderBy(x => x.v).ToArray();
        double rankSumB = 0, tieTerm = 0;
        for (int i = 0; i < n;)
        {
            int j = i;
            while (j + 1 < n && all[j + 1].v == all[i].v) j++;
            double rank = (i + j) / 2.0 + 1;
            int t = j - i + 1;
            tieTerm += (double)t * t * t - t;
            for (int k = i; k <= j; k++) if (!all[k].First) rankSumB += rank;
            i = j + 1;
        }
        double u = rankSumB - n2 * (n2 + 1) / 2.0;
        double mean = n1 * (double)n2 / 2;
        double variance = n1 * (double)n2 / 12 * (n + 1 - tieTerm / ((double)n * (n - 1)));
        if (variance <= 0) return new(u, 0, 1);
        double z = (u - mean) / Math.Sqrt(variance);
        return new(u, z, Math.Min(1, Erfc(Math.Abs(z) / Math.Sqrt(2))));
    }

    /// <summary>The complementary error function (Chebyshev fit, fractional error below 1.2e-7 everywhere).</summary>
    public static double Erfc(double x)
    {
        double z = Math.Abs(x);
        double t = 1 / (1 + 0.5 * z);
        double r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
            + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }
}
