using PolyNet.Onnx;
using Xunit;

namespace PolyNet.Onnx.Tests.Values;

public class TensorDataTests
{
    [Fact]
    public void Create_infers_the_element_type_and_round_trips_values()
    {
        var t = TensorData.Create<int>([2, 2], 1, -2, 3, int.MinValue);
        Assert.Equal(ElementType.Int32, t.ElementType);
        Assert.Equal(new[] { 1, -2, 3, int.MinValue }, t.ToArray<int>());
        Assert.Equal(-2, t.GetDouble(1));
        Assert.Equal("-2147483648", t.FormatElement(3));
    }

    [Fact]
    public void Wrong_byte_count_is_refused()
        => Assert.Throws<ArgumentException>(() => new TensorData(ElementType.Float, new TensorShape(3), new byte[8]));

    [Fact]
    public void Signed_bytes_read_as_negative_numbers()
    {
        var t = new TensorData(ElementType.Int8, new TensorShape(2), [0xFF, 0x80]);
        Assert.Equal(-1, t.GetDouble(0));
        Assert.Equal(-128, t.GetDouble(1));
    }

    [Fact]
    public void Viewing_with_a_type_of_another_size_fails()
        => Assert.Throws<InvalidOperationException>(() => TensorData.Create<float>([2], 1f, 2f).Span<double>());

    [Fact]
    public void Reshape_keeps_data_and_checks_count()
    {
        var t = TensorData.Create<float>([2, 3], 1, 2, 3, 4, 5, 6);
        Assert.Equal(6f, t.Reshape(new TensorShape(3, 2)).Span<float>()[5]);
        Assert.Throws<ArgumentException>(() => t.Reshape(new TensorShape(4)));
    }
}

public class BFloat16Tests
{
    [Theory]
    [InlineData(1.0f, (ushort)0x3F80)]
    [InlineData(-2.0f, (ushort)0xC000)]
    [InlineData(1.00390625f, (ushort)0x3F80)] // exactly half way: ties to even (down)
    [InlineData(1.01171875f, (ushort)0x3F82)] // half way above an odd mantissa: ties to even (up)
    [InlineData(float.PositiveInfinity, (ushort)0x7F80)]
    public void Rounds_to_nearest_even(float f, ushort bits) => Assert.Equal(bits, BFloat16.FloatToBits(f));

    [Fact]
    public void NaN_stays_NaN() => Assert.True(float.IsNaN(BFloat16.BitsToFloat(BFloat16.FloatToBits(float.NaN))));
}
