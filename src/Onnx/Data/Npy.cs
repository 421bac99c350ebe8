using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace PolyNet.Onnx.Data;

/// <summary>The header of a .npy array: numpy's dtype string, memory order and shape.</summary>
public sealed record NpyHeader(string Descr, bool FortranOrder, long[] Shape)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => checked(a * b));
}

/// <summary>
/// numpy's .npy format (versions 1.0, 2.0 and 3.0): read and write.
/// Reading accepts every dtype PolyNet models (bool, signed and unsigned integers, float16/32/64, unicode and byte
/// strings) in either byte order, and Fortran order (transposed to C order on load). Object arrays (pickles) are
/// refused. Writing produces version 1.0 (2.0 for huge headers), little-endian, C order, data aligned to 64 bytes,
/// which numpy and Polygraphy load.
/// </summary>
public static class Npy
{
    /// <summary>The most elements a zero-width string array ('&lt;U0') may declare: it holds no data to check them against.</summary>
    public const long MaxZeroWidthStrings = 1 << 20;

    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Reads one array from <paramref name="stream"/>, which is left just past the array's data.</summary>
    /// <param name="source">Names the file (and archive member) in errors.</param>
    /// <param name="maxBytes">Refuse arrays whose declared data is larger (zip bombs, absurd headers).</param>
    public static TensorData Read(Stream stream, string source, long maxBytes = long.MaxValue)
    {
        var header = ReadHeader(stream, source);
        var (type, itemSize, bigEndian, count, bytes) = Measure(header, source, maxBytes);
        var data = GC.AllocateUninitializedArray<byte>((int)bytes);
        int done = 0;
        while (done < data.Length)
        {
            // Bounded requests: some streams (decompressors, base64 decoders) buffer in proportion to the request.
            int n = stream.Read(data, done, Math.Min(data.Length - done, 1 << 20));
            if (n <= 0) throw Truncated(source, header, bytes, done);
            done += n;
        }
        return Convert(data, header, type, itemSize, bigEndian, count);
    }

    /// <summary>
    /// Reads the array stored at [offset, offset + length) of <paramref name="file"/> (a whole .npy file, or an .npz
    /// member stored uncompressed). Little-endian C-order numbers (what numpy writes) become a window of the file:
    /// nothing is copied; other layouts are converted into a new array.
    /// </summary>
    public static TensorData Read(MappedFile file, long offset, long length, string source, long maxBytes = long.MaxValue)
    {
        NpyHeader header;
        long headerBytes;
        using (var hs = file.Stream(offset, length))
        {
            header = ReadHeader(hs, source);
            headerBytes = hs.Position;
        }
        var (type, itemSize, bigEndian, count, bytes) = Measure(header, source, maxBytes);
        long available = length - headerBytes;
        if (bytes > available) throw Truncated(source, header, bytes, available);
        long at = offset + headerBytes;
        var span = file.Span(at, (int)bytes);
        bool plain = type != ElementType.String && !(bigEndian && itemSize > 1) && !(header.FortranOrder && header.Shape.Length > 1)
                     && (type != ElementType.Bool || !span.ContainsAnyExcept((byte)0, (byte)1));
        if (plain) return new TensorData(type, new TensorShape(header.Shape), file.Window(at, (int)bytes));
        return Convert(span.ToArray(), header, type, itemSize, bigEndian, count);
    }

    /// <summary>The declared type and size, checked against the limits before anything is allocated.</summary>
    private static (ElementType Type, int ItemSize, bool BigEndian, long Count, long Bytes) Measure(NpyHeader header, string source, long maxBytes)
    {
        var (type, itemSize, bigEndian) = ParseDescr(header.Descr, source);
        long count;
        try { count = header.ElementCount; }
        catch (OverflowException) { throw InvalidInputException.ForFile(source, $"array shape {Fmt(header.Shape)} has too many elements"); }
        long bytes;
        try { bytes = checked(count * itemSize); }
        catch (OverflowException) { throw InvalidInputException.ForFile(source, $"array shape {Fmt(header.Shape)} of {header.Descr} declares more bytes than any file holds"); }
        // Zero-width strings ('<U0') take no bytes in the file but a reference each in memory.
        if (type == ElementType.String && itemSize == 0 && count > MaxZeroWidthStrings)
            throw InvalidInputException.ForFile(source, $"array of shape {Fmt(header.Shape)} declares {count} zero-width strings, more than allowed ({MaxZeroWidthStrings})");
        if (bytes > maxBytes || bytes > Array.MaxLength)
            throw InvalidInputException.ForFile(source, $"array of shape {Fmt(header.Shape)} declares {bytes} bytes of data, more than allowed here ({Math.Min(maxBytes, Array.MaxLength)})");
        return (type, itemSize, bigEndian, count, bytes);
    }

    private static InvalidInputException Truncated(string source, NpyHeader header, long bytes, long have)
        => InvalidInputException.ForFile(source, $"array header declares shape {Fmt(header.Shape)} ({bytes} bytes of {header.Descr}) but the file holds only {have} bytes of data");

    /// <summary>The tensor for raw .npy data: strings decoded, big-endian swapped, bools normalized, Fortran order transposed.</summary>
    private static TensorData Convert(byte[] data, NpyHeader header, ElementType type, int itemSize, bool bigEndian, long count)
    {
        var shape = new TensorShape(header.Shape);
        TensorData result;
        if (type == ElementType.String)
            result = new TensorData(shape, DecodeStrings(data, header.Descr, itemSize, count));
        else
        {
            if (bigEndian && itemSize > 1) SwapBytes(data, itemSize);
            if (type == ElementType.Bool)
                for (int i = 0; i < data.Length; i++) data[i] = data[i] != 0 ? (byte)1 : (byte)0;
            result = new TensorData(type, shape, data);
        }
        return header.FortranOrder && header.Shape.Length > 1 ? FortranToC(result, type == ElementType.String ? 0 : itemSize) : result;
    }

    public static NpyHeader ReadHeader(Stream stream, string source)
    {
        Span<byte> pre = stackalloc byte[8];
        if (!ReadExactly(stream, pre))
            throw InvalidInputException.ForFile(source, "not a .npy array (file too short for the NUMPY header)");
        if (!pre[..6].SequenceEqual(Magic))
            throw InvalidInputException.ForFile(source, "not a .npy array (no \\x93NUMPY magic)");
        int major = pre[6];
        int headerLen;
        if (major == 1)
        {
            Span<byte> l = stackalloc byte[2];
            if (!ReadExactly(stream, l)) throw InvalidInputException.ForFile(source, "truncated .npy header");
            headerLen = BinaryPrimitives.ReadUInt16LittleEndian(l);
        }
        else if (major is 2 or 3)
        {
            Span<byte> l = stackalloc byte[4];
            if (!ReadExactly(stream, l)) throw InvalidInputException.ForFile(source, "truncated .npy header");
            uint len = BinaryPrimitives.ReadUInt32LittleEndian(l);
            if (len > 1 << 24) throw InvalidInputException.ForFile(source, $".npy header claims {len} bytes, too long to be real");
            headerLen = (int)len;
        }
        else throw InvalidInputException.ForFile(source, $"unsupported .npy format version {major}.{pre[7]}");
        var hb = new byte[headerLen];
        if (!ReadExactly(stream, hb)) throw InvalidInputException.ForFile(source, "truncated .npy header");
        var text = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(hb);
        return ParseHeaderDict(text, source);
    }

    private static bool ReadExactly(Stream s, Span<byte> buffer)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int n = s.Read(buffer[done..]);
            if (n <= 0) return false;
            done += n;
        }
        return true;
    }

    private static NpyHeader ParseHeaderDict(string text, string source)
    {
        object? parsed;
        try { parsed = new PythonLiteral(text).ParseValue(); }
        catch (FormatException e) { throw InvalidInputException.ForFile(source, $"bad .npy header: {e.Message}"); }
        if (parsed is not Dictionary<string, object?> dict)
            throw InvalidInputException.ForFile(source, "bad .npy header: not a dictionary");
        if (!dict.TryGetValue("descr", out var descr) || descr is not string d)
            throw InvalidInputException.ForFile(source, descr is List<object?> ? "structured (record) arrays are not supported" : "bad .npy header: no 'descr'");
        if (!dict.TryGetValue("fortran_order", out var fo) || fo is not bool fortran)
            throw InvalidInputException.ForFile(source, "bad .npy header: no 'fortran_order'");
        if (!dict.TryGetValue("shape", out var sh) || sh is not List<object?> shapeList)
            throw InvalidInputException.ForFile(source, "bad .npy header: no 'shape' tuple");
        var shape = new long[shapeList.Count];
        for (int i = 0; i < shape.Length; i++)
        {
            if (shapeList[i] is not long v || v < 0)
                throw InvalidInputException.ForFile(source, $"bad .npy header: shape entry {i} is not a non-negative integer");
            shape[i] = v;
        }
        return new NpyHeader(d, fortran, shape);
    }

    /// <summary>Maps a numpy dtype string ("&lt;f4", "|b1", "&gt;i8", "&lt;U7") to PolyNet's type, item size and byte order.</summary>
    public static (ElementType Type, int ItemSize, bool BigEndian) ParseDescr(string descr, string source)
    {
        if (descr.Length < 2) throw InvalidInputException.ForFile(source, $"bad dtype '{descr}'");
        char order = descr[0];
        string rest = descr;
        if (order is '<' or '>' or '|' or '=') rest = descr[1..];
        else order = '=';
        bool big = order == '>';
        char kind = rest[0];
        if (!int.TryParse(rest.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var size))
        {
            if (kind == 'O') throw InvalidInputException.ForFile(source, "object arrays (dtype 'O') need pickle, which PolyNet never runs; save plain numeric arrays");
            throw InvalidInputException.ForFile(source, $"unsupported dtype '{descr}'");
        }
        ElementType type = (kind, size) switch
        {
            ('f', 2) => ElementType.Float16,
            ('f', 4) => ElementType.Float,
            ('f', 8) => ElementType.Double,
            ('i', 1) => ElementType.Int8,
            ('i', 2) => ElementType.Int16,
            ('i', 4) => ElementType.Int32,
            ('i', 8) => ElementType.Int64,
            ('u', 1) => ElementType.UInt8,
            ('u', 2) => ElementType.UInt16,
            ('u', 4) => ElementType.UInt32,
            ('u', 8) => ElementType.UInt64,
            ('b', 1) => ElementType.Bool,
            ('U', _) => ElementType.String,
            ('S', _) => ElementType.String,
            _ => ElementType.Undefined,
        };
        if (type == ElementType.Undefined)
            throw InvalidInputException.ForFile(source, kind == 'c'
                ? $"complex arrays ('{descr}') are not supported"
                : $"unsupported dtype '{descr}'");
        if (kind == 'U' && size > int.MaxValue / 4)
            throw InvalidInputException.ForFile(source, $"dtype '{descr}' declares strings of {size} characters, more than any array may hold");
        int itemSize = kind == 'U' ? size * 4 : size;
        if (kind is 'U' or 'S' && size == 0) itemSize = 0;
        return (type, itemSize, big);
    }

    private static string[] DecodeStrings(byte[] data, string descr, int itemSize, long count)
    {
        var result = new string[count];
        bool unicode = descr.Contains('U');
        bool big = descr[0] == '>';
        var enc = unicode ? (big ? new UTF32Encoding(bigEndian: true, byteOrderMark: false) : new UTF32Encoding(false, false)) : Encoding.Latin1;
        for (long i = 0; i < count; i++)
        {
            var span = data.AsSpan((int)(i * itemSize), itemSize);
            int len = span.Length;
            if (unicode)
            {
                while (len >= 4 && span[len - 4] == 0 && span[len - 3] == 0 && span[len - 2] == 0 && span[len - 1] == 0) len -= 4;
            }
            else
            {
                while (len > 0 && span[len - 1] == 0) len--;
            }
            result[i] = unicode ? enc.GetString(span[..len]) : Encoding.UTF8.GetString(span[..len]);
        }
        return result;
    }

    private static void SwapBytes(byte[] data, int itemSize)
    {
        for (int i = 0; i + itemSize <= data.Length; i += itemSize)
            data.AsSpan(i, itemSize).Reverse();
    }

    /// <summary>Reorders Fortran-ordered (column-major) data to C order.</summary>
    private static TensorData FortranToC(TensorData t, int itemSize)
    {
        var dims = t.Shape.ToArray();
        int rank = dims.Length;
        long count = t.ElementCount;
        // Strides of the Fortran layout, in elements.
        var fstride = new long[rank];
        long s = 1;
        for (int a = 0; a < rank; a++) { fstride[a] = s; s *= dims[a]; }
        var idx = new long[rank];
        if (t.ElementType == ElementType.String)
        {
            var src = t.Strings;
            var dst = new string[count];
            for (long c = 0; c < count; c++)
            {
                long off = 0;
                for (int a = 0; a < rank; a++) off += idx[a] * fstride[a];
                dst[c] = src[off];
                Increment(idx, dims);
            }
            return new TensorData(t.Shape, dst);
        }
        var from = t.Bytes;
        var to = GC.AllocateUninitializedArray<byte>(from.Length);
        for (long c = 0; c < count; c++)
        {
            long off = 0;
            for (int a = 0; a < rank; a++) off += idx[a] * fstride[a];
            from.Slice((int)(off * itemSize), itemSize).CopyTo(to.AsSpan((int)(c * itemSize), itemSize));
            Increment(idx, dims);
        }
        return new TensorData(t.ElementType, t.Shape, to);
    }

    private static void Increment(long[] idx, long[] dims)
    {
        for (int a = idx.Length - 1; a >= 0; a--)
        {
            if (++idx[a] < dims[a]) return;
            idx[a] = 0;
        }
    }

    /// <summary>The numpy dtype string PolyNet writes for a tensor (bfloat16 has none: callers convert it first).</summary>
    public static string DescrOf(TensorData t) => t.ElementType switch
    {
        ElementType.Float => "<f4",
        ElementType.Double => "<f8",
        ElementType.Float16 => "<f2",
        ElementType.Int8 => "|i1",
        ElementType.Int16 => "<i2",
        ElementType.Int32 => "<i4",
        ElementType.Int64 => "<i8",
        ElementType.UInt8 => "|u1",
        ElementType.UInt16 => "<u2",
        ElementType.UInt32 => "<u4",
        ElementType.UInt64 => "<u8",
        ElementType.Bool => "|b1",
        ElementType.String => $"<U{Math.Max(1, t.Strings.Max(s => s?.Length ?? 0))}",
        _ => throw new InvalidInputException($"{t.ElementType.DisplayName()} arrays cannot be written to .npy (numpy has no such dtype)"),
    };

    /// <summary>Writes <paramref name="t"/> as one .npy array (streamed: the data is written straight from the tensor).</summary>
    public static void Write(Stream stream, TensorData t)
    {
        stream.Write(HeaderBytes(t));
        if (t.ElementType == ElementType.String) stream.Write(StringPayload(t));
        else stream.Write(t.Bytes);
    }

    /// <summary>The .npy header for <paramref name="t"/>: version 1.0 (2.0 for huge headers), padded so the data starts at a multiple of 64.</summary>
    public static byte[] HeaderBytes(TensorData t)
    {
        var descr = DescrOf(t);
        var dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {t.Shape.ToTupleString()}, }}";
        int preamble = 10;
        int total = preamble + dict.Length + 1;
        bool v2 = total + 64 > ushort.MaxValue;
        if (v2) { preamble = 12; total = preamble + dict.Length + 1; }
        int padded = (total + 63) / 64 * 64;
        var header = dict + new string(' ', padded - total) + "\n";
        var result = new byte[preamble + header.Length];
        Magic.CopyTo(result, 0);
        result[6] = (byte)(v2 ? 2 : 1);
        result[7] = 0;
        if (v2) BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(8), (uint)header.Length);
        else BinaryPrimitives.WriteUInt16LittleEndian(result.AsSpan(8), (ushort)header.Length);
        Encoding.Latin1.GetBytes(header, result.AsSpan(preamble));
        return result;
    }

    /// <summary>A string tensor's .npy data: fixed-width UTF-32, as numpy's '&lt;U' dtype.</summary>
    public static byte[] StringPayload(TensorData t)
    {
        int width = int.Parse(DescrOf(t).AsSpan(2), CultureInfo.InvariantCulture);
        var result = new byte[checked(width * 4 * t.Strings.Length)];
        for (int i = 0; i < t.Strings.Length; i++)
            Encoding.UTF32.GetBytes(t.Strings[i] ?? "", result.AsSpan(i * width * 4, width * 4));
        return result;
    }

    /// <summary>Reads a .npy file: mapped, so a little-endian C-order array is a window of the file (no copy).</summary>
    public static TensorData ReadFile(string path, long maxBytes = long.MaxValue)
    {
        var file = MappedFile.Open(path, ".npy file");
        return Read(file, 0, file.Length, path, maxBytes);
    }

    private static string Fmt(long[] shape) => "(" + string.Join(", ", shape) + (shape.Length == 1 ? ",)" : ")");
}
