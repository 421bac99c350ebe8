using PolyNet.Onnx;
using Xunit;

namespace PolyNet.Onnx.Tests.Values;

public class TensorShapeTests
{
    [Theory]
    [InlineData("1x3x224x224", new long[] { 1, 3, 224, 224 })]
    [InlineData("[1,3,224,224]", new long[] { 1, 3, 224, 224 })]
    [InlineData("(2, 5)", new long[] { 2, 5 })]
    [InlineData("(7,)", new long[] { 7 })]
    [InlineData("0x4", new long[] { 0, 4 })]
    [InlineData("scalar", new long[0])]
    [InlineData("[]", new long[0])]
    public void Parses_every_spelling(string text, long[] dims)
    {
        Assert.True(TensorShape.TryParse(text, out var s, out var err), err);
        Assert.Equal(dims, s.ToArray());
    }

    [Theory]
    [InlineData("1x-3")]
    [InlineData("1xx3")]
    [InlineData("a")]
    [InlineData("1x3x")]
    [InlineData("[1,,2]")]
    [InlineData("1.5x2")]
    public void Refuses_bad_syntax_with_a_message(string text)
    {
        Assert.False(TensorShape.TryParse(text, out _, out var err));
        Assert.Contains(text, err);
    }

    [Fact]
    public void Formats_flat_indices_in_c_order()
    {
        var s = new TensorShape(2, 3, 4);
        Assert.Equal("[0, 0, 0]", s.FormatIndex(0));
        Assert.Equal("[1, 2, 3]", s.FormatIndex(23));
        Assert.Equal("[1, 0, 1]", s.FormatIndex(13));
        Assert.Equal(24, s.ElementCount);
        Assert.Equal("2x3x4", s.ToString());
        Assert.Equal("(2, 3, 4)", s.ToTupleString());
    }

    [Fact]
    public void Element_count_overflow_is_detected()
        => Assert.Throws<OverflowException>(() => new TensorShape(long.MaxValue / 2, 3).ElementCount);
}
