using System.IO.Compression;
using System.IO.Hashing;

namespace PolyNet.Onnx.Data;

/// <summary>
/// numpy's .npz archives (np.savez, np.savez_compressed): a ZIP of NAME.npy members.
/// Reading maps the archive (<see cref="MappedFile"/>): a member stored uncompressed, as np.savez writes them, becomes
/// a window of the file with nothing copied; a compressed member is inflated straight into its tensor through a
/// bounded buffer. Every member's CRC-32 is verified (vectorized, members in parallel). Sizes are never trusted: a
/// member is read only up to what its .npy header declares, and headers declaring more than the member holds
/// (or more than <see cref="MaxArrayBytes"/>) are refused before anything is allocated.
/// Writing is atomic (temporary file renamed into place) and uncompressed, like np.savez, with each array's data at a
/// multiple of 64 bytes in the file, so reading PolyNet's own archives hands out aligned arrays.
/// </summary>
public static class Npz
{
    /// <summary>The largest array one member may declare (bytes); beyond it, the archive is refused before anything is allocated.
    /// A member is also never read past the uncompressed size its ZIP entry declares.</summary>
    public static long MaxArrayBytes { get; set; } = Array.MaxLength;


    public static ValueMap Read(string path)
    {
        var file = MappedFile.Open(path, ".npz file");
        var members = ZipDirectory.Read(file, "an .npz file");
        // Compressed members become memory; stored ones stay windows of the file. An archive whose compressed
        // members declare more than this process could hold is refused before anything is inflated.
        long inflated = members.Where(m => m.Method != ZipDirectory.Stored).Sum(m => m.UncompressedSize);
        long room = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (inflated > room)
            throw InvalidInputException.ForFile(path, $"its compressed members declare {inflated} bytes in all, more than this process may hold ({room} bytes)");
        var result = new ValueMap();
        var tensors = new TensorData[members.Count];
        var errors = new Exception?[members.Count];
        // Members are read in parallel (a stored one is a window: its checksum is the work; a compressed one inflates);
        // a bad archive is reported by its first bad member, as a sequential read would.
        Parallel.For(0, members.Count, k =>
        {
            var m = members[k];
            if (m.Name.EndsWith('/')) return;
            try { tensors[k] = ReadMember(file, m, $"{path}[{m.Name}]"); }
            catch (Exception e) { errors[k] = e; }
        });
        if (errors.FirstOrDefault(e => e is not null) is { } first)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(first).Throw();
        for (int k = 0; k < members.Count; k++)
        {
            if (tensors[k] is not { } t) continue;
            var name = members[k].Name.EndsWith(".npy", StringComparison.Ordinal) ? members[k].Name[..^4] : members[k].Name;
            if (result.ContainsKey(name)) throw InvalidInputException.ForFile(path, $"array '{name}' appears twice");
            result.Add(name, t);
        }
        return result;
    }

    private static TensorData ReadMember(MappedFile file, ZipMember m, string source)
    {
        long limit = Math.Min(MaxArrayBytes, m.UncompressedSize);
        if (m.Method == ZipDirectory.Stored)
        {
            var t = Npy.Read(file, m.DataOffset, m.CompressedSize, source, limit);
            var crc = new Crc32();
            for (long at = 0; at < m.CompressedSize; at += 1 << 30)
                crc.Append(file.Span(m.DataOffset + at, (int)Math.Min(1 << 30, m.CompressedSize - at)));
            if (crc.GetCurrentHashAsUInt32() != m.Crc32)
                throw InvalidInputException.ForFile(source, "corrupt archive member (its CRC-32 does not match the data)");
            return t;
        }
        if (m.Method != ZipDirectory.Deflated)
            throw InvalidInputException.ForFile(source, $"compressed with ZIP method {m.Method}; numpy writes only stored (0) and deflated (8) members");
        try
        {
            using var checkedStream = new CheckedStream(new DeflateStream(file.Stream(m.DataOffset, m.CompressedSize), CompressionMode.Decompress), m.UncompressedSize);
            var t = Npy.Read(checkedStream, source, limit);
            checkedStream.Drain();
            if (checkedStream.Count != m.UncompressedSize)
                throw InvalidInputException.ForFile(source, $"corrupt archive member (inflates to {checkedStream.Count} bytes, its entry declares {m.UncompressedSize})");
            if (checkedStream.Crc != m.Crc32)
                throw InvalidInputException.ForFile(source, "corrupt archive member (its CRC-32 does not match the data)");
            return t;
        }
        catch (InvalidDataException e)
        {
            throw InvalidInputException.ForFile(source, $"corrupt archive member ({e.Message})");
        }
    }

    /// <summary>A decompressing stream that hashes what passes and stops at the declared size (a decompression bound).</summary>
    private sealed class CheckedStream(Stream inner, long bound) : ReadOnlyStream
    {
        private readonly Crc32 _crc = new();
        public long Count { get; private set; }
        public uint Crc => _crc.GetCurrentHashAsUInt32();

        public override int Read(Span<byte> buffer)
        {
            // One byte past the bound is asked for, so a member that inflates to more than it declares is caught.
            long room = bound + 1 - Count;
            if (room <= 0) return 0;
            int n = inner.Read(buffer[..(int)Math.Min(buffer.Length, room)]);
            _crc.Append(buffer[..n]);
            Count += n;
            return n;
        }

        /// <summary>Reads what is left (up to one byte past the bound) so the size and checksum cover the whole member.</summary>
        public void Drain()
        {
            var sink = new byte[1 << 16];
            while (Read(sink) > 0) { }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>Writes every tensor of <paramref name="values"/> (sequences as NAME[i], empty optionals skipped).</summary>
    public static void Write(string path, ValueMap values) => AtomicFile.Write(path, fs =>
        ZipDirectory.WriteStored(fs, Flatten(values).Select(e =>
        {
            var t = e.Tensor.ElementType == ElementType.BFloat16 ? ToFloat32(e.Tensor) : e.Tensor;
            var payload = t.ElementType == ElementType.String ? Npy.StringPayload(t) : t.Memory;
            return (e.Name + ".npy", Npy.HeaderBytes(t), payload, 64);
        })), bufferSize: 1 << 16);

    /// <summary>Tensors by name; a sequence "s" becomes "s[0]", "s[1]", ...; an optional its content or nothing.</summary>
    public static IEnumerable<(string Name, TensorData Tensor)> Flatten(ValueMap values)
    {
        foreach (var (name, v) in values)
        {
            switch (v)
            {
                case TensorData t: yield return (name, t); break;
                case SequenceData s:
                    for (int i = 0; i < s.Items.Count; i++) yield return ($"{name}[{i}]", s.Items[i]);
                    break;
                case OptionalData { Value: TensorData ot }: yield return (name, ot); break;
                case OptionalData { Value: SequenceData os }:
                    for (int i = 0; i < os.Items.Count; i++) yield return ($"{name}[{i}]", os.Items[i]);
                    break;
            }
        }
    }

    /// <summary>bfloat16 has no numpy dtype: it is saved as float32, which holds every bfloat16 value exactly.</summary>
    public static TensorData ToFloat32(TensorData bf16)
    {
        var src = bf16.Span<BFloat16>();
        var dst = TensorData.Allocate(ElementType.Float, bf16.Shape);
        var d = dst.Span<float>();
        for (int i = 0; i < src.Length; i++) d[i] = src[i].ToFloat();
        return dst;
    }
}
