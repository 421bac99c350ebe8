using System.Buffers.Binary;
using System.Text;

namespace PolyNet.Onnx.Data;

/// <summary>One member of a ZIP archive, as its central directory describes it; <see cref="DataOffset"/> is where its
/// (stored or compressed) bytes start.</summary>
public sealed record ZipMember(string Name, int Method, uint Crc32, long CompressedSize, long UncompressedSize, long DataOffset);

/// <summary>
/// The central directory of a ZIP archive (PKWARE APPNOTE 6.3: end of central directory, ZIP64 records and extra
/// fields), read from a mapped file so that a stored member can be handed out as a window of it. Every offset and
/// size is checked against the file before it is used; encrypted members and multi-disk archives are refused.
/// </summary>
public static class ZipDirectory
{
    private const uint EndSignature = 0x06054b50, End64Signature = 0x06064b50, Locator64Signature = 0x07064b50;
    private const uint CentralSignature = 0x02014b50, LocalSignature = 0x04034b50;

    /// <summary>Stored (no compression) and deflated: what np.savez and np.savez_compressed write.</summary>
    public const int Stored = 0, Deflated = 8;

    public static IReadOnlyList<ZipMember> Read(MappedFile file, string what)
    {
        var path = file.Path;
        InvalidInputException Bad(string why) => InvalidInputException.ForFile(path, $"not {what} ({why})");
        long len = file.Length;
        if (len < 22) throw Bad("too short for a ZIP archive");
        // The end record is within the last 22 + 65,535 bytes (its comment is at most that long).
        long tail = Math.Min(len, 22 + 0xFFFF);
        var end = file.Span(len - tail, (int)tail);
        int at = -1;
        for (int i = end.Length - 22; i >= 0; i--)
            if (BinaryPrimitives.ReadUInt32LittleEndian(end[i..]) == EndSignature && i + 22 + BinaryPrimitives.ReadUInt16LittleEndian(end[(i + 20)..]) == end.Length)
            {
                at = i;
                break;
            }
        if (at < 0) throw Bad("no ZIP end-of-central-directory record");
        var e = end[at..];
        long endOffset = len - tail + at;
        if (BinaryPrimitives.ReadUInt16LittleEndian(e[4..]) != 0 || BinaryPrimitives.ReadUInt16LittleEndian(e[6..]) != 0)
            throw Bad("a multi-disk ZIP archive");
        long count = BinaryPrimitives.ReadUInt16LittleEndian(e[10..]);
        long cdSize = BinaryPrimitives.ReadUInt32LittleEndian(e[12..]);
        long cdOffset = BinaryPrimitives.ReadUInt32LittleEndian(e[16..]);
        if (count == 0xFFFF || cdSize == 0xFFFFFFFF || cdOffset == 0xFFFFFFFF)
        {
            if (endOffset < 20 || BinaryPrimitives.ReadUInt32LittleEndian(file.Span(endOffset - 20, 20)) != Locator64Signature)
                throw Bad("a ZIP64 archive without its ZIP64 locator");
            long rec = (long)BinaryPrimitives.ReadUInt64LittleEndian(file.Span(endOffset - 20 + 8, 8));
            if (rec < 0 || !file.Holds(rec, 56) || BinaryPrimitives.ReadUInt32LittleEndian(file.Span(rec, 4)) != End64Signature)
                throw Bad("the ZIP64 end record is missing or outside the file");
            var r = file.Span(rec, 56);
            count = (long)BinaryPrimitives.ReadUInt64LittleEndian(r[32..]);
            cdSize = (long)BinaryPrimitives.ReadUInt64LittleEndian(r[40..]);
            cdOffset = (long)BinaryPrimitives.ReadUInt64LittleEndian(r[48..]);
        }
        if (!file.Holds(cdOffset, cdSize) || cdSize > int.MaxValue) throw Bad($"its central directory ({cdSize} bytes at {cdOffset}) lies outside the file");
        // Each central header takes at least 46 bytes: a count the directory cannot hold is a lie.
        if (count < 0 || count > cdSize / 46) throw Bad($"its directory claims {count} members in {cdSize} bytes");
        var cd = file.Span(cdOffset, (int)cdSize);
        var members = new List<ZipMember>((int)count);
        int p = 0;
        for (long k = 0; k < count; k++)
        {
            if (p + 46 > cd.Length || BinaryPrimitives.ReadUInt32LittleEndian(cd[p..]) != CentralSignature) throw Bad($"central directory entry {k} is damaged");
            var h = cd[p..];
            int flags = BinaryPrimitives.ReadUInt16LittleEndian(h[8..]);
            int method = BinaryPrimitives.ReadUInt16LittleEndian(h[10..]);
            uint crc = BinaryPrimitives.ReadUInt32LittleEndian(h[16..]);
            long csize = BinaryPrimitives.ReadUInt32LittleEndian(h[20..]);
            long usize = BinaryPrimitives.ReadUInt32LittleEndian(h[24..]);
            int nameLen = BinaryPrimitives.ReadUInt16LittleEndian(h[28..]);
            int extraLen = BinaryPrimitives.ReadUInt16LittleEndian(h[30..]);
            int commentLen = BinaryPrimitives.ReadUInt16LittleEndian(h[32..]);
            long local = BinaryPrimitives.ReadUInt32LittleEndian(h[42..]);
            int size = 46 + nameLen + extraLen + commentLen;
            if (p + size > cd.Length) throw Bad($"central directory entry {k} runs past the directory");
            string name = (flags & 0x800) != 0 ? Encoding.UTF8.GetString(h.Slice(46, nameLen)) : Encoding.Latin1.GetString(h.Slice(46, nameLen));
            ReadZip64(h.Slice(46 + nameLen, extraLen), ref usize, ref csize, ref local);
            if ((flags & 1) != 0) throw InvalidInputException.ForFile($"{path}[{name}]", "is encrypted, which numpy never writes");
            if (!file.Holds(local, 30) || BinaryPrimitives.ReadUInt32LittleEndian(file.Span(local, 4)) != LocalSignature)
                throw InvalidInputException.ForFile($"{path}[{name}]", "its local header is missing or outside the file");
            var lh = file.Span(local, 30);
            long data = local + 30 + BinaryPrimitives.ReadUInt16LittleEndian(lh[26..]) + BinaryPrimitives.ReadUInt16LittleEndian(lh[28..]);
            if (csize < 0 || usize < 0 || !file.Holds(data, csize))
                throw InvalidInputException.ForFile($"{path}[{name}]", $"its {csize} bytes of data run past the end of the archive");
            if (method == Stored && csize != usize)
                throw InvalidInputException.ForFile($"{path}[{name}]", $"stored member declares {usize} bytes but holds {csize}");
            members.Add(new ZipMember(name, method, crc, csize, usize, data));
            p += size;
        }
        return members;
    }

    /// <summary>The ZIP64 extended information extra field (0x0001): 8-byte values for the fields that are all ones.</summary>
    private static void ReadZip64(ReadOnlySpan<byte> extra, ref long usize, ref long csize, ref long local)
    {
        while (extra.Length >= 4)
        {
            int id = BinaryPrimitives.ReadUInt16LittleEndian(extra);
            int n = BinaryPrimitives.ReadUInt16LittleEndian(extra[2..]);
            if (n > extra.Length - 4) return;
            if (id == 1)
            {
                var f = extra.Slice(4, n);
                if (usize == 0xFFFFFFFF && f.Length >= 8) { usize = (long)BinaryPrimitives.ReadUInt64LittleEndian(f); f = f[8..]; }
                if (csize == 0xFFFFFFFF && f.Length >= 8) { csize = (long)BinaryPrimitives.ReadUInt64LittleEndian(f); f = f[8..]; }
                if (local == 0xFFFFFFFF && f.Length >= 8) local = (long)BinaryPrimitives.ReadUInt64LittleEndian(f);
                return;
            }
            extra = extra[(4 + n)..];
        }
    }

    /// <summary>
    /// Writes a ZIP archive of stored members, each member's data starting at a multiple of <paramref name="align"/>
    /// in the file (padding in the local header's extra field, as zipalign does), so a reader that maps the file hands
    /// out aligned arrays. The CRC of each member is computed before it is written: one pass over the data to hash,
    /// one to write. ZIP64 records are added where offsets or counts need them.
    /// </summary>
    /// <param name="members">Each member's name, the bytes before its payload (a .npy header) and its payload.</param>
    public static void WriteStored(Stream s, IEnumerable<(string Name, byte[] Head, Memory<byte> Payload, int PayloadAlign)> members)
    {
        var central = new MemoryStream();
        long offset = 0;
        long count = 0;
        Span<byte> b = stackalloc byte[64];
        foreach (var (name, head, payload, payloadAlign) in members)
        {
            var nameBytes = Encoding.UTF8.GetBytes(name);
            var crc = new System.IO.Hashing.Crc32();
            crc.Append(head);
            crc.Append(payload.Span);
            uint c = crc.GetCurrentHashAsUInt32();
            long size = head.Length + (long)payload.Length;
            // Padding so that the payload (after the head) starts aligned: an extra field 0xD935 of pad bytes.
            long before = offset + 30 + nameBytes.Length + head.Length;
            int pad = (int)((payloadAlign - (before + 4) % payloadAlign) % payloadAlign);
            int extraLen = payloadAlign > 1 ? 4 + pad : 0;
            BinaryPrimitives.WriteUInt32LittleEndian(b, LocalSignature);
            BinaryPrimitives.WriteUInt16LittleEndian(b[4..], 20);
            BinaryPrimitives.WriteUInt16LittleEndian(b[6..], 0x800);
            BinaryPrimitives.WriteUInt16LittleEndian(b[8..], Stored);
            BinaryPrimitives.WriteUInt16LittleEndian(b[10..], 0);
            BinaryPrimitives.WriteUInt16LittleEndian(b[12..], 0x21); // 1980-01-01: identical data gives identical files
            BinaryPrimitives.WriteUInt32LittleEndian(b[14..], c);
            BinaryPrimitives.WriteUInt32LittleEndian(b[18..], (uint)size);
            BinaryPrimitives.WriteUInt32LittleEndian(b[22..], (uint)size);
            BinaryPrimitives.WriteUInt16LittleEndian(b[26..], (ushort)nameBytes.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(b[28..], (ushort)extraLen);
            s.Write(b[..30]);
            s.Write(nameBytes);
            if (extraLen > 0)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(b, 0xD935);
                BinaryPrimitives.WriteUInt16LittleEndian(b[2..], (ushort)pad);
                s.Write(b[..4]);
                s.Write(new byte[pad]);
            }
            s.Write(head);
            s.Write(payload.Span);

            bool big = offset >= 0xFFFFFFFF;
            BinaryPrimitives.WriteUInt32LittleEndian(b, CentralSignature);
            BinaryPrimitives.WriteUInt16LittleEndian(b[4..], 3 << 8 | 45); // made by: Unix (so the attributes below mean a file)
            BinaryPrimitives.WriteUInt16LittleEndian(b[6..], (ushort)(big ? 45 : 20));
            BinaryPrimitives.WriteUInt16LittleEndian(b[8..], 0x800);
            BinaryPrimitives.WriteUInt16LittleEndian(b[10..], Stored);
            BinaryPrimitives.WriteUInt16LittleEndian(b[12..], 0);
            BinaryPrimitives.WriteUInt16LittleEndian(b[14..], 0x21);
            BinaryPrimitives.WriteUInt32LittleEndian(b[16..], c);
            BinaryPrimitives.WriteUInt32LittleEndian(b[20..], (uint)size);
            BinaryPrimitives.WriteUInt32LittleEndian(b[24..], (uint)size);
            BinaryPrimitives.WriteUInt16LittleEndian(b[28..], (ushort)nameBytes.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(b[30..], (ushort)(big ? 12 : 0));
            BinaryPrimitives.WriteUInt16LittleEndian(b[32..], 0);
            BinaryPrimitives.WriteUInt16LittleEndian(b[34..], 0);
            BinaryPrimitives.WriteUInt16LittleEndian(b[36..], 0);
            BinaryPrimitives.WriteUInt32LittleEndian(b[38..], 0x81A40000); // a regular file, rw-r--r--
            BinaryPrimitives.WriteUInt32LittleEndian(b[42..], big ? 0xFFFFFFFF : (uint)offset);
            central.Write(b[..46]);
            central.Write(nameBytes);
            if (big)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(b, 1);
                BinaryPrimitives.WriteUInt16LittleEndian(b[2..], 8);
                BinaryPrimitives.WriteUInt64LittleEndian(b[4..], (ulong)offset);
                central.Write(b[..12]);
            }
            offset += 30 + nameBytes.Length + extraLen + size;
            count++;
        }
        long cdOffset = offset, cdSize = central.Length;
        central.Position = 0;
        central.CopyTo(s);
        bool zip64 = count >= 0xFFFF || cdOffset >= 0xFFFFFFFF || cdSize >= 0xFFFFFFFF;
        if (zip64)
        {
            long rec = cdOffset + cdSize;
            BinaryPrimitives.WriteUInt32LittleEndian(b, End64Signature);
            BinaryPrimitives.WriteUInt64LittleEndian(b[4..], 44);
            BinaryPrimitives.WriteUInt16LittleEndian(b[12..], 45);
            BinaryPrimitives.WriteUInt16LittleEndian(b[14..], 45);
            BinaryPrimitives.WriteUInt32LittleEndian(b[16..], 0);
            BinaryPrimitives.WriteUInt32LittleEndian(b[20..], 0);
            BinaryPrimitives.WriteUInt64LittleEndian(b[24..], (ulong)count);
            BinaryPrimitives.WriteUInt64LittleEndian(b[32..], (ulong)count);
            BinaryPrimitives.WriteUInt64LittleEndian(b[40..], (ulong)cdSize);
            BinaryPrimitives.WriteUInt64LittleEndian(b[48..], (ulong)cdOffset);
            s.Write(b[..56]);
            BinaryPrimitives.WriteUInt32LittleEndian(b, Locator64Signature);
            BinaryPrimitives.WriteUInt32LittleEndian(b[4..], 0);
            BinaryPrimitives.WriteUInt64LittleEndian(b[8..], (ulong)rec);
            BinaryPrimitives.WriteUInt32LittleEndian(b[16..], 1);
            s.Write(b[..20]);
        }
        BinaryPrimitives.WriteUInt32LittleEndian(b, EndSignature);
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], 0);
        BinaryPrimitives.WriteUInt16LittleEndian(b[8..], (ushort)Math.Min(count, 0xFFFF));
        BinaryPrimitives.WriteUInt16LittleEndian(b[10..], (ushort)Math.Min(count, 0xFFFF));
        BinaryPrimitives.WriteUInt32LittleEndian(b[12..], zip64 ? 0xFFFFFFFF : (uint)cdSize);
        BinaryPrimitives.WriteUInt32LittleEndian(b[16..], zip64 ? 0xFFFFFFFF : (uint)cdOffset);
        BinaryPrimitives.WriteUInt16LittleEndian(b[20..], 0);
        s.Write(b[..22]);
    }
}
