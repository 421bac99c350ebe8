using System.Globalization;
using System.Text;

namespace PolyNet.Onnx;

/// <summary>
/// A concrete tensor shape (every dimension known, each ≥ 0). Immutable; compares by value.
/// Written "1x3x224x224" (rank 0: "scalar"), the spelling of --input-shapes.
/// </summary>
[System.Text.Json.Serialization.JsonConverter(typeof(Json.TensorShapeConverter))]
public readonly struct TensorShape : IEquatable<TensorShape>
{
    private readonly long[]? _dims;

    public TensorShape(params long[] dims)
    {
        foreach (var d in dims)
            if (d < 0) throw new ArgumentOutOfRangeException(nameof(dims), $"negative dimension {d} in shape");
        _dims = (long[])dims.Clone();
    }

    public TensorShape(IEnumerable<long> dims) : this(dims.ToArray()) { }

    public static TensorShape Scalar => new([]);

    public int Rank => _dims?.Length ?? 0;
    public long this[int axis] => (_dims ?? [])[axis];
    public ReadOnlySpan<long> Dims => _dims ?? [];

    /// <summary>Product of the dimensions; throws on overflow (a shape no memory could hold).</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (var d in Dims) n = checked(n * d);
            return n;
        }
    }

    public long[] ToArray() => Dims.ToArray();

    /// <summary>Row-major (C order) multi-index of a flat element index, e.g. "[0, 2, 5]".</summary>
    public string FormatIndex(long flat)
    {
        if (Rank == 0) return "[]";
        var idx = new long[Rank];
        for (int a = Rank - 1; a >= 0; a--)
        {
            var d = this[a];
            if (d == 0) { idx[a] = 0; continue; }
            idx[a] = flat % d;
            flat /= d;
        }
        return "[" + string.Join(", ", idx) + "]";
    }

    public override string ToString() => Rank == 0 ? "scalar" : string.Join("x", Dims.ToArray());

    /// <summary>The numpy spelling, "(1, 3, 224, 224)".</summary>
    public string ToTupleString() => Rank switch
    {
        0 => "()",
        1 => $"({this[0]},)",
        _ => "(" + string.Join(", ", Dims.ToArray()) + ")",
    };

    /// <summary>
    /// Parses "1x3x224x224", "[1,3,224,224]", "(1, 3)", "scalar", "[]". Strict: anything else is an error message.
    /// </summary>
    public static bool TryParse(string text, out TensorShape shape, out string? error)
    {
        shape = default;
        error = null;
        var t = text.Trim();
        if (t is "scalar" or "[]" or "()")
        {
            shape = Scalar;
            return true;
        }
        string[] parts;
        if ((t.StartsWith('[') && t.EndsWith(']')) || (t.StartsWith('(') && t.EndsWith(')')))
            parts = t[1..^1].Split(',', StringSplitOptions.TrimEntries);
        else
            parts = t.Split('x', StringSplitOptions.TrimEntries);
        if (parts.Length > 0 && parts[^1].Length == 0 && t.EndsWith(",)", StringComparison.Ordinal))
            parts = parts[..^1];
        var dims = new long[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!long.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out dims[i]))
            {
                error = $"bad shape '{text}': dimension {i} ('{parts[i]}') is not a non-negative integer (write 1x3x224x224)";
                return false;
            }
        }
        shape = new TensorShape(dims);
        return true;
    }

    public bool Equals(TensorShape other) => Dims.SequenceEqual(other.Dims);
    public override bool Equals(object? obj) => obj is TensorShape s && Equals(s);
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var d in Dims) h.Add(d);
        return h.ToHashCode();
    }
    public static bool operator ==(TensorShape a, TensorShape b) => a.Equals(b);
    public static bool operator !=(TensorShape a, TensorShape b) => !a.Equals(b);
}

/// <summary>
/// A shape as a model declares it: each dimension is a number, a symbolic name ("batch"), or unknown.
/// </summary>
public sealed record SymbolicShape(IReadOnlyList<SymbolicDim> Dims)
{
    public int Rank => Dims.Count;
    public bool IsFullyKnown => Dims.All(d => d.Value is not null);

    public TensorShape ToShape() => IsFullyKnown
        ? new TensorShape(Dims.Select(d => d.Value!.Value))
        : throw new InvalidOperationException($"shape {this} has dynamic dimensions");

    public override string ToString()
    {
        var sb = new StringBuilder("[");
        for (int i = 0; i < Dims.Count; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(Dims[i]);
        }
        return sb.Append(']').ToString();
    }
}

/// <summary>One declared dimension: a fixed size, a named symbolic size, or unknown (both null).</summary>
public readonly record struct SymbolicDim(long? Value, string? Param)
{
    public static SymbolicDim Fixed(long v) => new(v, null);
    public static SymbolicDim Named(string p) => new(null, p);
    public static SymbolicDim Unknown => new(null, null);
    public override string ToString() => Value?.ToString(CultureInfo.InvariantCulture) ?? (string.IsNullOrEmpty(Param) ? "?" : Param);
}
