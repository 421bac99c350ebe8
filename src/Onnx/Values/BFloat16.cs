using System.Runtime.InteropServices;

namespace PolyNet.Onnx;

/// <summary>
/// bfloat16: the upper 16 bits of an IEEE float32. Conversion from float rounds to nearest even;
/// NaN stays NaN (quiet), infinities stay infinite.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly struct BFloat16 : IEquatable<BFloat16>
{
    public readonly ushort Bits;

    public BFloat16(ushort bits) => Bits = bits;

    public static BFloat16 FromFloat(float f) => new(FloatToBits(f));

    public static ushort FloatToBits(float f)
    {
        uint b = BitConverter.SingleToUInt32Bits(f);
        if ((b & 0x7FFF_FFFF) > 0x7F80_0000) return (ushort)((b >> 16) | 0x0040); // NaN: keep sign, force quiet
        uint rounding = ((b >> 16) & 1) + 0x7FFF;
        return (ushort)((b + rounding) >> 16);
    }

    public static float BitsToFloat(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    public float ToFloat() => BitsToFloat(Bits);
    public static explicit operator float(BFloat16 v) => v.ToFloat();
    public static explicit operator BFloat16(float v) => FromFloat(v);
    public bool Equals(BFloat16 other) => Bits == other.Bits;
    public override bool Equals(object? obj) => obj is BFloat16 o && Equals(o);
    public override int GetHashCode() => Bits;
    public override string ToString() => ToFloat().ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}
