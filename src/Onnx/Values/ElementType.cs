namespace PolyNet.Onnx;

/// <summary>
/// Tensor element types. The numbers are ONNX's TensorProto.DataType values, which ONNX Runtime's
/// ONNXTensorElementDataType shares for every type listed here.
/// </summary>
public enum ElementType
{
    Undefined = 0,
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    UInt16 = 4,
    Int16 = 5,
    Int32 = 6,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Float16 = 10,
    Double = 11,
    UInt32 = 12,
    UInt64 = 13,
    Complex64 = 14,
    Complex128 = 15,
    BFloat16 = 16,
    Float8E4M3FN = 17,
    Float8E4M3FNUZ = 18,
    Float8E5M2 = 19,
    Float8E5M2FNUZ = 20,
    UInt4 = 21,
    Int4 = 22,
}

/// <summary>Facts about each <see cref="ElementType"/>: size, names, numpy spelling, numeric class.</summary>
public static class ElementTypes
{
    /// <summary>Bytes per element; 0 for strings; 4-bit types report 1 but are packed two per byte (see <see cref="StorageBytes"/>).</summary>
    public static int ByteSize(this ElementType t) => t switch
    {
        ElementType.Float or ElementType.Int32 or ElementType.UInt32 => 4,
        ElementType.Double or ElementType.Int64 or ElementType.UInt64 or ElementType.Complex64 => 8,
        ElementType.Complex128 => 16,
        ElementType.Float16 or ElementType.BFloat16 or ElementType.Int16 or ElementType.UInt16 => 2,
        ElementType.UInt8 or ElementType.Int8 or ElementType.Bool or ElementType.Float8E4M3FN or ElementType.Float8E4M3FNUZ
            or ElementType.Float8E5M2 or ElementType.Float8E5M2FNUZ or ElementType.UInt4 or ElementType.Int4 => 1,
        ElementType.String => 0,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "element type has no size"),
    };

    /// <summary>Bytes needed to store <paramref name="count"/> elements (4-bit types packed two per byte, rounded up).</summary>
    public static long StorageBytes(this ElementType t, long count)
        => t is ElementType.UInt4 or ElementType.Int4 ? (count + 1) / 2 : count * t.ByteSize();

    /// <summary>The name users see, numpy's where numpy has one: float32, float16, bfloat16, int64, bool, ...</summary>
    public static string DisplayName(this ElementType t) => t switch
    {
        ElementType.Float => "float32",
        ElementType.Double => "float64",
        ElementType.Float16 => "float16",
        ElementType.BFloat16 => "bfloat16",
        ElementType.Int8 => "int8",
        ElementType.Int16 => "int16",
        ElementType.Int32 => "int32",
        ElementType.Int64 => "int64",
        ElementType.UInt8 => "uint8",
        ElementType.UInt16 => "uint16",
        ElementType.UInt32 => "uint32",
        ElementType.UInt64 => "uint64",
        ElementType.Bool => "bool",
        ElementType.String => "string",
        ElementType.Complex64 => "complex64",
        ElementType.Complex128 => "complex128",
        ElementType.Float8E4M3FN => "float8e4m3fn",
        ElementType.Float8E4M3FNUZ => "float8e4m3fnuz",
        ElementType.Float8E5M2 => "float8e5m2",
        ElementType.Float8E5M2FNUZ => "float8e5m2fnuz",
        ElementType.UInt4 => "uint4",
        ElementType.Int4 => "int4",
        _ => $"type{(int)t}",
    };

    /// <summary>Parses a name as written by <see cref="DisplayName"/> (also "float", "double", "half", "fp16", "bf16").</summary>
    public static bool TryParse(string name, out ElementType type)
    {
        type = name.Trim().ToLowerInvariant() switch
        {
            "float32" or "float" or "fp32" or "f32" => ElementType.Float,
            "float64" or "double" or "fp64" or "f64" => ElementType.Double,
            "float16" or "half" or "fp16" or "f16" => ElementType.Float16,
            "bfloat16" or "bf16" => ElementType.BFloat16,
            "int8" => ElementType.Int8,
            "int16" => ElementType.Int16,
            "int32" => ElementType.Int32,
            "int64" => ElementType.Int64,
            "uint8" => ElementType.UInt8,
            "uint16" => ElementType.UInt16,
            "uint32" => ElementType.UInt32,
            "uint64" => ElementType.UInt64,
            "bool" => ElementType.Bool,
            "string" => ElementType.String,
            _ => ElementType.Undefined,
        };
        return type != ElementType.Undefined;
    }

    /// <summary>True for IEEE-like floating types whose values are compared with tolerances.</summary>
    public static bool IsFloatingPoint(this ElementType t)
        => t is ElementType.Float or ElementType.Double or ElementType.Float16 or ElementType.BFloat16;

    /// <summary>True for signed and unsigned integers (compared exactly).</summary>
    public static bool IsInteger(this ElementType t) => t is ElementType.Int8 or ElementType.Int16 or ElementType.Int32
        or ElementType.Int64 or ElementType.UInt8 or ElementType.UInt16 or ElementType.UInt32 or ElementType.UInt64;

    public static bool IsSignedInteger(this ElementType t)
        => t is ElementType.Int8 or ElementType.Int16 or ElementType.Int32 or ElementType.Int64;

    /// <summary>Types PolyNet can generate, load, save, feed to ONNX Runtime and compare.</summary>
    public static bool IsSupported(this ElementType t)
        => t.IsFloatingPoint() || t.IsInteger() || t is ElementType.Bool or ElementType.String;

    /// <summary>The inclusive range of an integer type (exact: Int128 holds every 64-bit bound).</summary>
    public static (Int128 Min, Int128 Max) IntegerRange(this ElementType t) => t switch
    {
        ElementType.Int8 => (sbyte.MinValue, sbyte.MaxValue),
        ElementType.Int16 => (short.MinValue, short.MaxValue),
        ElementType.Int32 => (int.MinValue, int.MaxValue),
        ElementType.Int64 => (long.MinValue, long.MaxValue),
        ElementType.UInt8 => (0, byte.MaxValue),
        ElementType.UInt16 => (0, ushort.MaxValue),
        ElementType.UInt32 => (0, uint.MaxValue),
        ElementType.UInt64 => (0, ulong.MaxValue),
        ElementType.Bool => (0, 1),
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "not an integer type"),
    };
}
