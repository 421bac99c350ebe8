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
        Assert.Equal(2f, h.AbsMax); // the largest finite |x|: a range must be finite
        Assert.Equal(2.0 / 2048, h.Width); // the finite values set the bins
        Assert.Equal(2f, Ranges.Choose(h, CalibrationMethod.MinMax));
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

    /// <summary>
    /// pytorch-quantization's _compute_amax_entropy as published (num_bits 8, signed: 128 levels), written the way it
    /// is written there, with bin edges from linspace and digitize, independently of <see cref="Ranges.Entropy"/>.
    /// </summary>
    private static double ReferenceEntropy(long[] hist, double width)
    {
        var bins = hist.Select(c => (double)c).ToArray();
        bins[0] = bins[1];
        const int nbins = 128;
        double best = double.PositiveInfinity;
        int bestI = -1;
        for (int i = 128; i <= bins.Length; i++)
        {
            var space = Enumerable.Range(0, nbins + 1).Select(k => (double)i * k / nbins).ToArray();
            var dig = Enumerable.Range(0, i).Select(j => bins[j] == 0 ? -1 : Array.FindLastIndex(space, e => e <= j)).ToArray();
            var sums = new double[nbins];
            var counts = new int[nbins];
            for (int j = 0; j < i; j++) if (dig[j] >= 0) { sums[dig[j]] += bins[j]; counts[dig[j]]++; }
            var q = Enumerable.Range(0, i).Select(j => dig[j] < 0 ? 0 : sums[dig[j]] / counts[dig[j]]).ToArray();
            var p = bins.Take(i).ToArray();
            p[i - 1] += bins.Skip(i).Sum();
            double ps = p.Sum(), qs = q.Sum(), kl = 0;
            for (int j = 0; j < i; j++)
            {
                if (p[j] == 0) continue;
                kl += q[j] == 0 ? double.PositiveInfinity : p[j] / ps * Math.Log(p[j] / ps / (q[j] / qs));
            }
            if (kl <= best) { best = kl; bestI = i; }
        }
        return bestI * width;
    }

    [Theory]
    [InlineData(11, 0.0)]
    [InlineData(12, 8.0)]
    [InlineData(13, 25.0)]
    public void Entropy_matches_the_published_reference_algorithm(int seed, double outlier)
    {
        // A ReLU-like tensor (many exact zeros), a Gaussian tail, a few outliers: the range reaches the last bin.
        var v = Gaussian(20_000, seed).Select(x => Math.Max(x, 0f)).Concat(Enumerable.Repeat((float)outlier, outlier > 0 ? 3 : 0)).ToArray();
        var h = Hist(v);
        double expected = Math.Min(ReferenceEntropy(h.Counts.ToArray(), h.Width), h.AbsMax);
        Assert.Equal((float)expected, Ranges.Entropy(h));
    }

    [Fact]
    public void Clipped_share_apportions_the_cut_bin_and_counts_infinities()
    {
        var h = Hist(Enumerable.Range(0, 2047).Select(i => (i + 0.5f) / 2048f).Append(1f).Append(float.PositiveInfinity).Append(float.NaN).ToArray());
        // 2048 finite values, one per bin of width 1/2048, and one infinity (the NaN is not a value INT8 can clip).
        Assert.Equal((1024 + 1) / 2049.0, h.ClippedShare(0.5), 9);
        Assert.Equal((1024 - 0.5 + 1) / 2049.0, h.ClippedShare(0.5 + 0.5 / 2048), 9);
        Assert.Equal(1 / 2049.0, h.ClippedShare(10), 9);
        Assert.Equal(0, h.ClippedShare(double.PositiveInfinity));
        Assert.Equal(1, h.ClippedShare(double.NaN));
    }
}
