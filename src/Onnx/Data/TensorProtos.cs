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
    /// <param name="wrapRawData">Make the tensor a view of <paramref name="t"/>'s raw_data instead of a copy: only for a
    /// TensorProto the caller owns alone (a file just read), since writes to the tensor would change its ByteString.</param>
    public static TensorData ToTensorData(TensorProto t, string source, string? baseDirectory = null, bool wrapRawData = false)
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

        // Sizes are checked before anything is allocated (and before a product could wrap around: 2^62 float32
        // elements "need" 2^64 = 0 bytes in 64-bit arithmetic).
        if (count > Array.MaxLength)
            throw InvalidInputException.ForFile(source, $"{what} declares shape {shape} ({count} elements), more than one tensor may hold ({Array.MaxLength})");
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
            if (wrapRawData) return new TensorData(type, shape, MemoryMarshal.AsMemory(t.RawData.Memory));
            var bytes = GC.AllocateUninitializedArray<byte>((int)need);
            t.RawData.Span.CopyTo(bytes);
            return new TensorData(type, shape, bytes);
        }
        int have = type switch
        {
            ElementType.Float => t.FloatData.Count,
            ElementType.Double => t.DoubleData.Count,
            ElementType.Int64 => t.Int64Data.Count,
            ElementType.UInt64 or ElementType.UInt32 => t.Uint64Data.Count,
            ElementType.Int32 or ElementType.Int16 or ElementType.UInt16 or ElementType.Float16 or ElementType.BFloat16
                or ElementType.Int8 or ElementType.UInt8 or ElementType.Bool => t.Int32Data.Count,
            _ => throw InvalidInputException.ForFile(source, $"{what}: cannot decode {type.DisplayName()} from typed fields"),
        };
        if (have != count)
            throw InvalidInputException.ForFile(source, $"{what} declares shape {shape} ({count} elements) but holds {have} values");
        var result = TensorData.Allocate(type, shape);
        var dst = result.Bytes;
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
            t.RawData = UnsafeByteOperations.UnsafeWrap(data.Memory);
        }
        return t;
    }

    /// <summary>
    /// Parses a TensorProto file (.pb), as in the ONNX backend tests' test_data_set_N/input_0.pb. The file is mapped,
    /// and a raw_data field is not copied: its ByteString is a window of the mapping (the rest of the message, a few
    /// bytes, is parsed by protobuf as usual).
    /// </summary>
    public static TensorProto ReadTensorProtoFile(string path)
    {
        var file = MappedFile.Open(path, "TensorProto file");
        try
        {
            TensorProto t;
            if (file.Length > int.MaxValue)
                throw InvalidInputException.ForFile(path, $"is {file.Length} bytes, more than a protobuf message may hold (2 GiB); save the tensor as .npy or .npz");
            if (FindRawData(file) is { } raw)
            {
                t = TensorProto.Parser.ParseFrom(raw.Message);
                t.RawData = UnsafeByteOperations.UnsafeWrap(file.Window(raw.At, raw.Length));
            }
            else t = TensorProto.Parser.ParseFrom(file.Span(0, (int)file.Length));
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

    /// <summary>
    /// The last top-level raw_data field (field 9, length-delimited) of a serialized TensorProto, and the message with
    /// every raw_data field cut out. Null where the wire format is anything but plain (groups, a length past the end):
    /// protobuf then parses the whole file and words the error.
    /// </summary>
    private static (long At, int Length, byte[] Message)? FindRawData(MappedFile file)
    {
        if (file.Length > int.MaxValue) return null;
        var b = file.Span(0, (int)file.Length);
        var keep = new List<(int From, int To)>();
        int p = 0, kept = 0;
        long rawAt = -1;
        int rawLen = 0;
        static bool Varint(ReadOnlySpan<byte> b, ref int p, out ulong v)
        {
            v = 0;
            for (int shift = 0; shift < 64 && p < b.Length; shift += 7)
            {
                byte x = b[p++];
                v |= (ulong)(x & 0x7F) << shift;
                if (x < 0x80) return true;
            }
            return false;
        }
        while (p < b.Length)
        {
            int start = p;
            if (!Varint(b, ref p, out var tag)) return null;
            switch (tag & 7)
            {
                case 0: if (!Varint(b, ref p, out _)) return null; break;
                case 1: p += 8; break;
                case 5: p += 4; break;
                case 2:
                    if (!Varint(b, ref p, out var len) || len > (ulong)(b.Length - p)) return null;
                    if (tag >> 3 == 9)
                    {
                        rawAt = p;
                        rawLen = (int)len;
                        p += (int)len;
                        continue; // cut out
                    }
                    p += (int)len;
                    break;
                default: return null;
            }
            if (p > b.Length) return null;
            keep.Add((start, p));
            kept += p - start;
        }
        if (rawAt < 0) return null;
        var rest = new byte[kept];
        int o = 0;
        foreach (var (from, to) in keep)
        {
            b[from..to].CopyTo(rest.AsSpan(o));
            o += to - from;
        }
        return (rawAt, rawLen, rest);
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
        return ToTensorData(t, source, baseDirectory).Memory;
    }

    internal static Span<byte> AsBytes<T>(Span<T> s) where T : unmanaged => MemoryMarshal.AsBytes(s);
}
