using PolyNet.Onnx;
using PolyNet.Runners.Inputs;
using Xunit;

namespace PolyNet.Runners.Tests.Inputs;

public class InputGeneratorTests
{
    private static ValueSpec Spec(string name, ElementType t, params object[] dims)
        => new(name, ValueKind.Tensor, t, new SymbolicShape(dims.Select(d => d is string s ? SymbolicDim.Named(s) : SymbolicDim.Fixed(Convert.ToInt64(d))).ToList()));

    public static TheoryData<ElementType> AllTypes => new(ElementType.Float, ElementType.Double, ElementType.Float16, ElementType.BFloat16,
        ElementType.Int8, ElementType.Int16, ElementType.Int32, ElementType.Int64, ElementType.UInt8, ElementType.UInt16, ElementType.UInt32, ElementType.UInt64, ElementType.Bool);

    [Theory]
    [MemberData(nameof(AllTypes))]
    public void Every_type_stays_in_its_range_and_uses_it(ElementType type)
    {
        var ranges = type == ElementType.Bool ? new ValueRanges() : ValueRanges.Parse(["x:[2,9]"]);
        var t = new InputGenerator(5, ranges).Generate("x", type, new TensorShape(4000), 0);
        var values = Enumerable.Range(0, 4000).Select(i => t.GetDouble(i)).ToList();
        var (lo, hi) = type == ElementType.Bool ? (0.0, 1.0) : (2.0, 9.0);
        Assert.All(values, v => Assert.InRange(v, lo, hi));
        if (type.IsInteger() || type == ElementType.Bool)
            Assert.Equal(Enumerable.Range((int)lo, (int)(hi - lo) + 1).Select(i => (double)i), values.Distinct().Order());
        else
            Assert.True(values.Min() < lo + 0.1 && values.Max() > hi - 0.1, $"{values.Min()}..{values.Max()}");
    }

    [Fact]
    public void Same_seed_same_values_and_inputs_do_not_depend_on_each_other()
    {
        var a = new InputGenerator(42).Generate([Spec("a", ElementType.Float, 8), Spec("b", ElementType.Float, 8)], 0);
        var b = new InputGenerator(42).Generate([Spec("b", ElementType.Float, 8)], 0);
        Assert.True(a.Tensor("b").ContentEquals(b.Tensor("b")));
        Assert.False(a.Tensor("a").ContentEquals(a.Tensor("b")));
        var other = new InputGenerator(43).Generate([Spec("b", ElementType.Float, 8)], 0);
        Assert.False(other.Tensor("b").ContentEquals(b.Tensor("b")));
        var nextSample = new InputGenerator(42).Generate([Spec("b", ElementType.Float, 8)], 1);
        Assert.False(nextSample.Tensor("b").ContentEquals(b.Tensor("b")));
    }

    [Fact]
    public void Full_int64_range_works()
    {
        var t = new InputGenerator(1, ValueRanges.Parse([$"[{long.MinValue},{long.MaxValue}]"])).Generate("x", ElementType.Int64, new TensorShape(64), 0);
        Assert.Contains(t.ToArray<long>(), v => v < 0);
        Assert.Contains(t.ToArray<long>(), v => v > 0);
    }

    [Fact]
    public void Dynamic_dimensions_come_from_input_shapes_or_become_1_with_a_warning()
    {
        var spec = Spec("x", ElementType.Float, "batch", 3);
        var g = new InputGenerator(1, shapes: InputShapes.Parse(["x:4x3"]));
        Assert.Equal(new TensorShape(4, 3), g.Generate([spec], 0).Tensor("x").Shape);
        Assert.Empty(g.Warnings);
        var d = new InputGenerator(1);
        Assert.Equal(new TensorShape(1, 3), d.Generate([spec], 0).Tensor("x").Shape);
        Assert.Contains("dynamic dimension(s) 0 (batch): using 1", Assert.Single(d.Warnings));
    }

    [Fact]
    public void Shapes_and_ranges_for_unknown_inputs_or_contradicting_the_model_are_errors()
    {
        var spec = Spec("x", ElementType.Float, "batch", 3);
        Assert.Contains("no input 'y' (inputs: x)", Assert.Throws<InvalidInputException>(() => new InputGenerator(1, shapes: InputShapes.Parse(["y:1x3"])).Generate([spec], 0)).Message);
        Assert.Contains("dimension 1 is fixed at 3", Assert.Throws<InvalidInputException>(() => new InputGenerator(1, shapes: InputShapes.Parse(["x:1x4"])).Generate([spec], 0)).Message);
        Assert.Contains("rank 2", Assert.Throws<InvalidInputException>(() => new InputGenerator(1, shapes: InputShapes.Parse(["x:1x3x1"])).Generate([spec], 0)).Message);
        Assert.Contains("no input 'z'", Assert.Throws<InvalidInputException>(() => new InputGenerator(1, ValueRanges.Parse(["z:[0,1]"])).Generate([spec], 0)).Message);
        Assert.Contains("holds no int8 value", Assert.Throws<InvalidInputException>(() => new InputGenerator(1, ValueRanges.Parse(["[300,400]"])).Generate("q", ElementType.Int8, new TensorShape(1), 0)).Message);
    }

    [Theory]
    [InlineData("x")]
    [InlineData("x:1x")]
    [InlineData("x:abc")]
    [InlineData(":1x3")]
    public void Input_shape_syntax_is_strict(string spec)
        => Assert.Throws<InvalidInputException>(() => InputShapes.Parse([spec]));

    [Fact]
    public void Input_names_with_colons_split_at_the_last_colon()
    {
        Assert.Equal(new TensorShape(1, 2), InputShapes.Parse(["input:0:1x2"]).Shapes["input:0"]);
        Assert.Equal((0, 255), ValueRanges.Parse(["input:0:[0,255]"]).For("input:0"));
        Assert.Equal(2, InputShapes.Parse(["x:1x2", "x:1x3"]).Sets.Count);  // an input given again: a second shape set
        Assert.Throws<InvalidInputException>(() => InputShapes.Parse(["x:1x2", "x:1x2"]));
    }

    [Theory]
    [InlineData("[1]")]
    [InlineData("[a,b]")]
    [InlineData("[2,1]")]
    [InlineData("x[0,1]")]
    public void Value_range_syntax_is_strict(string spec) => Assert.Throws<InvalidInputException>(() => ValueRanges.Parse([spec]));
}

public class InputValidationTests
{
    private static readonly ValueSpec X = new("x", ValueKind.Tensor, ElementType.Float, new SymbolicShape([SymbolicDim.Named("n"), SymbolicDim.Fixed(3)]));

    [Fact]
    public void Type_shape_unknown_and_missing_inputs_are_named()
    {
        Assert.Equal("f.npz: input 'x' is float32 in the model, but the data is float64",
            Assert.Throws<InvalidInputException>(() => InputValidation.CheckFeed([X], new ValueMap { { "x", TensorData.Create<double>([2, 3], new double[6]) } }, "f.npz")).Message);
        Assert.Contains("dimension 1 is fixed at 3",
            Assert.Throws<InvalidInputException>(() => InputValidation.CheckFeed([X], new ValueMap { { "x", TensorData.Create<float>([2, 4], new float[8]) } }, "f.npz")).Message);
        Assert.Contains("holds 'y', which is not an input",
            Assert.Throws<InvalidInputException>(() => InputValidation.CheckFeed([X], new ValueMap { { "y", TensorData.Create<float>([1, 3], new float[3]) } }, "f.npz")).Message);
        Assert.Contains("has no value for input 'x'", Assert.Throws<InvalidInputException>(() => InputValidation.CheckFeed([X], new ValueMap(), "f.npz")).Message);
        InputValidation.CheckFeed([X], new ValueMap { { "x", TensorData.Create<float>([5, 3], new float[15]) } }, "f.npz");
    }

    [Fact]
    public void Bfloat16_inputs_accept_uint16_bits_and_exact_float32_only()
    {
        var spec = new ValueSpec("b", ValueKind.Tensor, ElementType.BFloat16, null);
        var bits = InputValidation.ConformBFloat16([spec], new ValueMap { { "b", TensorData.Create<ushort>([1], (ushort)0x3F80) } });
        Assert.Equal(1f, bits.Tensor("b").Span<BFloat16>()[0].ToFloat());
        var exact = InputValidation.ConformBFloat16([spec], new ValueMap { { "b", TensorData.Create<float>([1], 2.5f) } });
        Assert.Equal(ElementType.BFloat16, exact.Tensor("b").ElementType);
        var inexact = InputValidation.ConformBFloat16([spec], new ValueMap { { "b", TensorData.Create<float>([1], 0.1f) } });
        Assert.Equal(ElementType.Float, inexact.Tensor("b").ElementType);
    }
}

public class InputShapeSetTests
{
    [Fact]
    public void An_input_named_again_starts_a_new_set_that_keeps_the_first_sets_other_shapes()
    {
        var s = InputShapes.Parse(["x:1x3x224x224", "mask:1x77", "x:8x3x320x320"]);
        Assert.True(s.IsSweep);
        Assert.Equal(2, s.Sets.Count);
        Assert.Equal("x:1x3x224x224, mask:1x77", InputShapes.Describe(s.Sets[0]));
        Assert.Equal(new TensorShape(8, 3, 320, 320), s.Sets[1]["x"]);
        Assert.Equal(new TensorShape(1, 77), s.Sets[1]["mask"]);
        Assert.Equal(s.Sets[0], s.Shapes);
        Assert.False(InputShapes.Parse(["x:1x3", "y:2x2"]).IsSweep);
        Assert.Contains("repeats an earlier one", Assert.Throws<InvalidInputException>(() => InputShapes.Parse(["x:1x3", "x:1x3"])).Message);
        Assert.Contains("make a sweep", Assert.Throws<InvalidInputException>(() => s.RequireSingle("polynet bench")).Message);
    }
}
