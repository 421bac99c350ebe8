using PolyNet.Onnx;
using System.Globalization;
using System.Reflection;

namespace PolyNet.Runners.Inspect.TensorRt;

/// <summary>One operator's row of a support table: supported or not, the element types listed, the restrictions' text.</summary>
public sealed record TrtOpSupport(string Op, bool Supported, IReadOnlySet<string> Types, string Restrictions);

/// <summary>
/// TensorRT's ONNX parser support table for one TensorRT version, as onnx/onnx-tensorrt's docs/operators.md states it
/// (embedded from Inspect/TensorRt/onnx-tensorrt-VERSION.tsv; the file's header names the commit it was read from).
/// Type tokens: FP32, FP16, BF16, FP8, FP4, INT4, INT8, UINT8, INT32, INT64, BOOL, DOUBLE, STRING.
/// </summary>
public sealed class TrtSupportMatrix
{
    private const string Prefix = "PolyNet.TensorRt.onnx-tensorrt-";

    private TrtSupportMatrix(string version, string source, IReadOnlyList<string> notes, long? minOpset, long? maxOpset, IReadOnlyDictionary<string, TrtOpSupport> ops)
    {
        Version = version;
        Source = source;
        Notes = notes;
        MinOpset = minOpset;
        MaxOpset = maxOpset;
        Ops = ops;
    }

    /// <summary>"10.15".</summary>
    public string Version { get; }
    /// <summary>Where the table was read (repository, path, commit).</summary>
    public string Source { get; }
    /// <summary>The document's notes on types (UINT8 only at the network's boundary, DOUBLE cast down, ...).</summary>
    public IReadOnlyList<string> Notes { get; }
    /// <summary>The opsets the document says it covers; null where it states no bound.</summary>
    public long? MinOpset { get; }
    public long? MaxOpset { get; }
    public IReadOnlyDictionary<string, TrtOpSupport> Ops { get; }

    public bool NotesSay(string phrase) => Notes.Any(n => n.Contains(phrase, StringComparison.Ordinal));

    /// <summary>Every encoded TensorRT version, oldest first.</summary>
    public static IReadOnlyList<string> Versions { get; } = typeof(TrtSupportMatrix).Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)).Select(n => n[Prefix.Length..^".tsv".Length])
        .OrderBy(v => System.Version.Parse(v)).ToList();

    public static string Newest => Versions[^1];

    private static readonly Dictionary<string, TrtSupportMatrix> Loaded = new(StringComparer.Ordinal);

    /// <summary>The table for <paramref name="version"/> (default: the newest); an unknown version names the encoded ones.</summary>
    public static TrtSupportMatrix For(string? version = null)
    {
        version ??= Newest;
        lock (Loaded)
        {
            if (Loaded.TryGetValue(version, out var m)) return m;
            if (!Versions.Contains(version))
                throw new InvalidInputException($"--trt-version {version}: PolyNet encodes TensorRT {string.Join(", ", Versions)} (onnx/onnx-tensorrt's support tables)");
            using var stream = typeof(TrtSupportMatrix).Assembly.GetManifestResourceStream(Prefix + version + ".tsv")!;
            return Loaded[version] = Parse(version, new StreamReader(stream).ReadToEnd());
        }
    }

    internal static TrtSupportMatrix Parse(string version, string text)
    {
        string source = "";
        var notes = new List<string>();
        long? min = null, max = null;
        var ops = new Dictionary<string, TrtOpSupport>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("# Source: ", StringComparison.Ordinal)) source = line["# Source: ".Length..].Trim();
            else if (line.StartsWith("# Doc note: ", StringComparison.Ordinal)) notes.Add(line["# Doc note: ".Length..].Trim());
            else if (line.StartsWith("# ONNX opset range (doc): ", StringComparison.Ordinal))
            {
                var nums = System.Text.RegularExpressions.Regex.Matches(line, @"\d+").Select(m => long.Parse(m.Value, CultureInfo.InvariantCulture)).ToList();
                if (line.Contains(" to ", StringComparison.Ordinal) && nums.Count >= 2) (min, max) = (nums[0], nums[1]);
                else if (nums.Count >= 1) max = nums[0];
            }
            else if (line.Length > 0 && !line.StartsWith('#') && !line.StartsWith("op\t", StringComparison.Ordinal))
            {
                var f = line.TrimEnd('\r').Split('\t');
                var types = f.Length > 2 && f[2].Length > 0 ? f[2].Split(',').ToHashSet(StringComparer.Ordinal) : new HashSet<string>();
                ops[f[0]] = new TrtOpSupport(f[0], f.Length > 1 && f[1] == "Y", types, f.Length > 3 ? f[3] : "");
            }
        }
        return new TrtSupportMatrix(version, source, notes, min, max, ops);
    }

    /// <summary>The table's token for an element type (FLOAT → FP32, ...).</summary>
    public static string Token(ElementType t) => t switch
    {
        ElementType.Float => "FP32",
        ElementType.Float16 => "FP16",
        ElementType.BFloat16 => "BF16",
        ElementType.Float8E4M3FN or ElementType.Float8E4M3FNUZ or ElementType.Float8E5M2 or ElementType.Float8E5M2FNUZ => "FP8",
        ElementType.Int4 => "INT4",
        _ => t.ToString().ToUpperInvariant(),
    };
}
