using PolyNet.Jobs.Bench;
using Xunit;

namespace PolyNet.Jobs.Tests.Bench;

public class LatencyStatisticsTests
{
    [Fact]
    public void Mann_whitney_matches_a_hand_computed_example_and_is_symmetric()
    {
        // a = 1..5, b = 6..10: U of b = 25 (every b above every a); mean 12.5, variance 25·11/12.
        var t = LatencyStatistics.Test([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]);
        Assert.Equal(25, t.U);
        Assert.Equal((25 - 12.5) / Math.Sqrt(25 * 11 / 12.0), t.Z, 12);
        Assert.Equal(0.00902, t.P, 4);  // two-sided normal approximation: 2·(1 − Φ(2.611))
        var back = LatencyStatistics.Test([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]);
        Assert.Equal(-t.Z, back.Z, 12);
        Assert.Equal(1.0, LatencyStatistics.Test([3, 3, 3], [3, 3, 3]).P);
    }

    [Fact]
    public void Erfc_is_accurate_to_the_fits_bound()
    {
        foreach (var (x, want) in new[] { (0.0, 1.0), (0.5, 0.4795001221869535), (1.0, 0.15729920705028513), (2.0, 0.004677734981047266), (-1.0, 1.8427007929497148) })
            Assert.Equal(want, LatencyStatistics.Erfc(x), 1.2e-7 * Math.Max(1, want));
    }

    [Fact]
    public void The_median_interval_covers_the_median_and_narrows_with_more_runs()
    {
        var rng = new Random(7);
        double[] Draw(int n) => Enumerable.Range(0, n).Select(_ => 10 + rng.NextDouble()).ToArray();
        var small = LatencyStatistics.MedianCi(Draw(50));
        var large = LatencyStatistics.MedianCi(Draw(5000));
        Assert.InRange(10.5, large.Low, large.High);
        Assert.True(large.High - large.Low < (small.High - small.Low) / 4);
        Assert.Equal(new MedianInterval(1, 5), LatencyStatistics.MedianCi([3, 1, 5, 2, 4]));
    }

    [Fact]
    public void Outliers_are_the_runs_beyond_tukeys_upper_fence()
    {
        var runs = Enumerable.Repeat(1.0, 96).Concat([1.1, 1.2, 9.0, 12.0]).ToArray();
        Assert.Equal(4, LatencyStatistics.UpperOutliers(runs));  // IQR 0: anything above 1 is beyond the fence
        Assert.Equal(2, LatencyStatistics.UpperOutliers(Enumerable.Range(0, 100).Select(i => 1 + i / 1000.0).Concat([5.0, 6.0]).ToArray()));
    }
}

public class BaselineTests
{
    private static double[] Runs(double median, int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => median * (1 + 0.02 * (rng.NextDouble() - 0.5))).ToArray();
    }

    [Fact]
    public void The_same_distribution_passes_and_a_planted_slowdown_beyond_the_threshold_fails()
    {
        var baseline = Runs(2.0, 500, 1);
        var same = Baseline.Compare("r", baseline, Runs(2.0, 500, 2), 0.05);
        Assert.Equal(("same", false), (same.Verdict, same.Fails));
        var slower = Baseline.Compare("r", baseline, Runs(2.3, 500, 3), 0.05);
        Assert.Equal(("slower", true), (slower.Verdict, slower.Fails));
        Assert.Equal(0.15, slower.Change, 2);
        Assert.True(slower.P < 1e-10);
        Assert.Equal("faster", Baseline.Compare("r", baseline, Runs(1.6, 500, 4), 0.05).Verdict);
    }

    [Fact]
    public void A_significant_change_within_the_threshold_passes()
    {
        var v = Baseline.Compare("r", Runs(2.0, 2000, 5), Runs(2.04, 2000, 6), 0.05);
        Assert.True(v.P < Baseline.Alpha);
        Assert.Equal(("same", false), (v.Verdict, v.Fails));
        Assert.Equal("slower", Baseline.Compare("r", Runs(2.0, 2000, 5), Runs(2.04, 2000, 6), 0.01).Verdict);
    }
}
