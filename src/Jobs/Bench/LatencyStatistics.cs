using Perfolizer.Mathematics.Common;
using Perfolizer.Mathematics.OutlierDetection;
using Perfolizer.Mathematics.QuantileEstimators;
using Perfolizer.Mathematics.SignificanceTesting.Base;
using Perfolizer.Mathematics.SignificanceTesting.MannWhitney;
using Perfolizer.Metrology;
using Pragmastat;

namespace PolyNet.Jobs.Bench;

/// <summary>A 95% confidence interval for a median, in milliseconds.</summary>
public sealed record MedianInterval(double Low, double High);

/// <summary>A ratio of latencies (current / baseline) with its 95% interval; 1.10 is 10% slower.</summary>
public sealed record RatioInterval(double Estimate, double Low, double High);

/// <summary>
/// The statistics of latency samples that a CI gate can trust, from Perfolizer (the statistics behind
/// BenchmarkDotNet) and Pragmastat: the Harrell-Davis median with its Maritz-Jarrett interval, Tukey's fences for
/// outliers, the one-sided Mann-Whitney U test with a relative threshold that BenchmarkDotNet's statistical test runs,
/// and the Hodges-Lehmann ratio (the median of all pairwise ratios) as the effect. Pure functions over milliseconds.
/// </summary>
public static class LatencyStatistics
{
    /// <summary>The sample median (the middle order statistic, or the mean of the two middle ones).</summary>
    public static double Median(IReadOnlyList<double> values)
    {
        var s = values.Order().ToArray();
        return s.Length == 0 ? double.NaN : s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    /// <summary>
    /// The 95% Maritz-Jarrett interval of the Harrell-Davis median; with fewer than 3 values, their whole range. Where
    /// the Maritz-Jarrett margin is undefined (runs that the timer's resolution made mostly equal), the distribution-free
    /// interval between the order statistics n/2 ∓ 0.98·√n.
    /// </summary>
    public static MedianInterval MedianCi(IReadOnlyList<double> values)
    {
        if (values.Count < 3) return new(values.Min(), values.Max());
        var ci = HarrellDavisQuantileEstimator.Instance.QuantileConfidenceIntervalEstimator(new Sample(values.ToArray()), Probability.Half)
            .ConfidenceInterval(ConfidenceLevel.L95);
        if (double.IsFinite(ci.Lower) && double.IsFinite(ci.Upper))
            // The interval is estimate ± margin: it may reach past the sample's own range, which no median can.
            return new(Math.Max(ci.Lower, values.Min()), Math.Min(ci.Upper, values.Max()));
        var s = values.Order().ToArray();
        double half = 0.98 * Math.Sqrt(s.Length);
        int lo = Math.Clamp((int)Math.Floor(s.Length / 2.0 - half), 0, s.Length - 1), hi = Math.Clamp((int)Math.Ceiling(s.Length / 2.0 + half), 0, s.Length - 1);
        return new(s[lo], s[hi]);
    }

    /// <summary>Values above Q3 + 1.5·IQR (Tukey's upper fence): the runs an interruption or a clock change slowed.</summary>
    public static int UpperOutliers(IReadOnlyList<double> values)
        => values.Count < 4 ? 0 : TukeyOutlierDetector.Create(values, 1.5, SimpleQuantileEstimator.Instance).UpperOutliers(values).Count();

    /// <summary>Relative spread of round medians: (max − min) / median of them.</summary>
    public static double Spread(IReadOnlyList<double> roundMedians)
        => roundMedians.Count < 2 ? 0 : (roundMedians.Max() - roundMedians.Min()) / Median(roundMedians);

    /// <summary>
    /// The one-sided Mann-Whitney p-value that <paramref name="larger"/> exceeds <paramref name="smaller"/> by more than
    /// the relative <paramref name="threshold"/> (0.05: 5%); small p: it does.
    /// </summary>
    public static double PLargerBeyond(IReadOnlyList<double> smaller, IReadOnlyList<double> larger, double threshold)
    {
        if (smaller.Count == 0 || larger.Count == 0) throw new ArgumentException("both samples need values");
        var t = Threshold.Parse(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{100 * threshold:0.######}%"));
        return MannWhitneyTest.Instance.Perform(new Sample(Thin(larger)), new Sample(Thin(smaller)), AlternativeHypothesis.Greater, t).PValue.Value;
    }

    /// <summary>The most runs per side the test is given.</summary>
    /// <remarks>Perfolizer 0.6.1's Mann-Whitney computes n·m·(n+m+1) in 32 bits and answers NaN from about 1,030 runs
    /// per side; a larger sample is tested as this many evenly spaced order statistics (the same distribution, less
    /// power: the test can only grow more cautious).</remarks>
    public const int MaxTestedRuns = 1000;

    private static double[] Thin(IReadOnlyList<double> values)
    {
        var s = values.Order().ToArray();
        if (s.Length <= MaxTestedRuns) return s;
        return Enumerable.Range(0, MaxTestedRuns).Select(i => s[(int)Math.Round(i * (s.Length - 1) / (double)(MaxTestedRuns - 1))]).ToArray();
    }

    /// <summary>
    /// The Hodges-Lehmann ratio of <paramref name="current"/> to <paramref name="baseline"/> (the median of all pairwise
    /// ratios) and its distribution-free 95% interval: the order statistics of the pairwise log-ratios that Moses'
    /// interval takes (the Mann-Whitney critical count, normal approximation).
    /// </summary>
    public static RatioInterval Ratio(IReadOnlyList<double> baseline, IReadOnlyList<double> current)
    {
        if (baseline.Count == 0 || current.Count == 0) throw new ArgumentException("both samples need values");
        double[] logB = baseline.Select(Log).ToArray(), logC = current.Select(Log).ToArray();
        double m = logC.Length, n = logB.Length, pairs = m * n;
        double k = Math.Floor(pairs / 2 - 1.959964 * Math.Sqrt(pairs * (m + n + 1) / 12));
        double low = Math.Clamp(k / pairs, 0, 0.5);
        var q = Pragmastat.Algorithms.FastShift.Estimate(logC, logB, [low, 0.5, 1 - low], false);
        return new(Math.Exp(q[1]), Math.Exp(q[0]), Math.Exp(q[2]));

        static double Log(double v) => Math.Log(Math.Max(v, 1e-12));
    }
}
