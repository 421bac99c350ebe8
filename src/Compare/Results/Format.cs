using System.Globalization;

namespace PolyNet.Compare;

/// <summary>How numbers appear in reports: 4 significant digits, exponent form for small and large values.</summary>
public static class Format
{
    /// <summary>"1.5 GiB", "12.0 MiB", "3.2 KiB", "17 B".</summary>
    public static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 30 => (bytes / (double)(1L << 30)).ToString("0.0", CultureInfo.InvariantCulture) + " GiB",
        >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
        >= 1L << 10 => (bytes / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " KiB",
        _ => bytes.ToString(CultureInfo.InvariantCulture) + " B",
    };

    public static string Number(double v)
    {
        if (double.IsNaN(v)) return "nan";
        if (double.IsPositiveInfinity(v)) return "inf";
        if (double.IsNegativeInfinity(v)) return "-inf";
        if (v == 0) return "0";
        double a = Math.Abs(v);
        return a is >= 1e-3 and < 1e4 ? v.ToString("G4", CultureInfo.InvariantCulture) : v.ToString("0.###e+00", CultureInfo.InvariantCulture);
    }

    /// <summary>Durations as people read them: "12.5 ms", "3.20 s".</summary>
    public static string Duration(TimeSpan t) => t.TotalMilliseconds >= 1000
        ? string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0.00} s")
        : string.Create(CultureInfo.InvariantCulture, $"{t.TotalMilliseconds:0.###} ms");
}
