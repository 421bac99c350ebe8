using PolyNet.Calibration;
using PolyNet.Onnx;
using Xunit;

namespace PolyNet.Calibration.Tests;

public class RangesTests
{
    private static TensorHistogram Hist(params float[][] batches)
    {
        var h = new TensorHistogram();
        foreach (var b in batches) h.Add(b);
        return h;
    }

    private static float[] Gaussian(int n, int seed)
    {
        var rng = new Random(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        return v;
    }

    [Fact]
    public void MinMax_is_the_exact_largest_magnitude_over_every_batch()
    {
        var h = Hist([0.25f, -3.5f, 1f], [2f, -0.001f], [3.25f]);
        Assert.Equal(3.5f, Ranges.Choose(h, CalibrationMethod.MinMax));
        Assert.Equal(6, h.Count);
    }

    [Fact]
    public void The_histogram_doubles_its_range_by_merging_pairs_of_bins()
    {
        var h = Hist([0.5f, 1f]);
        Assert.Equal(1.0 / 2048, h.Width);
        Assert.Equal(1, h.Counts[1024]);
        Assert.Equal(1, h.Counts[2047]); // the largest value sits in the last bin
        h.Add([3f]);
        Assert.Equal(4.0 / 2048, h.Width); // doubled twice to hold 3
        Assert.Equal(1, h.Counts[256]);
        Assert.Equal(1, h.Counts[511]);
        Assert.Equal(1, h.Counts[1536]);
        long sum = 0;
        foreach (var c in h.Counts) sum += c;
        Assert.Equal(3, sum);
    }

    [Fact]
    public void NaNs_and_infinities_are_counted_apart()
    {
        var h = Hist([1f, float.NaN, float.PositiveInfinity, -2f]);
        Assert.Equal(1, h.NaNs);
        Assert.Equal(1, h.Infinities);
        Assert.Equal(2, h.Count);
        Assert.Equal(float.PositiveInfinity, h.AbsMax);
        Assert.Equal(2.0 / 2048, h.Width); // the finite values set the bins
    }

    [Fact]
    public void Entropy_keeps_the_whole_range_of_a_uniform_distribution()
    {
        var rng = new Random(3);
        var v = Enumerable.Range(0, 200_000).Select(_ => (float)rng.NextDouble() * 2 - 1).ToArray();
        var h = Hist(v);
        float r = Ranges.Entropy(h);
        Assert.InRange(r, 0.95f * h.AbsMax, h.AbsMax);
    }

    [Fact]
    public void Entropy_clips_a_few_far_outliers_of_a_gaussian()
    {
        var v = Gaussian(200_000, 7).Concat(Enumerable.Repeat(60f, 5)).ToArray();
        var h = Hist(v);
        Assert.Equal(60f, h.AbsMax);
        float r = Ranges.Entropy(h);
        Assert.InRange(r, 2f, 10f); // the Gaussian's bulk, not the outliers
        // The range is a bin edge (i × width) with i at least 128.
        double bins = r / h.Width;
        Assert.True(Math.Abs(bins - Math.Round(bins)) < 1e-3 && Math.Round(bins) >= 128, $"{bins} bins");
        Assert.InRange(h.ClippedShare(r), 2.4e-5, 1e-3);
    }

    [Fact]
    public void Entropy_accumulates_batches_into_one_histogram()
    {
        var g = Gaussian(100_000, 9);
        var whole = Ranges.Entropy(Hist(g));
        var batched = Ranges.Entropy(Hist(g[..50_000], g[50_000..]));
        Assert.InRange(batched, whole * 0.9f, whole * 1.1f);
    }

    [Fact]
    public void Entropy_edge_cases_constant_and_zero_tensors()
    {
        Assert.Equal(1.5f, Ranges.Entropy(Hist(Enumerable.Repeat(-1.5f, 100).ToArray())));
        Assert.Equal(0f, Ranges.Entropy(Hist(new float[64])));
        Assert.Equal(0f, Ranges.Entropy(new TensorHistogram()));
    }

    [Fact]
    public void Percentile_is_the_upper_edge_of_the_bin_where_the_share_is_reached()
    {
        var v = Enumerable.Range(1, 1000).Select(i => (float)i).ToArray();
        var h = Hist(v);
        float r = Ranges.Percentile(h, 99);
        Assert.InRange(r, 990f, 990f + (float)h.Width);
        Assert.Equal(1000f, Ranges.Percentile(h, 100));
        Assert.InRange(h.ClippedShare(r), 0.0, 0.01);
        Assert.Throws<InvalidInputException>(() => Ranges.Percentile(h, 0));
        Assert.Throws<InvalidInputException>(() => Ranges.Percentile(h, 101));
    }

    [Fact]
    public void A_range_becomes_a_scale_of_range_over_127()
    {
        var e = CacheEntry.FromRange("t", 127f);
        Assert.Equal(0x3f800000u, e.ScaleBits);
        Assert.Equal(127f, e.DynamicRange);
        Assert.Equal(0x3c010204u, CacheEntry.FromRange("t", 1f).ScaleBits);
    }
}
