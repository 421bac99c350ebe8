using PolyNet.Compare.Kernels;
using PolyNet.Onnx;
using Xunit;

namespace PolyNet.Compare.Tests.Kernels;

/// <summary>
/// The SIMD float32 path against the scalar double path and against sorting (the reference for quantiles), on
/// every length 0..256 and on large inputs, with NaN, infinities, zeros and ties mixed in. Fixed seeds throughout.
/// </summary>
public class ComparisonEngineTests
{
    private static (TensorData R, TensorData C) Pair(int n, int seed, bool specials)
    {
        var rng = new Random(seed);
        var r = new float[n];
        var c = new float[n];
        for (int i = 0; i < n; i++)
        {
            r[i] = (float)(rng.NextDouble() * 4 - 2);
            c[i] = r[i] + (float)((rng.NextDouble() - 0.5) * 1e-3);
            if (specials)
            {
                switch (rng.Next(40))
                {
                    case 0: r[i] = c[i] = float.NaN; break;
                    case 1: c[i] = float.NaN; break;
                    case 2: r[i] = c[i] = float.PositiveInfinity; break;
                    case 3: r[i] = float.NegativeInfinity; c[i] = float.PositiveInfinity; break;
                    case 4: r[i] = 0; break;
                    case 5: c[i] = r[i]; break;
                    case 6: r[i] = 0; c[i] = 0; break;
                }
            }
        }
        return (TensorData.Create<float>([n], r), TensorData.Create<float>([n], c));
    }

    private static double[] Sorted(TensorData r, TensorData c, Func<double, double, double> q)
        => Enumerable.Range(0, (int)r.ElementCount).Select(i => q(r.GetDouble(i), c.GetDouble(i))).Where(v => !double.IsNaN(v)).Order().ToArray();

    private static double NumpyQuantile(double[] sorted, double p)
    {
        if (sorted.Length == 0) return double.NaN;
        double h = p * (sorted.Length - 1);
        int k = (int)Math.Floor(h);
        int k1 = Math.Min(k + 1, sorted.Length - 1);
        double frac = h - k;
        return frac == 0 || sorted[k] == sorted[k1] ? sorted[k] : double.IsInfinity(sorted[k1]) ? sorted[k1] : sorted[k] + frac * (sorted[k1] - sorted[k]);
    }

    [Fact]
    public void Simd_path_matches_the_scalar_definition_for_every_length_up_to_256()
    {
        for (int n = 0; n <= 256; n++)
        {
            var (r, c) = Pair(n, n, specials: true);
            var m = ComparisonEngine.Run(r, c, 1e-4, 1e-3, 0.99);
            long mismatches = 0, nanR = 0, infAbs = 0;
            double maxAbs = n == 0 ? -1 : 0;
            for (int i = 0; i < n; i++)
            {
                double rv = r.GetDouble(i), cv = c.GetDouble(i);
                double abs = ErrorMath.AbsError(rv, cv);
                if (!ErrorMath.Passes(abs, rv, 1e-4, 1e-3)) mismatches++;
                if (double.IsNaN(rv)) nanR++;
                if (double.IsPositiveInfinity(abs)) infAbs++;
                maxAbs = Math.Max(maxAbs, abs);
            }
            Assert.True(mismatches == m.Mismatches, $"n={n}: mismatches {m.Mismatches} != {mismatches}");
            Assert.Equal(nanR, m.NanReference);
            Assert.Equal(infAbs, m.InfiniteAbsErrors);
            if (n > 0)
            {
                Assert.Equal(maxAbs, m.AbsError.Max, 6);
                Assert.Equal(maxAbs, m.WorstAbs!.AbsError, 6);
            }
        }
    }

    [Theory]
    [InlineData(1_000, false)]
    [InlineData(70_000, true)]
    [InlineData(1_500_000, true)]
    public void Quantiles_are_exact_order_statistics(int n, bool specials)
    {
        var (r, c) = Pair(n, 7, specials);
        long fallbacks = Interlocked.Read(ref ComparisonEngine.FullSelections);
        var m = ComparisonEngine.Run(r, c, 1e-5, 1e-5, 0.75);
        // NaN and infinities leave fewer comparable values than planned; the brackets still resolve every rank.
        Assert.Equal(fallbacks, Interlocked.Read(ref ComparisonEngine.FullSelections));
        var abs = Sorted(r, c, (a, b) => FusedKernel.AbsF((float)a, (float)b));
        var refs = Sorted(r, c, (a, _) => double.IsFinite(a) ? a : double.NaN);
        foreach (var (p, got) in new[] { (0.5, m.AbsError.Median), (0.9, m.AbsError.P90), (0.95, m.AbsError.P95), (0.99, m.AbsError.P99), (0.75, m.AbsError.Quantile) })
            Assert.True(NumpyQuantile(abs, p) == got, $"abs p{p}: {got} vs {NumpyQuantile(abs, p)}");
        foreach (var (p, got) in new[] { (0.5, m.Reference.Median), (0.99, m.Reference.P99) })
            Assert.Equal(NumpyQuantile(refs, p), got, 12);
        Assert.Equal(refs.Length, m.Reference.Count);
    }

    [Fact]
    public void Massive_ties_and_identical_tensors_give_exact_quantiles()
    {
        var n = 300_000;
        var r = TensorData.Create<float>([n], Enumerable.Range(0, n).Select(i => (float)(i % 3)).ToArray());
        var m = ComparisonEngine.Run(r, r, 0, 0, 0.99);
        Assert.Equal(0, m.Mismatches);
        Assert.Equal(0, m.AbsError.Max);
        Assert.Equal(0, m.AbsError.Median);
        Assert.Equal(1, m.Reference.Median);
        Assert.Equal(2, m.Reference.P99);
        Assert.Equal(double.PositiveInfinity, m.SnrDb);
        Assert.Equal(1, m.CosineSimilarity, 12);
        Assert.Equal(n, m.AbsHistogram!.Bins[0].Count); // everything in the exact-zero bin
    }

    [Fact]
    public void Float16_and_bfloat16_go_through_the_same_kernels()
    {
        var n = 300_000;
        var rng = new Random(3);
        var f = Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).ToArray();
        var h = TensorData.Create<Half>([n], f.Select(v => (Half)v).ToArray());
        var hf = TensorData.Create<float>([n], f.Select(v => (float)(Half)v).ToArray());
        var b = TensorData.Create<BFloat16>([n], f.Select(BFloat16.FromFloat).ToArray());
        var bf = TensorData.Create<float>([n], f.Select(v => BFloat16.FromFloat(v).ToFloat()).ToArray());
        var viaHalf = ComparisonEngine.Run(h, b, 1e-3, 1e-3, 0.99);
        var viaFloat = ComparisonEngine.Run(hf, bf, 1e-3, 1e-3, 0.99);
        Assert.Equal(viaFloat.Mismatches, viaHalf.Mismatches);
        Assert.Equal(viaFloat.AbsError.Median, viaHalf.AbsError.Median);
        Assert.Equal(viaFloat.AbsError.Max, viaHalf.AbsError.Max);
    }

    [Fact]
    public void Results_do_not_depend_on_the_thread_count()
    {
        var (r, c) = Pair(2_000_000, 11, specials: true);
        var one = ComparisonEngine.Run(r, c, 1e-4, 1e-4, 0.99, threads: 1);
        var two = ComparisonEngine.Run(r, c, 1e-4, 1e-4, 0.99, threads: 2);
        Assert.Equal(one.AbsError, two.AbsError);
        Assert.Equal(one.RelError, two.RelError);
        Assert.Equal(one.Reference, two.Reference);
        Assert.Equal(one.CosineSimilarity, two.CosineSimilarity);
        Assert.Equal(one.WorstAbs, two.WorstAbs);
    }

    [Fact]
    public void Histograms_count_every_element_once()
    {
        var (r, c) = Pair(123_457, 5, specials: true);
        var m = ComparisonEngine.Run(r, c, 1e-4, 1e-4, 0.99);
        Assert.Equal(m.Count, m.AbsHistogram!.Total);
        Assert.Equal(m.Count, m.RelHistogram!.Total);
        Assert.Equal(m.Reference.Count, m.ReferenceHistogram!.Total);
        Assert.Equal(m.Candidate.Count, m.CandidateHistogram!.Total);
        Assert.Equal(m.InfiniteAbsErrors, m.AbsHistogram.Bins.Single(b => b.Label == "inf").Count);
        // Octave bins: each finite error lies in [Low, High) of exactly the bin that counts it.
        var abs = Enumerable.Range(0, (int)m.Count).Select(i => (double)FusedKernel.AbsF(r.Span<float>()[i], c.Span<float>()[i])).ToArray();
        foreach (var b in m.AbsHistogram.Bins.Where(b => b.Label is not ("0" or "inf")))
            Assert.Equal(abs.Count(v => v >= b.Low && v < b.High), b.Count);
    }
}

public class SelectTests
{
    [Fact]
    public void Nth_equals_sorting_for_random_and_adversarial_inputs()
    {
        var rng = new Random(1);
        foreach (var n in new[] { 1, 2, 3, 31, 32, 33, 1000, 10_000 })
        {
            var data = Enumerable.Range(0, n).Select(_ => (float)rng.Next(50)).ToArray();
            var sorted = data.Order().ToArray();
            foreach (var k in new[] { 0, n / 2, n - 1 })
                Assert.Equal(sorted[k], Select.Nth<float>((float[])data.Clone(), k));
            var organ = Enumerable.Range(0, n).Select(i => (float)Math.Min(i, n - i)).ToArray();
            Assert.Equal(organ.Order().ElementAt(n / 2), Select.Nth<float>(organ, n / 2));
        }
    }
}
