using System.Globalization;

namespace PolyNet.Onnx;

/// <summary>Byte sizes as people write them on command lines and in runner keys: 1073741824, 64K, 512M, 4G, 1T (powers of 1024).</summary>
public static class ByteSize
{
    public static bool TryParse(string text, out long bytes)
    {
        bytes = 0;
        var num = text.Trim();
        long mult = 1;
        if (num.Length > 0 && char.ToUpperInvariant(num[^1]) is 'K' or 'M' or 'G' or 'T')
        {
            mult = char.ToUpperInvariant(num[^1]) switch { 'K' => 1L << 10, 'M' => 1L << 20, 'G' => 1L << 30, _ => 1L << 40 };
            num = num[..^1];
        }
        if (!double.TryParse(num, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !(v >= 0) || v * mult >= long.MaxValue) return false;
        bytes = (long)(v * mult);
        return true;
    }
}
