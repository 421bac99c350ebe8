using PolyNet.Compare;
using PolyNet.Onnx;
using Xunit;

namespace PolyNet.Compare.Tests;

public class TensorComparerTests
{
    private static OutputComparison Cmp(float[] r, float[] c, Tolerance t)
        => TensorComparer.CompareTensors("y", TensorData.Create<float>([r.Length], r), TensorData.Create<float>([c.Length], c), t);

    [Fact]
    public void The_pass_rule_is_atol_plus_rtol_times_reference()
    {
        // |c - r| <= atol + rtol*|r|: 0.1 <= 0.05 + 0.1*1 passes; Polygraphy's OR rule would also pass it,
        // but 0.2 <= 0.05 + 0.1*1 fails although 0.2 <= 0.05 fails and 0.2/1 <= 0.1 fails too: both rules agree there.
        Assert.True(Cmp([1f], [1.1f], new Tolerance(0.05, 0.1)).Passed);
        Assert.False(Cmp([1f], [1.2f], new Tolerance(0.05, 0.1)).Passed);
        // Where the rules differ: abs 0.14 > atol 0.1 and rel 0.14 > rtol 0.1, yet 0.14 <= 0.1 + 0.1*1: passes here.
        Assert.True(Cmp([1f], [1.14f], new Tolerance(0.1, 0.1)).Passed);
    }

    [Fact]
    public void NaN_matches_NaN_and_infinities_match_only_themselves()
    {
        var t = new Tolerance(1e-5, 1e-5);
        Assert.True(Cmp([float.NaN, float.PositiveInfinity, float.NegativeInfinity], [float.NaN, float.PositiveInfinity, float.NegativeInfinity], t).Passed);
        var c1 = Cmp([float.NaN, 1f], [0f, 1f], t);
        Assert.False(c1.Passed);
        Assert.Equal(1, c1.Metrics!.InfiniteAbsErrors);
        Assert.False(Cmp([float.PositiveInfinity], [float.MaxValue], new Tolerance(1e30, 1e30)).Passed);
        Assert.False(Cmp([float.PositiveInfinity], [float.NegativeInfinity], t).Passed);
    }

    [Fact]
    public void Reports_the_worst_element_and_the_tolerances_that_would_pass()
    {
        var c = Cmp([1, 2, 4, 8], [1, 2.01f, 4, 8.02f], new Tolerance(1e-5, 1e-5));
        Assert.False(c.Passed);
        var m = c.Metrics!;
        Assert.Equal(2, m.Mismatches);
        Assert.Equal("[3]", m.WorstAbs!.Index);
        Assert.Equal("8", m.WorstAbs.Reference);
        Assert.Equal(0.02, m.AbsError.Max, 5);
        Assert.Equal("[1]", m.WorstRel!.Index);
        Assert.Equal(0.005, m.RelError.Max, 5);
        // With these tolerances the run passes exactly at the reported thresholds.
        Assert.True(Cmp([1, 2, 4, 8], [1, 2.01f, 4, 8.02f], new Tolerance(m.NeededAtol, 1e-5)).Passed);
        Assert.True(Cmp([1, 2, 4, 8], [1, 2.01f, 4, 8.02f], new Tolerance(1e-5, m.NeededRtol)).Passed);
        Assert.False(Cmp([1, 2, 4, 8], [1, 2.01f, 4, 8.02f], new Tolerance(m.NeededAtol * 0.99, 1e-5)).Passed);
    }

    [Fact]
    public void Statistic_modes_judge_the_aggregate()
    {
        var r = Enumerable.Range(1, 100).Select(i => (float)i).ToArray();
        var c = r.Select((v, i) => i == 0 ? v + 1 : v).ToArray(); // one element off by 1
        Assert.False(Cmp(r, c, new Tolerance(0.5, 0)).Passed);
        Assert.True(Cmp(r, c, new Tolerance(0.5, 0, ErrorStat.Median)).Passed);
        Assert.True(Cmp(r, c, new Tolerance(0.02, 0, ErrorStat.Mean)).Passed);
        Assert.False(Cmp(r, c, new Tolerance(0.5, 0, ErrorStat.Max)).Passed);
        Assert.True(Cmp(r, c, new Tolerance(0.5, 0, ErrorStat.Quantile, Quantile: 0.95)).Passed);
        Assert.True(Cmp(r, c, new Tolerance(0, 0, ErrorStat.Elemwise, MaxMismatchPercent: 1)).Passed);
        Assert.False(Cmp(r, c, new Tolerance(0, 0, ErrorStat.Elemwise, MaxMismatchPercent: 0.5)).Passed);
    }

    [Fact]
    public void Integers_and_bools_are_exact_whatever_the_tolerance()
    {
        var big = new Tolerance(1e9, 1e9);
        var a = TensorData.Create<long>([2], long.MaxValue, 5);
        var b = TensorData.Create<long>([2], long.MaxValue - 1, 5); // equal as doubles, different as integers
        var c = TensorComparer.CompareTensors("i", a, b, big);
        Assert.False(c.Passed);
        Assert.True(c.Exact);
        Assert.Equal(1, c.Metrics!.Mismatches);
        Assert.False(TensorComparer.CompareTensors("b", TensorData.Create<bool>([2], true, false), TensorData.Create<bool>([2], true, true), big).Passed);
        Assert.True(TensorComparer.CompareTensors("b", TensorData.Create<bool>([1], true), TensorData.Create<bool>([1], true), new Tolerance(0, 0)).Passed);
    }

    [Fact]
    public void Shape_type_kind_and_string_differences_are_named()
    {
        var t = new Tolerance(1e-5, 1e-5);
        Assert.Equal("shapes differ: reference 2, candidate 1x2", TensorComparer.CompareTensors("y", TensorData.Create<float>([2], 1, 2), TensorData.Create<float>([1, 2], 1, 2), t).Reason);
        Assert.Equal("types differ: reference int32, candidate float32", TensorComparer.CompareTensors("y", TensorData.Create<int>([1], 1), TensorData.Create<float>([1], 1), t).Reason);
        var s = TensorComparer.CompareTensors("s", new TensorData(new TensorShape(2), ["a", "b"]), new TensorData(new TensorShape(2), ["a", "c"]), t);
        Assert.Equal("1 of 2 strings differ", s.Reason);
        Assert.Equal("[1]", s.FirstStringMismatch!.Index);
        var seq = TensorComparer.Compare("q", new SequenceData(ElementType.Float, [TensorData.Create<float>([1], 1)]), new SequenceData(ElementType.Float, []), t);
        Assert.Contains("sequence lengths differ", Assert.Single(seq).Reason);
        Assert.True(Assert.Single(TensorComparer.Compare("o", new OptionalData(null), new OptionalData(null), t)).Passed);
    }

    [Fact]
    public void Float16_candidate_against_float32_reference_compares_numerically()
    {
        var c = TensorComparer.CompareTensors("y", TensorData.Create<float>([2], 1f, 2f), TensorData.Create<Half>([2], (Half)1f, (Half)2f), new Tolerance(0, 0));
        Assert.True(c.Passed);
        Assert.Contains("reference float32, candidate float16", c.Reason);
    }
}

public class ToleranceSetTests
{
    [Fact]
    public void Defaults_and_per_output_values()
    {
        var t = new ToleranceSet();
        t.AddAtol("1e-3");
        t.AddAtol("out:0:1e-1");
        t.AddRtol("logits:0");
        t.AddStat("median");
        t.AddStat("logits:max");
        Assert.Equal(new Tolerance(1e-3, ToleranceSet.DefaultRtol, ErrorStat.Median), t.For("probs"));
        Assert.Equal(0.1, t.For("out:0").Atol);
        Assert.Equal(new Tolerance(1e-3, 0, ErrorStat.Max), t.For("logits"));
        Assert.Equal(new[] { "out:0" }, t.UnknownNames(["logits", "probs"]));
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("abc")]
    [InlineData("x:nan")]
    public void Bad_values_are_refused(string spec) => Assert.Throws<InvalidInputException>(() => new ToleranceSet().AddAtol(spec));

    [Fact]
    public void Bad_statistic_is_refused() => Assert.Contains("elemwise, max, mean, median, quantile", Assert.Throws<InvalidInputException>(() => new ToleranceSet().AddStat("p99")).Message);
}
