using PolyNet.Jobs.Bench;
using Xunit;

namespace PolyNet.Jobs.Tests.Bench;

public class LatencyStatisticsTests
{
    [Fact]
    public void Mann_whitney_is_one_sided_and_exact_on_small_samples()
    {
        // Every value of b above every value of a: the most extreme of C(10, 5) = 252 equally likely orders.
        Assert.Equal(1 / 252.0, LatencyStatistics.PLargerBeyond([1, 2, 3, 4, 5], [6, 7, 8, 9, 10], 0), 6);
        Assert.True(LatencyStatistics.PLargerBeyond([6, 7, 8, 9, 10], [1, 2, 3, 4, 5], 0) > 0.99);
        Assert.True(LatencyStatistics.PLargerBeyond([3, 3, 3], [3, 3, 3], 0) > 0.3);
    }

    [Fact]
    public void Thousands_of_runs_get_an_answer_not_NaN()
    {
        // Perfolizer's own test overflows from about 1,030 runs per side; PolyNet thins the sample first.
        var rng = new Random(9);
        var a = Enumerable.Range(0, 5000).Select(_ => 1 + 0.01 * rng.NextDouble()).ToArray();
        var b = Enumerable.Range(0, 3000).Select(_ => 1.02 + 0.01 * rng.NextDouble()).ToArray();
        Assert.True(LatencyStatistics.PLargerBeyond(a, b, 0) < 1e-10);
        Assert.True(LatencyStatistics.PLargerBeyond(b, a, 0) > 0.99);
        Assert.True(LatencyStatistics.PLargerBeyond(a, a, 0) is > 0.05 and <= 1);
    }

    [Fact]
    public void The_threshold_asks_for_more_than_that_much_slower()
    {
        var rng = new Random(3);
        var a = Enumerable.Range(0, 300).Select(_ => 1 + 0.01 * rng.NextDouble()).ToArray();
        var b = a.Select(v => v * 1.10).ToArray();
        Assert.True(LatencyStatistics.PLargerBeyond(a, b, 0.05) < 1e-6);   // 10% slower is beyond 5%
        Assert.True(LatencyStatistics.PLargerBeyond(a, b, 0.20) > 0.99);   // but not beyond 20%
    }

    [Fact]
    public void The_hodges_lehmann_ratio_finds_a_planted_factor_with_an_interval_around_it()
    {
        var rng = new Random(5);
        var a = Enumerable.Range(0, 400).Select(_ => 2 + 0.2 * rng.NextDouble()).ToArray();
        var exact = LatencyStatistics.Ratio(a, a.Select(v => v * 1.25).ToArray());
        Assert.Equal(1.25, exact.Estimate, 9);
        var noisy = LatencyStatistics.Ratio(a, Enumerable.Range(0, 400).Select(_ => 1.25 * (2 + 0.2 * rng.NextDouble())).ToArray());
        Assert.InRange(1.25, noisy.Low, noisy.High);
        Assert.True(noisy.Low < noisy.Estimate && noisy.Estimate < noisy.High);
        Assert.True(noisy.High - noisy.Low < 0.03, $"{noisy}");
        var few = LatencyStatistics.Ratio(a[..8], a[8..16]);
        Assert.True(few.High - few.Low > noisy.High - noisy.Low);  // fewer runs, wider interval
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
        var five = LatencyStatistics.MedianCi([3, 1, 5, 2, 4]);
        Assert.True(five.Low >= 1 && five.Low <= 3 && five.High >= 3 && five.High <= 5, $"{five}");
        Assert.Equal(new MedianInterval(1, 2), LatencyStatistics.MedianCi([2, 1]));
    }

    [Fact]
    public void Runs_the_timer_made_equal_still_get_a_finite_median_interval()
    {
        // A 2 µs model timed at 1 µs resolution: most runs equal, where the Maritz-Jarrett margin is undefined.
        var runs = Enumerable.Repeat(0.002, 480).Concat(Enumerable.Repeat(0.003, 20)).ToArray();
        Assert.Equal(new MedianInterval(0.002, 0.002), LatencyStatistics.MedianCi(runs));
        var same = LatencyStatistics.MedianCi(Enumerable.Repeat(5.0, 100).ToArray());
        Assert.Equal(new MedianInterval(5, 5), same);
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
        Assert.Equal(0.15, slower.Shift, 2);
        Assert.InRange(slower.Shift, slower.ShiftLow, slower.ShiftHigh);
        Assert.True(slower.P < 1e-10);
        Assert.StartsWith("SLOWER: median +15.", slower.Describe(0.05));
        Assert.EndsWith("(p < 1e-300)", (slower with { P = 0 }).Describe(0.05));  // underflow is not "p = 0"
        Assert.Equal("faster", Baseline.Compare("r", baseline, Runs(1.6, 500, 4), 0.05).Verdict);
    }

    [Fact]
    public void A_significant_change_within_the_threshold_passes()
    {
        // 2% slower, beyond doubt at 2000 runs each, but not beyond the 5% allowed.
        Assert.True(LatencyStatistics.PLargerBeyond(Runs(2.0, 2000, 5), Runs(2.04, 2000, 6), 0) < 1e-10);
        var v = Baseline.Compare("r", Runs(2.0, 2000, 5), Runs(2.04, 2000, 6), 0.05);
        Assert.True(v.P > Baseline.Alpha);
        Assert.InRange(0.02, v.ShiftLow, v.ShiftHigh);
        Assert.Equal(("same", false), (v.Verdict, v.Fails));
        Assert.Equal("slower", Baseline.Compare("r", Runs(2.0, 2000, 5), Runs(2.04, 2000, 6), 0.01).Verdict);
    }
}
