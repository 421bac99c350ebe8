using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PolyNet.Onnx;

/// <summary>
/// A dense tensor in host memory: element type, shape and data. Numeric data is one block of bytes in
/// little-endian, row-major (C) order: a managed array, or a window of a data file mapped copy-on-write
/// (<see cref="Data.MappedFile"/>: loading then copies nothing), so spans over it can be handed to ONNX Runtime
/// (pinned for the call) and to the comparator without copies. Strings are a managed string array.
/// Limits: one tensor holds at most <see cref="Array.MaxLength"/> bytes (about 2 GiB).
/// Ownership: the bytes belong to this object; callers that mutate <see cref="Span{T}"/> results change the
/// tensor (for a mapped file, only this process's private copy of the touched pages, never the file).
/// </summary>
public sealed class TensorData : OnnxValue
{
    private readonly Memory<byte> _bytes;
    private readonly string[]? _strings;

    /// <summary>Wraps <paramref name="bytes"/> (not copied) as a tensor of the given type and shape.</summary>
    public TensorData(ElementType type, TensorShape shape, byte[] bytes) : this(type, shape, bytes.AsMemory()) { }

    /// <summary>Wraps <paramref name="bytes"/> (not copied: a mapped file's window, or part of an array) as a tensor.</summary>
    public TensorData(ElementType type, TensorShape shape, Memory<byte> bytes)
    {
        if (type == ElementType.String) throw new ArgumentException("string tensors take a string array", nameof(type));
        if (type == ElementType.Undefined) throw new ArgumentException("undefined element type", nameof(type));
        long expected = type.StorageBytes(shape.ElementCount);
        if (bytes.Length != expected)
            throw new ArgumentException($"{type.DisplayName()} tensor of shape {shape} needs {expected} bytes, got {bytes.Length}");
        ElementType = type;
        Shape = shape;
        _bytes = bytes;
    }

    /// <summary>Wraps <paramref name="strings"/> (not copied) as a string tensor.</summary>
    public TensorData(TensorShape shape, string[] strings)
    {
        if (strings.LongLength != shape.ElementCount)
            throw new ArgumentException($"string tensor of shape {shape} needs {shape.ElementCount} strings, got {strings.Length}");
        ElementType = ElementType.String;
        Shape = shape;
        _bytes = Memory<byte>.Empty;
        _strings = strings;
    }

    public ElementType ElementType { get; }
    public TensorShape Shape { get; }
    public long ElementCount => Shape.ElementCount;
    public override ValueKind Kind => ValueKind.Tensor;

    /// <summary>The raw little-endian bytes (empty for string tensors).</summary>
    public Span<byte> Bytes => _bytes.Span;

    /// <summary>The raw bytes as memory, for callers that pin them (ONNX Runtime) or wrap them (protobuf).</summary>
    public Memory<byte> Memory => _bytes;

    /// <summary>The number of raw bytes (0 for string tensors).</summary>
    public int ByteCount => _bytes.Length;

    /// <summary>The strings of a string tensor; throws for other types.</summary>
    public string[] Strings => _strings ?? throw new InvalidOperationException($"{ElementType.DisplayName()} tensor has no strings");

    public override string Describe() => $"{ElementType.DisplayName()} {Shape}";

    /// <summary>A tensor of the given type and shape with unspecified contents (not zeroed).</summary>
    public static TensorData Allocate(ElementType type, TensorShape shape)
    {
        if (type == ElementType.String) return new TensorData(shape, new string[shape.ElementCount]);
        long n = type.StorageBytes(shape.ElementCount);
        if (n > Array.MaxLength)
            throw new InvalidInputException($"a {type.DisplayName()} tensor of shape {shape} needs {n} bytes, more than one tensor may hold here ({Array.MaxLength})");
        return new TensorData(type, shape, GC.AllocateUninitializedArray<byte>((int)n));
    }

    /// <summary>A tensor holding a copy of <paramref name="values"/>; the element type follows from <typeparamref name="T"/>.</summary>
    public static TensorData Create<T>(TensorShape shape, ReadOnlySpan<T> values) where T : unmanaged
    {
        var type = TypeOf<T>();
        var t = Allocate(type, shape);
        if (values.Length != shape.ElementCount)
            throw new ArgumentException($"shape {shape} holds {shape.ElementCount} elements, got {values.Length}");
        MemoryMarshal.AsBytes(values).CopyTo(t._bytes.Span);
        return t;
    }

    public static TensorData Create<T>(long[] shape, params T[] values) where T : unmanaged
        => Create<T>(new TensorShape(shape), values);

    public static TensorData Scalar<T>(T value) where T : unmanaged => Create<T>(TensorShape.Scalar, [value]);

    /// <summary>The element type that represents <typeparamref name="T"/>.</summary>
    public static ElementType TypeOf<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return ElementType.Float;
        if (typeof(T) == typeof(double)) return ElementType.Double;
        if (typeof(T) == typeof(Half)) return ElementType.Float16;
        if (typeof(T) == typeof(BFloat16)) return ElementType.BFloat16;
        if (typeof(T) == typeof(sbyte)) return ElementType.Int8;
        if (typeof(T) == typeof(short)) return ElementType.Int16;
        if (typeof(T) == typeof(int)) return ElementType.Int32;
        if (typeof(T) == typeof(long)) return ElementType.Int64;
        if (typeof(T) == typeof(byte)) return ElementType.UInt8;
        if (typeof(T) == typeof(ushort)) return ElementType.UInt16;
        if (typeof(T) == typeof(uint)) return ElementType.UInt32;
        if (typeof(T) == typeof(ulong)) return ElementType.UInt64;
        if (typeof(T) == typeof(bool)) return ElementType.Bool;
        throw new NotSupportedException($"no ONNX element type for {typeof(T).Name}");
    }

    /// <summary>The data as a span of <typeparamref name="T"/>; T's size must match the element size.</summary>
    public Span<T> Span<T>() where T : unmanaged
    {
        if (Unsafe.SizeOf<T>() != ElementType.ByteSize() || ElementType == ElementType.String)
            throw new InvalidOperationException($"cannot view a {ElementType.DisplayName()} tensor as {typeof(T).Name}");
        return MemoryMarshal.Cast<byte, T>(_bytes.Span);
    }

    public T[] ToArray<T>() where T : unmanaged => Span<T>().ToArray();

    /// <summary>Element <paramref name="i"/> (flat, C order) as a double. Integers beyond 2^53 round.</summary>
    public double GetDouble(long i)
    {
        var b = _bytes.Span;
        int k = checked((int)i);
        return ElementType switch
        {
            ElementType.Float => BinaryPrimitives.ReadSingleLittleEndian(b[(k * 4)..]),
            ElementType.Double => BinaryPrimitives.ReadDoubleLittleEndian(b[(k * 8)..]),
            ElementType.Float16 => (double)BinaryPrimitives.ReadHalfLittleEndian(b[(k * 2)..]),
            ElementType.BFloat16 => BFloat16.BitsToFloat(BinaryPrimitives.ReadUInt16LittleEndian(b[(k * 2)..])),
            ElementType.Int8 => unchecked((sbyte)b[k]),
            ElementType.UInt8 => b[k],
            ElementType.Bool => b[k] != 0 ? 1 : 0,
            ElementType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(b[(k * 2)..]),
            ElementType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(b[(k * 2)..]),
            ElementType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(b[(k * 4)..]),
            ElementType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(b[(k * 4)..]),
            ElementType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(b[(k * 8)..]),
            ElementType.UInt64 => BinaryPrimitives.ReadUInt64LittleEndian(b[(k * 8)..]),
            _ => throw new InvalidOperationException($"{ElementType.DisplayName()} elements have no numeric value"),
        };
    }

    /// <summary>Element <paramref name="i"/> formatted for a report: exact integers, shortest round-trip floats.</summary>
    public string FormatElement(long i)
    {
        if (ElementType == ElementType.String) return "\"" + Strings[i] + "\"";
        if (ElementType == ElementType.Bool) return _bytes.Span[(int)i] != 0 ? "True" : "False";
        if (ElementType == ElementType.Int64)
            return BinaryPrimitives.ReadInt64LittleEndian(_bytes.Span[(int)(i * 8)..]).ToString(CultureInfo.InvariantCulture);
        if (ElementType == ElementType.UInt64)
            return BinaryPrimitives.ReadUInt64LittleEndian(_bytes.Span[(int)(i * 8)..]).ToString(CultureInfo.InvariantCulture);
        if (ElementType == ElementType.Float)
            return BinaryPrimitives.ReadSingleLittleEndian(_bytes.Span[(int)(i * 4)..]).ToString("R", CultureInfo.InvariantCulture);
        return GetDouble(i).ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>A deep copy with the same type and shape.</summary>
    public TensorData Clone() => ElementType == ElementType.String
        ? new TensorData(Shape, (string[])Strings.Clone())
        : new TensorData(ElementType, Shape, _bytes.ToArray());

    /// <summary>The same data viewed with another shape of equal element count.</summary>
    public TensorData Reshape(TensorShape shape)
    {
        if (shape.ElementCount != ElementCount)
            throw new ArgumentException($"cannot reshape {Shape} ({ElementCount} elements) to {shape}");
        return ElementType == ElementType.String ? new TensorData(shape, Strings) : new TensorData(ElementType, shape, _bytes);
    }

    /// <summary>True when type, shape and every byte (or string) are equal.</summary>
    public bool ContentEquals(TensorData other)
        => ElementType == other.ElementType && Shape == other.Shape
           && (ElementType == ElementType.String
               ? Strings.AsSpan().SequenceEqual(other.Strings)
               : _bytes.Span.SequenceEqual(other._bytes.Span));
}
