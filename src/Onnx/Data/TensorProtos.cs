using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Google.Protobuf;
using PolyNet.Onnx.Proto;

namespace PolyNet.Onnx.Data;

/// <summary>
/// Conversion between ONNX TensorProto messages and <see cref="TensorData"/>, for every storage form the
/// specification allows: raw_data (little-endian), the typed repeated fields, and external data.
/// </summary>
public static class TensorProtos
{
    /// <summary>
    /// Decodes <paramref name="t"/>. <paramref name="source"/> names the file in errors;
    /// <paramref name="baseDirectory"/> resolves external data (null: external data is an error).
    /// </summary>
    public static TensorData ToTensorData(TensorProto t, string source, string? baseDirectory = null)
    {
        var type = (ElementType)t.DataType;
        var what = string.IsNullOrEmpty(t.Name) ? "tensor" : $"tensor '{t.Name}'";
        if (!Enum.IsDefined(type) || type == ElementType.Undefined)
            throw InvalidInputException.ForFile(source, $"{what} has unknown data type {t.DataType}");
        if (!type.IsSupported())
            throw InvalidInputException.ForFile(source, $"{what} has data type {type.DisplayName()}, which PolyNet does not handle yet");
        if (t.Segment is not null)
            throw InvalidInputException.ForFile(source, $"{what} is a segment of a larger tensor, which PolyNet does not handle");
        foreach (var d in t.Dims)
            if (d < 0) throw InvalidInputException.ForFile(source, $"{what} has a negative dimension {d}");
        TensorShape shape;
        long count;
        try
        {
            shape = new TensorShape(t.Dims);
            count = shape.ElementCount;
        }
        catch (OverflowException)
        {
            throw InvalidInputException.ForFile(source, $"{what} declares shape [{string.Join(", ", t.Dims)}], too many elements");
        }

        if (type == ElementType.String)
        {
            if (t.StringData.Count != count)
                throw InvalidInputException.ForFile(source, $"{what} declares {count} strings but holds {t.StringData.Count}");
            var strings = new string[count];
            for (int i = 0; i < strings.Length; i++) strings[i] = t.StringData[i].ToStringUtf8();
            return new TensorData(shape, strings);
        }

        long need = type.StorageBytes(count);
        if (ExternalData.IsExternal(t))
        {
            if (baseDirectory is null)
                throw InvalidInputException.ForFile(source, $"{what} refers to external data, which is not allowed here");
            return new TensorData(type, shape, ExternalData.Read(t, baseDirectory, source));
        }
        if (t.HasRawData)
        {
            if (t.RawData.Length != need)
                throw InvalidInputException.ForFile(source, $"{what} declares shape {shape} ({need} bytes of {type.DisplayName()}) but holds {t.RawData.Length} bytes");
            var bytes = GC.AllocateUninitializedArray<byte>((int)need);
            t.RawData.Span.CopyTo(bytes);
            return new TensorData(type, shape, bytes);
        }
        var result = TensorData.Allocate(type, shape);
        var dst = result.RawBytes.AsSpan();
        void Expect(int have)
        {
            if (have != count)
                throw InvalidInputException.ForFile(source, $"{what} declares shape {shape} ({count} elements) but holds {have} values");
        }
        switch (type)
        {
            case ElementType.Float:
                Expect(t.FloatData.Count);
                for (int i = 0; i < count; i++) BinaryPrimitives.WriteSingleLittleEndian(dst[(i * 4)..], t.FloatData[i]);
                break;
            case ElementType.Double:
                Expect(t.DoubleData.Count);
                for (int i = 0; i < count; i++) BinaryPrimitives.WriteDoubleLittleEndian(dst[(i * 8)..], t.DoubleData[i]);
                break;
            case ElementType.Int64:
                Expect(t.Int64Data.Count);
                for (int i = 0; i < count; i++) BinaryPrimitives.WriteInt64LittleEndian(dst[(i * 8)..], t.Int64Data[i]);
                break;
            case ElementType.UInt64:
                Expect(t.Uint64Data.Count);
                for (int i = 0; i < count; i++) BinaryPrimitives.WriteUInt64LittleEndian(dst[(i * 8)..], t.Uint64Data[i]);
                break;
            case ElementType.UInt32:
                Expect(t.Uint64Data.Count);
                for (int i = 0; i < count; i++) BinaryPrimitives.WriteUInt32LittleEndian(dst[(i * 4)..], (uint)t.Uint64Data[i]);
                break;
            case ElementType.Int32:
                Expect(t.Int32Data.Count);
                for (int i = 0; i < count; i++) BinaryPrimitives.WriteInt32LittleEndian(dst[(i * 4)..], t.Int32Data[i]);
                break;
            case ElementType.Int16 or ElementType.UInt16 or ElementType.Float16 or ElementType.BFloat16:
                Expect(t.Int32Data.Count);
                for (int i = 0; i < count; i++) BinaryPrimitives.WriteUInt16LittleEndian(dst[(i * 2)..], (ushort)t.Int32Data[i]);
                break;
            case ElementType.Int8 or ElementType.UInt8 or ElementType.Bool:
                Expect(t.Int32Data.Count);
                for (int i = 0; i < count; i++) dst[i] = (byte)t.Int32Data[i];
                break;
            default:
                throw InvalidInputException.ForFile(source, $"{what}: cannot decode {type.DisplayName()} from typed fields");
        }
        return result;
    }

    /// <summary>Encodes <paramref name="data"/> as a TensorProto named <paramref name="name"/> (raw_data for numbers).</summary>
    public static TensorProto FromTensorData(string name, TensorData data)
    {
        var t = new TensorProto { Name = name, DataType = (int)data.ElementType };
        t.Dims.AddRange(data.Shape.ToArray());
        if (data.ElementType == ElementType.String)
        {
            foreach (var s in data.Strings) t.StringData.Add(ByteString.CopyFrom(s ?? "", Encoding.UTF8));
        }
        else
        {
            // The tensor's array is wrapped, not copied: ByteString is immutable and TensorData's bytes belong to it.
            t.RawData = UnsafeByteOperations.UnsafeWrap(data.RawBytes);
        }
        return t;
    }

    /// <summary>Parses a TensorProto file (.pb), as in the ONNX backend tests' test_data_set_N/input_0.pb.</summary>
    public static TensorProto ReadTensorProtoFile(string path)
    {
        var bytes = ReadFileBytes(path);
        try
        {
            var t = TensorProto.Parser.ParseFrom(bytes);
            if (t.DataType == 0 && t.Dims.Count == 0 && !t.HasRawData && t.FloatData.Count == 0 && t.Int64Data.Count == 0
                && t.Int32Data.Count == 0 && t.DoubleData.Count == 0 && t.StringData.Count == 0 && t.Uint64Data.Count == 0)
                throw InvalidInputException.ForFile(path, "not a TensorProto file (no data type, shape or data)");
            return t;
        }
        catch (InvalidProtocolBufferException e)
        {
            throw InvalidInputException.ForFile(path, $"not a valid TensorProto file ({Describe(e)})");
        }
    }

    internal static string Describe(InvalidProtocolBufferException e)
        => e.Message.Contains("ended unexpectedly", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("truncated", StringComparison.OrdinalIgnoreCase)
            ? "truncated: the file ends in the middle of a message"
            : "protobuf: " + e.Message.Split('\n')[0];

    internal static byte[] ReadFileBytes(string path)
    {
        if (Directory.Exists(path)) throw InvalidInputException.ForFile(path, "is a folder, not a file");
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "no such file");
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (IOException e)
        {
            throw InvalidInputException.ForFile(path, $"cannot read: {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw InvalidInputException.ForFile(path, "permission denied", e);
        }
    }

    /// <summary>Returns the values of a float-valued tensor proto as floats (tests and builders).</summary>
    public static float[] AsFloats(TensorProto t) => ToTensorData(t, "<tensor>").ToArray<float>();

    /// <summary>Element data as raw little-endian bytes whatever the storage form (external needs a folder).</summary>
    public static ReadOnlyMemory<byte> RawBytes(TensorProto t, string source, string? baseDirectory)
    {
        if (t.HasRawData && !ExternalData.IsExternal(t)) return t.RawData.Memory;
        return ToTensorData(t, source, baseDirectory).RawBytes;
    }

    internal static Span<byte> AsBytes<T>(Span<T> s) where T : unmanaged => MemoryMarshal.AsBytes(s);
}
