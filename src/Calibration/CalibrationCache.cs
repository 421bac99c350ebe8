using System.Globalization;
using System.Text;

namespace PolyNet.Calibration;

/// <summary>The calibration file formats PolyNet reads.</summary>
public enum CacheFormat
{
    /// <summary>TensorRT's cache: "TRT-&lt;version&gt;-&lt;algorithm&gt;", then "name: hex" (float32 bits of scale = range/127).</summary>
    TensorRt,
    /// <summary>ONNX Runtime's calibration.cache: "name value" lines, the value a dynamic range (amax).</summary>
    OrtText,
    /// <summary>ONNX Runtime's calibration.json: {name: [min, max]} or its TensorsData form.</summary>
    OrtJson,
    /// <summary>ONNX Runtime's calibration.flatbuffers: TrtTable { dict: [KeyValue { key, value }] }, values amax as text.</summary>
    OrtFlatBuffers,
}

/// <summary>The version in a TensorRT cache header: NV_TENSORRT_VERSION (8601 is 8.6.1; 100300 is 10.3.0).</summary>
public readonly record struct TrtVersion(int Raw)
{
    /// <summary>TensorRT 10 and later: major·10000 + minor·100 + patch; before: major·1000 + minor·100 + patch.</summary>
    public (int Major, int Minor, int Patch) Parts => Raw >= 100000
        ? (Raw / 10000, Raw / 100 % 100, Raw % 100)
        : (Raw / 1000, Raw / 100 % 10, Raw % 100);

    public override string ToString() => $"{Parts.Major}.{Parts.Minor}.{Parts.Patch}";

    /// <summary>"10.3.0" or "8.6.1" to the header number.</summary>
    public static TrtVersion Parse(string text)
    {
        var p = text.Split('.');
        if (p.Length != 3 || !p.All(x => int.TryParse(x, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
            throw new InvalidInputException($"TensorRT version '{text}': expected MAJOR.MINOR.PATCH, e.g. 10.3.0 or 8.6.1");
        if (p.Any(x => x.Length > 4)) throw new InvalidInputException($"TensorRT version '{text}' cannot be written in a cache header");
        int major = int.Parse(p[0], CultureInfo.InvariantCulture), minor = int.Parse(p[1], CultureInfo.InvariantCulture), patch = int.Parse(p[2], CultureInfo.InvariantCulture);
        if (major > 999 || minor > 99 || patch > 99 || (major < 10 && minor > 9)) throw new InvalidInputException($"TensorRT version '{text}' cannot be written in a cache header");
        return new TrtVersion(major >= 10 ? major * 10000 + minor * 100 + patch : major * 1000 + minor * 100 + patch);
    }
}

/// <summary>One tensor's entry: its scale (the range divided by 127) as float32 bits, exactly as stored.</summary>
public sealed record CacheEntry(string Name, uint ScaleBits, int Line = 0)
{
    public float Scale => BitConverter.UInt32BitsToSingle(ScaleBits);
    /// <summary>The symmetric dynamic range: scale × 127 (float32 arithmetic, as TensorRT reads it).</summary>
    public float DynamicRange => Scale * 127f;

    public static CacheEntry FromRange(string name, float dynamicRange) => new(name, BitConverter.SingleToUInt32Bits(dynamicRange / 127f));
}

/// <summary>
/// A calibration cache in memory: the header (for TensorRT caches) and the entries in file order. Reading keeps every
/// bit of every scale; <see cref="WriteTensorRt"/> writes what TensorRT writes (header line, then "name: hex" with
/// lowercase, unpadded hex and a newline after every line), so a TensorRT cache read and written again is the same
/// bytes unless it had padded or uppercase hex, CRLF line ends, a byte order mark, blank lines or no final newline.
/// </summary>
public sealed class CalibrationCache
{
    public CacheFormat Format { get; init; } = CacheFormat.TensorRt;
    /// <summary>The header's version (TensorRT caches), else null.</summary>
    public TrtVersion? Version { get; init; }
    /// <summary>The header's algorithm, e.g. EntropyCalibration2 or MinMaxCalibration (TensorRT caches), else null.</summary>
    public string? Algorithm { get; init; }
    public required IReadOnlyList<CacheEntry> Entries { get; init; }

    public string Header => $"TRT-{Version?.Raw.ToString(CultureInfo.InvariantCulture) ?? "0"}-{Algorithm ?? "EntropyCalibration2"}";

    public CacheEntry? this[string name] => Entries.FirstOrDefault(e => e.Name == name);

    /// <summary>Entries by name (the readers refuse duplicate names; for caches built in code, the first entry wins).</summary>
    public IReadOnlyDictionary<string, CacheEntry> ByName
    {
        get
        {
            var d = new Dictionary<string, CacheEntry>(StringComparer.Ordinal);
            foreach (var e in Entries) d.TryAdd(e.Name, e);
            return d;
        }
    }

    /// <summary>The TensorRT text, exactly as TensorRT writes it.</summary>
    public string ToTensorRtText()
    {
        var b = new StringBuilder();
        b.Append(Header).Append('\n');
        foreach (var e in Entries) b.Append(e.Name).Append(": ").Append(e.ScaleBits.ToString("x", CultureInfo.InvariantCulture)).Append('\n');
        return b.ToString();
    }

    /// <summary>Writes the TensorRT format atomically (a temporary renamed into place).</summary>
    public void WriteTensorRt(string path) => AtomicFile.Write(path, new UTF8Encoding(false).GetBytes(ToTensorRtText()));

    /// <summary>
    /// ONNX Runtime's calibration.flatbuffers (what its TensorRT provider reads with
    /// trt_int8_use_native_calibration_table=0): TrtTable { dict: [KeyValue { key: string; value: string }] }, each
    /// value the dynamic range as text (shortest round-trip float32), entries in descending key order as ONNX Runtime
    /// writes them. Unlike TensorRT's text, whose lines ONNX Runtime splits at the first ':', a key holds any name.
    /// </summary>
    public byte[] ToOrtFlatBuffers() =>
        FlatBuffers.TrtTable(Entries.Select(e => (e.Name, e.DynamicRange.ToString("R", CultureInfo.InvariantCulture))).ToList());
}
