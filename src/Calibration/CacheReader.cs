using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace PolyNet.Calibration;

/// <summary>
/// Reads a calibration file in any format of <see cref="CacheFormat"/>, detected from its content. Every problem is an
/// <see cref="InvalidInputException"/> of one line naming the file and, for text formats, the line: an empty or binary
/// file, a bad header, a line without ": ", a scale that is not 1 to 8 hex digits, a name given twice. The file is
/// only read, never modified.
/// </summary>
public static partial class CacheReader
{
    /// <summary>Larger files are refused rather than read (a cache holds one short line per tensor).</summary>
    public const long MaxBytes = 256L << 20;

    [GeneratedRegex(@"^TRT-([0-9]{1,9})-([A-Za-z][A-Za-z0-9_]*)$")]
    private static partial Regex HeaderRegex();

    [GeneratedRegex(@"^[0-9A-Fa-f]{1,8}$")]
    private static partial Regex HexRegex();

    public static CalibrationCache Read(string path)
    {
        if (Directory.Exists(path)) throw InvalidInputException.ForFile(path, "is a folder, not a calibration cache");
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "no such file");
        var info = new FileInfo(path);
        if (info.Length > MaxBytes) throw InvalidInputException.ForFile(path, $"is {info.Length >> 20} MiB, too large for a calibration cache");
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (UnauthorizedAccessException) { throw InvalidInputException.ForFile(path, "permission denied"); }
        return Parse(bytes, path);
    }

    public static CalibrationCache Parse(byte[] bytes, string path)
    {
        if (bytes.Length == 0) throw InvalidInputException.ForFile(path, "is empty, not a calibration cache");
        if (Array.IndexOf(bytes, (byte)0) >= 0)
            return ReadFlatBuffers(bytes, path);
        string text;
        try { text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes); }
        catch (DecoderFallbackException) { throw InvalidInputException.ForFile(path, "is a binary file (not UTF-8 text), not a calibration cache"); }
        if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
        var trimmed = text.TrimStart();
        if (trimmed.Length == 0) throw InvalidInputException.ForFile(path, "is empty, not a calibration cache");
        if (trimmed.StartsWith('{')) return ReadJson(text, path);
        if (trimmed.StartsWith('[')) throw InvalidInputException.ForFile(path, "is a JSON array; calibration.json is an object of tensor names");
        if (trimmed.StartsWith("TRT-", StringComparison.Ordinal)) return ReadTensorRt(text, path);
        return ReadOrtText(text, path);
    }

    private static IEnumerable<(int Line, string Text)> Lines(string text)
    {
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var l = lines[i].TrimEnd('\r');
            if (i == lines.Length - 1 && l.Length == 0) yield break; // the final newline
            yield return (i + 1, l);
        }
    }

    private static CalibrationCache ReadTensorRt(string text, string path)
    {
        var lines = Lines(text).ToList();
        int top = lines.FindIndex(l => l.Text.Trim().Length > 0); // the text starts with "TRT-" after blanks
        var header = HeaderRegex().Match(lines[top].Text.Trim());
        if (!header.Success)
            throw InvalidInputException.ForFile($"{path}:{lines[top].Line}", $"bad header '{Cut(lines[top].Text)}' (expected TRT-<version>-<algorithm>, e.g. TRT-8601-EntropyCalibration2)");
        var entries = new List<CacheEntry>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (line, l) in lines.Skip(top + 1))
        {
            if (l.Trim().Length == 0) continue;
            int sep = l.LastIndexOf(": ", StringComparison.Ordinal);
            if (sep < 0) throw InvalidInputException.ForFile($"{path}:{line}", $"no ': ' between tensor name and scale in '{Cut(l)}'");
            var name = l[..sep];
            var hex = l[(sep + 2)..].Trim();
            if (name.Length == 0) throw InvalidInputException.ForFile($"{path}:{line}", "empty tensor name");
            if (!HexRegex().IsMatch(hex))
                throw InvalidInputException.ForFile($"{path}:{line}", $"scale '{Cut(hex)}' of '{name}' is not hexadecimal float32 bits (1 to 8 hex digits)");
            if (seen.TryGetValue(name, out var first))
                throw InvalidInputException.ForFile($"{path}:{line}", $"tensor '{name}' appears twice (first on line {first})");
            seen[name] = line;
            entries.Add(new CacheEntry(name, uint.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture), line));
        }
        return new CalibrationCache
        {
            Format = CacheFormat.TensorRt,
            Version = new TrtVersion(int.Parse(header.Groups[1].Value, CultureInfo.InvariantCulture)),
            Algorithm = header.Groups[2].Value,
            Entries = entries,
        };
    }

    /// <summary>ONNX Runtime's calibration.cache: "name value" per line (split at the last space), the value the range.</summary>
    private static CalibrationCache ReadOrtText(string text, string path)
    {
        var entries = new List<CacheEntry>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (line, l) in Lines(text))
        {
            if (l.Trim().Length == 0) continue;
            int sep = l.LastIndexOf(' ');
            if (sep <= 0 || !float.TryParse(l[(sep + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var range))
                throw InvalidInputException.ForFile($"{path}:{line}", line == 1
                    ? $"bad header '{Cut(l)}' (a TensorRT cache starts with TRT-<version>-<algorithm>; ONNX Runtime's calibration.cache has 'name value' lines)"
                    : $"'{Cut(l)}' is not 'tensor_name dynamic_range'");
            var name = l[..sep];
            if (seen.TryGetValue(name, out var first))
                throw InvalidInputException.ForFile($"{path}:{line}", $"tensor '{name}' appears twice (first on line {first})");
            seen[name] = line;
            entries.Add(CacheEntry.FromRange(name, range) with { Line = line });
        }
        return new CalibrationCache { Format = CacheFormat.OrtText, Entries = entries };
    }

    /// <summary>calibration.json: {"name": [min, max]} (older ONNX Runtime) or {"CLS": "TensorsData", "data": {name: {"lowest", "highest"}}}.</summary>
    private static CalibrationCache ReadJson(string text, string path)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(text); }
        catch (JsonException e) { throw InvalidInputException.ForFile($"{path}:{(e.LineNumber ?? 0) + 1}", $"not valid JSON: {e.Message.Split('.')[0]}"); }
        using (doc)
        {
            var root = doc.RootElement;
            var table = root.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object ? data : root;
            var entries = new List<CacheEntry>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in table.EnumerateObject())
            {
                if (p.Name is "CLS" or "calibration_method") continue;
                if (!seen.Add(p.Name)) throw InvalidInputException.ForFile(path, $"tensor '{p.Name}' appears twice");
                double lo, hi;
                if (p.Value.ValueKind == JsonValueKind.Array && p.Value.GetArrayLength() == 2)
                    (lo, hi) = (Number(p.Value[0], path, p.Name), Number(p.Value[1], path, p.Name));
                else if (p.Value.ValueKind == JsonValueKind.Object && p.Value.TryGetProperty("lowest", out var l) && p.Value.TryGetProperty("highest", out var h))
                    (lo, hi) = (Number(l, path, p.Name), Number(h, path, p.Name));
                else throw InvalidInputException.ForFile(path, $"tensor '{p.Name}': expected [min, max] or {{\"lowest\", \"highest\"}}");
                entries.Add(CacheEntry.FromRange(p.Name, (float)Math.Max(Math.Abs(lo), Math.Abs(hi))));
            }
            if (entries.Count == 0) throw InvalidInputException.ForFile(path, "holds no tensor ranges");
            return new CalibrationCache { Format = CacheFormat.OrtJson, Entries = entries };
        }
    }

    private static double Number(JsonElement e, string path, string name) => e.ValueKind switch
    {
        JsonValueKind.Number => e.GetDouble(),
        JsonValueKind.Array when e.GetArrayLength() == 1 => Number(e[0], path, name),
        JsonValueKind.Object when e.TryGetProperty("data", out var d) => Number(d, path, name),
        JsonValueKind.String when double.TryParse(e.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) => v,
        _ => throw InvalidInputException.ForFile(path, $"tensor '{name}': '{e.GetRawText()}' is not a number"),
    };

    /// <summary>
    /// calibration.flatbuffers, read by hand from FlatBuffers' layout: a root offset to table TrtTable, whose field 0 is
    /// a vector of KeyValue tables with string fields key (0) and value (1). Every offset is checked against the file.
    /// </summary>
    private static CalibrationCache ReadFlatBuffers(byte[] b, string path)
    {
        InvalidInputException Bad(string why) => InvalidInputException.ForFile(path, $"is a binary file that is not a calibration.flatbuffers table ({why})");
        uint U32(long at) => at >= 0 && at + 4 <= b.Length ? BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)at)) : throw Bad($"offset {at} beyond the end");
        ushort U16(long at) => at >= 0 && at + 2 <= b.Length ? BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan((int)at)) : throw Bad($"offset {at} beyond the end");
        long Field(long table, int index)
        {
            long vtable = table - (int)U32(table);
            int vsize = U16(vtable);
            int slot = 4 + 2 * index;
            if (slot + 2 > vsize) return 0;
            int off = U16(vtable + slot);
            return off == 0 ? 0 : table + off;
        }
        string Str(long at)
        {
            long s = at + U32(at);
            uint n = U32(s);
            if (s + 4 + n + 1 > b.Length) throw Bad("a string runs past the end"); // and its terminating NUL
            return Encoding.UTF8.GetString(b, (int)(s + 4), (int)n);
        }
        if (b.Length < 8) throw Bad("too short");
        long root = U32(0);
        long dict = Field(root, 0);
        if (dict == 0) throw Bad("no dict field");
        long vec = dict + U32(dict);
        uint count = U32(vec);
        if (count > b.Length / 4) throw Bad("vector length beyond the file");
        var entries = new List<CacheEntry>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (uint i = 0; i < count; i++)
        {
            long slot = vec + 4 + 4 * i;
            long kv = slot + U32(slot);
            long key = Field(kv, 0), value = Field(kv, 1);
            if (key == 0 || value == 0) throw Bad($"entry {i} lacks its key or value");
            var name = Str(key);
            var text = Str(value);
            if (!float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var range))
                throw InvalidInputException.ForFile(path, $"tensor '{name}': range '{Cut(text)}' is not a number");
            if (!seen.Add(name)) throw InvalidInputException.ForFile(path, $"tensor '{name}' appears twice");
            entries.Add(CacheEntry.FromRange(name, range));
        }
        entries.Sort((x, y) => string.CompareOrdinal(x.Name, y.Name)); // stored in descending order by the writer
        return new CalibrationCache { Format = CacheFormat.OrtFlatBuffers, Entries = entries };
    }

    private static string Cut(string s) => s.Length <= 60 ? s : s[..57] + "...";
}
