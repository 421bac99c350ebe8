using PolyNet.Compare;
using PolyNet.Compare.Kernels;
using PolyNet.Onnx;
using Xunit;

namespace PolyNet.Compare.Tests;

public class ExplanationTests
{
    [Fact]
    public void Finds_the_worst_elements_the_bad_channel_and_errors_by_magnitude()
    {
        // 1x4x8x8: channel 2 carries an error of 0.1 on a quarter of its elements; elsewhere exact.
        var r = TensorData.Allocate(ElementType.Float, new TensorShape(1, 4, 8, 8));
        var rs = r.Span<float>();
        for (int i = 0; i < rs.Length; i++) rs[i] = (i % 7) - 3;
        var c = r.Clone();
        var cs = c.Span<float>();
        for (int i = 2 * 64; i < 3 * 64; i += 4) cs[i] += 0.1f;
        var x = Explanation.Compute(r, c, new Tolerance(1e-5, 1e-5));
        Assert.Equal(1, x.ChannelAxis);
        Assert.Equal(new long[] { 0, 0, 16, 0 }, x.Channels.Select(ch => ch.Mismatches));
        Assert.Equal(0.1, x.Channels[2].MaxAbs, 5);
        Assert.All(x.Worst, e => Assert.StartsWith("[0, 2, ", e.Index));
        Assert.Equal(Explanation.WorstCount, x.Worst.Count);
        Assert.True(x.Worst.Zip(x.Worst.Skip(1)).All(p => p.First.Abs >= p.Second.Abs));
        Assert.Equal(r.ElementCount, x.Magnitudes.Sum(b => b.Count));
        Assert.Equal(16, x.Magnitudes.Sum(b => b.Mismatches));
        Assert.Equal("[0, 2, :, :]", x.Heatmap!.Slice);
        Assert.Equal(8, x.Heatmap.Rows);
        Assert.Equal(0.1f, x.Heatmap.Values.Max(), 5);
    }

    [Theory]
    // 4.5 million elements, two chunks of the parallel pass, the boundary inside channel 2: channel runs of whole
    // vectors (the 16-wide path), runs that are not (one element at a time), and no channels with a 3-element tail.
    [InlineData(new long[] { 1, 3, 1500, 1000 })]
    [InlineData(new long[] { 1, 3, 1500, 999 })]
    [InlineData(new long[] { 4_500_003 })]
    public void Chunks_computed_in_parallel_give_the_serial_definition(long[] dims)
    {
        var shape = new TensorShape(dims);
        var r = TensorData.Allocate(ElementType.Float, shape);
        var rs = r.Span<float>();
        var rng = new Random(4);
        for (int i = 0; i < rs.Length; i++) rs[i] = (float)(rng.NextDouble() * 2 - 1);
        var c = r.Clone();
        var cs = c.Span<float>();
        for (int i = 0; i < cs.Length; i += 97) cs[i] += (float)(rng.NextDouble() * 1e-3);
        var tol = new Tolerance(1e-5, 1e-5);
        var x = Explanation.Compute(r, c, tol);
        long inner = dims.Length == 4 ? dims[2] * dims[3] : 0;
        Assert.Equal(dims.Length == 4 ? 1 : null, x.ChannelAxis);
        for (int ch = 0; ch < (dims.Length == 4 ? 3 : 0); ch++)
        {
            long count = 0, mis = 0;
            double max = 0;
            for (long i = ch * inner; i < (ch + 1) * inner; i++)
            {
                double abs = ErrorMath.AbsError(rs[(int)i], cs[(int)i]);
                count++;
                if (!ErrorMath.Passes(abs, rs[(int)i], tol.Atol, tol.Rtol)) mis++;
                max = Math.Max(max, abs);
            }
            Assert.Equal(count, x.Channels[ch].Count);
            Assert.Equal(mis, x.Channels[ch].Mismatches);
            Assert.Equal(max, x.Channels[ch].MaxAbs);
        }
        var errors = new double[rs.Length];
        for (int i = 0; i < errors.Length; i++) errors[i] = ErrorMath.AbsError(rs[i], cs[i]);
        var worst = errors.OrderDescending().Take(Explanation.WorstCount).ToArray();
        Assert.Equal(worst, x.Worst.Select(e => e.Abs).ToArray());
        Assert.Equal(r.ElementCount, x.Magnitudes.Sum(b => b.Count));
        // Magnitude bands (the hot ones summed in registers, the rest lane by lane): counts and largest errors.
        foreach (var band in x.Magnitudes)
        {
            long count = 0;
            double max = 0;
            for (int i = 0; i < rs.Length; i++)
            {
                double a = Math.Abs(rs[i]);
                if (a < band.Low || a >= band.High) continue;
                count++;
                max = Math.Max(max, errors[i]);
            }
            Assert.Equal(count, band.Count);
            Assert.Equal(max, band.MaxAbs);
        }
    }

    [Fact]
    public void Per_channel_mismatches_add_up_to_the_verdicts_count_near_the_tolerance_boundary()
    {
        // Errors placed at atol + rtol·|ref| give float and double arithmetic different verdicts for some elements:
        // the explanation must judge as the verdict did.
        var shape = new TensorShape(1, 4, 100, 100);
        var r = TensorData.Allocate(ElementType.Float, shape);
        var rs = r.Span<float>();
        var rng = new Random(6);
        for (int i = 0; i < rs.Length; i++) rs[i] = (float)(rng.NextDouble() * 8 - 4);
        var c = r.Clone();
        var cs = c.Span<float>();
        float atol = 1e-4f, rtol = 1e-3f;
        for (int i = 0; i < cs.Length; i++) cs[i] = rs[i] + (atol + rtol * Math.Abs(rs[i])) * (rng.Next(2) == 0 ? 1 : -1);
        var tol = new Tolerance(atol, rtol);
        var verdict = TensorComparer.CompareTensors("y", r, c, tol);
        var x = Explanation.Compute(r, c, tol);
        Assert.InRange(verdict.Metrics!.Mismatches, 1, rs.Length - 1);
        Assert.Equal(verdict.Metrics.Mismatches, x.Channels.Sum(ch => ch.Mismatches));
        Assert.Equal(verdict.Metrics.Mismatches, x.Magnitudes.Sum(b => b.Mismatches));
    }

    [Fact]
    public void Failing_outputs_carry_an_explanation_passing_ones_do_not()
    {
        var a = TensorData.Create<float>([2, 3], 1, 2, 3, 4, 5, 6);
        var b = TensorData.Create<float>([2, 3], 1, 2, 3, 4, 5, 7);
        Assert.NotNull(TensorComparer.CompareTensors("y", a, b, new Tolerance(1e-5, 1e-5)).Explanation);
        Assert.Null(TensorComparer.CompareTensors("y", a, a, new Tolerance(1e-5, 1e-5)).Explanation);
        Assert.NotNull(TensorComparer.CompareTensors("y", a, a, new Tolerance(1e-5, 1e-5), new CompareOptions { Explain = ExplainMode.All }).Explanation);
    }
}

public class TopKTests
{
    [Fact]
    public void Agreement_counts_rows_and_the_index_verdict_decides()
    {
        // Row 0: same ranking; row 1: top-1 swaps between classes 0 and 1 (same top-2 set); row 2: class 3 enters the top-2.
        var r = TensorData.Create<float>([3, 4], 0.1f, 0.9f, 0.5f, 0.2f, 0.6f, 0.5f, 0.1f, 0f, 0.9f, 0.8f, 0.1f, 0.2f);
        var c = TensorData.Create<float>([3, 4], 0.1f, 0.9f, 0.5f, 0.2f, 0.5f, 0.6f, 0.1f, 0f, 0.9f, 0.1f, 0.1f, 0.8f);
        var k = TopKResult.Compute(r, c, 2)!;
        Assert.Equal(3, k.Rows);
        Assert.Equal(2, k.Top1Agree);
        Assert.Equal(2, k.SetsEqual);
        var verdict = TensorComparer.CompareTensors("p", r, c, new Tolerance(10, 10), new CompareOptions { TopK = 2 });
        Assert.False(verdict.Passed);
        Assert.Contains("top-2 classes differ in 1 of 3 rows", verdict.Reason);
        Assert.True(TensorComparer.CompareTensors("p", r, r, new Tolerance(0, 0), new CompareOptions { TopK = 2 }).Passed);
    }
}

public class DtypeToleranceTests
{
    [Fact]
    public void Reduced_precision_gets_its_default_unless_the_user_set_one()
    {
        var t = new ToleranceSet();
        Assert.Equal((new Tolerance(1e-3, 1e-3), "fp16 default"), t.For("y", ComputePrecision.Fp16));
        Assert.Equal((new Tolerance(1e-2, 1e-2), "bf16 default"), t.For("y", ComputePrecision.Bf16));
        Assert.Equal(1e-5, t.For("y", ComputePrecision.Tf32).Tolerance.Atol);
        t.AddAtol("z:0.5");
        Assert.Equal((0.5, "per-output"), (t.For("z", ComputePrecision.Fp16).Tolerance.Atol, t.For("z", ComputePrecision.Fp16).Source));
        Assert.Equal(1e-3, t.For("y", ComputePrecision.Fp16).Tolerance.Atol);
        t.AddRtol("1e-4");
        Assert.Equal((new Tolerance(ToleranceSet.DefaultAtol, 1e-4), "user"), t.For("y", ComputePrecision.Fp16));
    }

    [Fact]
    public void Float16_data_on_either_side_selects_fp16_defaults_and_says_so()
    {
        var p = PairComparer.Compare(0, "ref", new ValueMap { { "y", TensorData.Create<float>([2], 1f, 2f) } },
            "cand", new ValueMap { { "y", TensorData.Create<Half>([2], (Half)1.0005f, (Half)2f) } }, new ToleranceSet(), new CompareOptions(), onlyShared: false);
        var o = Assert.Single(p.Outputs);
        Assert.Equal("fp16 default", o.ToleranceSource);
        Assert.True(o.Passed);
    }

    [Fact]
    public void A_tf32_side_that_fails_gets_the_hint()
    {
        var p = PairComparer.Compare(0, "cpu", new ValueMap { { "y", TensorData.Create<float>([1], 1f) } },
            "cuda", new ValueMap { { "y", TensorData.Create<float>([1], 1.001f) } }, new ToleranceSet(), new CompareOptions(), onlyShared: false,
            ComputePrecision.Fp32, ComputePrecision.Tf32);
        Assert.Contains("TF32", Assert.Single(p.Outputs).Hint);
    }
}
