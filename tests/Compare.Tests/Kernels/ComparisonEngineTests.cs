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

    /// <summary>An error quantity as the distributions define it: none for an element NaN on one side only.</summary>
    private static Func<double, double, double> Err(Func<double, double, double> q) => (a, b) => double.IsNaN(a) != double.IsNaN(b) ? double.NaN : q(a, b);

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
            long mismatches = 0, nanR = 0, infAbs = 0, nanPairs = 0;
            double maxAbs = n == 0 ? -1 : 0;
            for (int i = 0; i < n; i++)
            {
                double rv = r.GetDouble(i), cv = c.GetDouble(i);
                double abs = ErrorMath.AbsError(rv, cv);
                if (!ErrorMath.Passes(abs, rv, 1e-4, 1e-3)) mismatches++;
                if (double.IsNaN(rv)) nanR++;
                if (double.IsPositiveInfinity(abs)) infAbs++;
                if (double.IsNaN(rv) != double.IsNaN(cv)) nanPairs++;
                maxAbs = Math.Max(maxAbs, abs);
            }
            Assert.True(mismatches == m.Mismatches, $"n={n}: mismatches {m.Mismatches} != {mismatches}");
            Assert.Equal(nanR, m.NanReference);
            Assert.Equal(infAbs, m.InfiniteAbsErrors);
            Assert.Equal(nanPairs, m.NanPairs);
            if (n > 0)
            {
                // An element NaN on one side only has no error a number measures: the maximum is NaN then.
                if (nanPairs > 0) Assert.True(double.IsNaN(m.AbsError.Max));
                else Assert.Equal(maxAbs, m.AbsError.Max, 6);
                // The worst element is one with the largest error; its error is reported as a number only if it is one.
                var w = m.WorstAbs!;
                double wr = r.GetDouble(w.FlatIndex), wc = c.GetDouble(w.FlatIndex);
                Assert.Equal(maxAbs, ErrorMath.AbsError(wr, wc), 6);
                Assert.Equal(ErrorMath.ReportedAbs(wr, wc), w.AbsError);
            }
        }
    }

    [Theory]
    [InlineData(1_000, false)]
    [InlineData(70_000, true)]
    [InlineData(70_001, true)]
    [InlineData(1_500_000, true)]
    public void Quantiles_are_exact_order_statistics(int n, bool specials)
    {
        var (r, c) = Pair(n, 7, specials);
        var m = ComparisonEngine.Run(r, c, 1e-5, 1e-5, 0.75);
        var abs = Sorted(r, c, Err((a, b) => FusedKernel.AbsF((float)a, (float)b)));
        var refs = Sorted(r, c, (a, _) => double.IsFinite(a) ? a : double.NaN);
        foreach (var (p, got) in new[] { (0.5, m.AbsError.Median), (0.9, m.AbsError.P90), (0.95, m.AbsError.P95), (0.99, m.AbsError.P99), (0.75, m.AbsError.Quantile) })
            Assert.True(NumpyQuantile(abs, p) == got, $"abs p{p}: {got} vs {NumpyQuantile(abs, p)}");
        foreach (var (p, got) in new[] { (0.5, m.Reference.Median), (0.99, m.Reference.P99) })
            Assert.Equal(NumpyQuantile(refs, p), got, 12);
        Assert.Equal(refs.Length, m.Reference.Count);
    }

    private static void AssertQuantiles(double[] sorted, Distribution d, double userQ, string what)
    {
        foreach (var (p, got) in new[] { (0.5, d.Median), (0.9, d.P90), (0.95, d.P95), (0.99, d.P99), (userQ, d.Quantile) })
            Assert.True(NumpyQuantile(sorted, p) == got, $"{what} p{p}: {got} vs {NumpyQuantile(sorted, p)}");
        Assert.Equal(sorted.Length, d.Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Every_quantity_is_exact_in_radix_mode_for_negative_quantiles_and_an_unrelated_candidate(bool specials)
    {
        // Candidate independent of the reference: its radix counts are almost all corrections to the reference's.
        // The user quantile 0.1 of values in [-2, 2) lies in a bin of negative values (walked from the top bits down).
        int n = 400_007; // not a multiple of 16: the scalar tails of both passes count too
        var (r, _) = Pair(n, 21, specials);
        var (c, _) = Pair(n, 22, specials);
        var m = ComparisonEngine.Run(r, c, 1e-5, 1e-5, 0.1);
        AssertQuantiles(Sorted(r, c, Err((a, b) => FusedKernel.AbsF((float)a, (float)b))), m.AbsError, 0.1, "abs");
        AssertQuantiles(Sorted(r, c, Err((a, b) => FusedKernel.RelF(FusedKernel.AbsF((float)a, (float)b), Math.Abs((float)a)))), m.RelError, 0.1, "rel");
        AssertQuantiles(Sorted(r, c, (a, _) => double.IsFinite(a) ? a : double.NaN), m.Reference, 0.1, "ref");
        AssertQuantiles(Sorted(r, c, (_, b) => double.IsFinite(b) ? b : double.NaN), m.Candidate, 0.1, "cand");
        Assert.True(m.Reference.Quantile < 0);
    }

    [Fact]
    public void Heavy_ties_in_one_bin_are_counted_and_stay_exact_even_for_negative_values()
    {
        // More than RadixQuantiles.KeepLimit values in one bin (ReLU-like zeros on one side, a dense run of distinct
        // negative values just below -1 on the other), so the second pass counts their low bits instead of keeping them.
        int n = (int)RadixQuantiles.KeepLimit + 600_000;
        var rng = new Random(5);
        var r = new float[n];
        var c = new float[n];
        for (int i = 0; i < n; i++)
        {
            r[i] = i % 10 == 0 ? (float)rng.NextDouble() : 0f;
            c[i] = i % 10 == 0 ? (float)rng.NextDouble() : -1f - (i % 50_000) * 1e-7f;
        }
        var rt = TensorData.Create<float>([n], r);
        var ct = TensorData.Create<float>([n], c);
        var m = ComparisonEngine.Run(rt, ct, 1e-5, 1e-5, 0.3);
        AssertQuantiles(Sorted(rt, ct, (a, _) => a), m.Reference, 0.3, "ref");
        AssertQuantiles(Sorted(rt, ct, (_, b) => b), m.Candidate, 0.3, "cand");
        AssertQuantiles(Sorted(rt, ct, (a, b) => FusedKernel.AbsF((float)a, (float)b)), m.AbsError, 0.3, "abs");
    }

    [Fact]
    public void More_than_four_target_bins_one_of_them_counted_stay_exact()
    {
        // 70% exactly 0.5 (more than KeepLimit, so its bin is counted; it spans ranks 15%-85%) and the rest uniform:
        // p50 in 0.5's bin, the user's 0.05, p90, p95 and p99 in four other bins. Five targets: the scan for more than
        // four, with a counted one.
        int n = (int)(RadixQuantiles.KeepLimit / 0.7) + 100_003;
        var rng = new Random(8);
        var r = new float[n];
        var c = new float[n];
        for (int i = 0; i < n; i++)
        {
            r[i] = rng.Next(10) < 3 ? (float)rng.NextDouble() : 0.5f;
            c[i] = r[i] + (r[i] == 0.5f ? 0 : (float)((rng.NextDouble() - 0.5) * 1e-4));
        }
        var rt = TensorData.Create<float>([n], r);
        var ct = TensorData.Create<float>([n], c);
        var m = ComparisonEngine.Run(rt, ct, 1e-5, 1e-5, 0.05);
        AssertQuantiles(Sorted(rt, ct, (a, _) => a), m.Reference, 0.05, "ref");
        AssertQuantiles(Sorted(rt, ct, (_, b) => b), m.Candidate, 0.05, "cand");
        AssertQuantiles(Sorted(rt, ct, (a, b) => FusedKernel.AbsF((float)a, (float)b)), m.AbsError, 0.05, "abs");
    }

    [Fact]
    public void Float16_inputs_with_specials_give_exact_quantiles_of_every_quantity()
    {
        int n = 200_001;
        var (r, c) = Pair(n, 12, specials: true);
        var rh = TensorData.Create<Half>([n], r.Span<float>().ToArray().Select(v => (Half)v).ToArray());
        var ch = TensorData.Create<Half>([n], c.Span<float>().ToArray().Select(v => (Half)v).ToArray());
        var m = ComparisonEngine.Run(rh, ch, 1e-3, 1e-3, 0.3);
        AssertQuantiles(Sorted(rh, ch, Err((a, b) => FusedKernel.AbsF((float)a, (float)b))), m.AbsError, 0.3, "abs");
        AssertQuantiles(Sorted(rh, ch, Err((a, b) => FusedKernel.RelF(FusedKernel.AbsF((float)a, (float)b), Math.Abs((float)a)))), m.RelError, 0.3, "rel");
        AssertQuantiles(Sorted(rh, ch, (a, _) => double.IsFinite(a) ? a : double.NaN), m.Reference, 0.3, "ref");
        AssertQuantiles(Sorted(rh, ch, (_, b) => double.IsFinite(b) ? b : double.NaN), m.Candidate, 0.3, "cand");
    }

    [Fact]
    public void Float64_values_beyond_float32_range_clamp_instead_of_becoming_infinite()
    {
        // Before: (float)-1e39 is -inf, and the median of [-inf, 0] interpolated to NaN; 1e39's error had no bin.
        var r = TensorData.Create<double>([2], -1e39, 0);
        var c = TensorData.Create<double>([2], -1e39, 1e39);
        var m = ComparisonEngine.Run(r, c, 1e-5, 1e-5, 0.5);
        Assert.Equal(-(double)float.MaxValue / 2, m.Reference.Median, 1e30);
        Assert.Equal(m.Count, m.AbsHistogram!.Total);
        Assert.Equal(0, m.InfiniteAbsErrors);
    }

    [Fact]
    public void A_zero_bin_holding_only_zeros_needs_no_second_look_and_stays_exact()
    {
        // ReLU-like: 60% of both sides exactly +0 (more than KeepLimit), the rest close; one tiny positive subnormal on
        // the candidate's side shares the +0 bin in the second case, so the shortcut must not apply there.
        foreach (bool subnormal in new[] { false, true })
        {
            int n = (int)(RadixQuantiles.KeepLimit / 0.6) + 50_001;
            var rng = new Random(13);
            var r = new float[n];
            var c = new float[n];
            for (int i = 0; i < n; i++)
            {
                bool zero = rng.Next(5) < 3;
                r[i] = zero ? 0f : (float)rng.NextDouble();
                c[i] = zero ? 0f : r[i] + (float)((rng.NextDouble() - 0.5) * 1e-5);
            }
            int at = Array.IndexOf(c, 0f);
            if (subnormal) c[at] = float.Epsilon;
            // The user's quantile reads the rank just past the zeros: the subnormal when there is one.
            double q = subnormal ? (double)c.Count(v => v <= 0) / (n - 1) : 0.3;
            var rt = TensorData.Create<float>([n], r);
            var ct = TensorData.Create<float>([n], c);
            var m = ComparisonEngine.Run(rt, ct, 1e-5, 1e-5, q);
            AssertQuantiles(Sorted(rt, ct, (a, _) => a), m.Reference, q, "ref");
            AssertQuantiles(Sorted(rt, ct, (_, b) => b), m.Candidate, q, "cand");
            AssertQuantiles(Sorted(rt, ct, (a, b) => FusedKernel.AbsF((float)a, (float)b)), m.AbsError, q, "abs");
            AssertQuantiles(Sorted(rt, ct, (a, b) => FusedKernel.RelF(FusedKernel.AbsF((float)a, (float)b), Math.Abs((float)a))), m.RelError, q, "rel");
            if (subnormal) Assert.True(m.Candidate.Quantile > 0, $"q {q:R} quantile {m.Candidate.Quantile:R} median {m.Candidate.Median:R} n {n}");
        }
    }

    [Fact]
    public void Float64_inputs_take_the_scalar_path_through_radix_bins_exactly()
    {
        int n = 150_000;
        var rng = new Random(9);
        var r = Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 8 - 4).ToArray();
        var c = r.Select(v => v + (rng.NextDouble() - 0.5) * 1e-3).ToArray();
        var rt = TensorData.Create<double>([n], r);
        var ct = TensorData.Create<double>([n], c);
        var m = ComparisonEngine.Run(rt, ct, 1e-5, 1e-5, 0.25);
        // Quantiles are taken at float32 precision: of the float32-rounded quantities.
        AssertQuantiles(Sorted(rt, ct, (a, _) => (float)a), m.Reference, 0.25, "ref");
        AssertQuantiles(Sorted(rt, ct, Err((a, b) => (float)ErrorMath.AbsError(a, b))), m.AbsError, 0.25, "abs");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Needed_tolerances_and_the_robust_error_match_their_definitions_on_lean_and_full_blocks(bool specials)
    {
        int n = 300_000;
        var (r, c) = Pair(n, 31, specials);
        // A few large errors, so the needed rtol is positive and set by a handful of elements in a few blocks.
        var cs = c.Span<float>();
        for (int i = 1_000; i < n; i += 37_003) cs[i] += 0.5f;
        double atol = 1e-4, rtol = 1e-3;
        var m = ComparisonEngine.Run(r, c, atol, rtol, 0.99);
        var rs = r.Span<float>();
        float fa = (float)atol, fr = (float)rtol, floor = (float)m.RobustFloor;
        double needA = 0, needR = 0, robMax = -1, robSum = 0, peak = 0;
        long robInf = 0;
        for (int i = 0; i < n; i++) if (float.IsFinite(rs[i])) peak = Math.Max(peak, Math.Abs(rs[i]));
        Assert.Equal((float)Math.Max(peak * ComparisonMetrics.RobustFloorFraction, float.Epsilon), floor);
        for (int i = 0; i < n; i++)
        {
            float abs = FusedKernel.AbsF(rs[i], cs[i]), ar = Math.Abs(rs[i]);
            needA = Math.Max(needA, float.IsPositiveInfinity(abs) ? float.PositiveInfinity : abs == 0 ? 0 : abs - fr * ar);
            float tr = (abs - fa) / ar;
            needR = Math.Max(needR, abs <= fa ? 0 : float.IsNaN(tr) ? float.PositiveInfinity : tr);
            float rob = FusedKernel.RobustF(abs, ar, floor);
            robMax = Math.Max(robMax, rob);
            if (float.IsPositiveInfinity(rob)) robInf++; else robSum += rob;
        }
        Assert.Equal(needA, m.NeededAtol);
        Assert.Equal(needR, m.NeededRtol);
        Assert.True(needR > 0);
        Assert.Equal(robMax, m.RobustRelError.Max);
        Assert.Equal(robSum / (n - robInf), m.RobustRelError.Mean, 1e-6 * Math.Max(1, robSum / (n - robInf)));
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
        Assert.Equal(m.InfiniteAbsErrors - m.NanPairs, m.AbsHistogram.Bins.Single(b => b.Label == "inf").Count);
        Assert.True(m.NanPairs > 0);
        Assert.Equal(m.NanPairs, m.AbsHistogram.Bins.Single(b => double.IsNaN(b.Low)).Count);
        // Octave bins: each finite error lies in [Low, High) of exactly the bin that counts it.
        var abs = Enumerable.Range(0, (int)m.Count).Select(i => (double)FusedKernel.AbsF(r.Span<float>()[i], c.Span<float>()[i])).ToArray();
        foreach (var b in m.AbsHistogram.Bins.Where(b => b.Label is not ("0" or "inf") && !double.IsNaN(b.Low)))
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
