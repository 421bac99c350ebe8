using PolyNet.Compare;
using PolyNet.Onnx;
using Xunit;

namespace PolyNet.Compare.Tests;

/// <summary>Metrics beside a FAILED never flatter a broken output: NaN is not a number, and nothing about it measures well.</summary>
public class NonFiniteTests
{
    private static OutputComparison Compare(float[] r, float[] c)
        => TensorComparer.CompareTensors("y", TensorData.Create<float>([1, 2, r.Length / 2], r), TensorData.Create<float>([1, 2, c.Length / 2], c), new Tolerance(1e-5, 1e-5),
            new CompareOptions { Explain = ExplainMode.All });

    [Fact]
    public void An_all_nan_candidate_has_no_similarity_score_and_no_error_magnitude()
    {
        var r = Enumerable.Range(1, 64).Select(i => i * 0.5f).ToArray();
        var o = Compare(r, Enumerable.Repeat(float.NaN, 64).ToArray());
        var m = o.Metrics!;
        Assert.False(o.Passed);
        Assert.Equal(0, m.SimilarityPairs);
        Assert.Equal(64, m.SimilarityExcluded);
        Assert.True(double.IsNaN(m.CosineSimilarity) && double.IsNaN(m.RelativeL2) && double.IsNaN(m.SnrDb) && double.IsNaN(m.PsnrDb),
            $"cos {m.CosineSimilarity}, rel L2 {m.RelativeL2}, SNR {m.SnrDb}, PSNR {m.PsnrDb}");
        // The error of NaN against a number is NaN, not infinity.
        Assert.True(double.IsNaN(m.WorstAbs!.AbsError));
        Assert.All(o.Explanation!.Worst, e => Assert.True(double.IsNaN(e.Abs) && double.IsNaN(e.Rel)));
        // Bands and channels say every error is non-finite instead of averaging nothing into 0.
        Assert.All(o.Explanation.Magnitudes, b => { Assert.Equal(b.Count, b.NonFinite); Assert.True(double.IsNaN(b.MeanAbs) && double.IsNaN(b.MaxAbs)); });
        Assert.All(o.Explanation.Channels, ch => { Assert.Equal(ch.Count, ch.NonFinite); Assert.True(double.IsNaN(ch.MeanAbs)); });
        Assert.Equal(64, m.Mismatches);
    }

    [Fact]
    public void Some_nans_leave_the_similarity_to_the_finite_pairs_and_say_how_many_were_left_out()
    {
        var r = Enumerable.Range(1, 64).Select(i => i * 0.5f).ToArray();
        var c = r.Select((v, i) => i % 8 == 0 ? float.NaN : v * 1.01f).ToArray();
        var o = Compare(r, c);
        var m = o.Metrics!;
        Assert.Equal(56, m.SimilarityPairs);
        var finite = Enumerable.Range(0, 64).Where(i => i % 8 != 0).ToList();
        double num = finite.Sum(i => Math.Pow((double)c[i] - r[i], 2)), den = finite.Sum(i => (double)r[i] * r[i]);
        Assert.Equal(Math.Sqrt(num / den), m.RelativeL2, 6);
        Assert.True(m.CosineSimilarity > 0.9999);
        // Band means are over finite errors, and the bands count the others.
        var x = o.Explanation!;
        Assert.Equal(8, x.Magnitudes.Sum(b => b.NonFinite));
        foreach (var b in x.Magnitudes.Where(b => b.NonFinite < b.Count)) Assert.True(b.MeanAbs > 0 && double.IsFinite(b.MaxAbs), $"{b}");
    }
    [Theory]
    [InlineData(64)]
    [InlineData(1 << 20)]
    public void Error_quantiles_leave_out_elements_nan_on_one_side_and_the_maximum_is_nan(int n)
    {
        // Every 8th candidate is NaN; the others are off by exactly their index's share of 1e-3 of the reference.
        var r = Enumerable.Range(0, n).Select(i => 1f + (i % 1000)).ToArray();
        var c = r.Select((v, i) => i % 8 == 0 ? float.NaN : v + 0.25f).ToArray();
        var m = Compare(r, c).Metrics!;
        Assert.Equal(n / 8, m.NanPairs);
        Assert.Equal(n - n / 8, m.AbsError.Count);
        Assert.True(double.IsNaN(m.AbsError.Max) && double.IsNaN(m.RelError.Max));
        // Over the numbers, every error is 0.25: no infinity from the NaNs leaks into the median or the p99.
        Assert.Equal(0.25, m.AbsError.Median, 6);
        Assert.Equal(0.25, m.AbsError.P99, 6);
        Assert.Equal(0.25, m.AbsError.Mean, 6);
        Assert.True(double.IsFinite(m.RelError.P99));
        Assert.Equal(n / 8, m.AbsHistogram!.Bins.Single(b => double.IsNaN(b.Low)).Count);
        Assert.DoesNotContain(m.AbsHistogram.Bins, b => double.IsPositiveInfinity(b.Low));
        Assert.Equal(n, m.AbsHistogram.Bins.Sum(b => b.Count));
        Assert.Equal(n / 8, m.InfiniteAbsErrors);
    }
    [Fact]
    public void A_single_element_has_no_cosine_to_flatter_it()
    {
        // 0.0094 against 0.132 is 13 times off; the cosine of two one-element vectors of one sign is 1 whatever they hold.
        var o = TensorComparer.CompareTensors("y", TensorData.Create<float>([1, 1], 0.009435f), TensorData.Create<float>([1, 1], 0.13208f), new Tolerance(1e-3, 1e-3), new CompareOptions());
        Assert.False(o.Passed);
        Assert.True(double.IsNaN(o.Metrics!.CosineSimilarity));
        var two = TensorComparer.CompareTensors("y", TensorData.Create<float>([2], 1f, 2f), TensorData.Create<float>([2], 2f, 4f), new Tolerance(1e-3, 1e-3), new CompareOptions());
        Assert.InRange(two.Metrics!.CosineSimilarity, 0.999999, 1.0);
    }
}
