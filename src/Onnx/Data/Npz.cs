using System.IO.Compression;

namespace PolyNet.Onnx.Data;

/// <summary>
/// numpy's .npz archives (np.savez, np.savez_compressed): a ZIP of NAME.npy members.
/// Reading streams each member straight into its tensor (no second copy) and never trusts sizes: a member is
/// read only up to what its .npy header declares, and headers declaring more than the archive could hold are refused.
/// Writing is atomic (temporary file renamed into place) and uncompressed, like np.savez.
/// </summary>
public static class Npz
{
    /// <summary>The largest array one member may declare (bytes); beyond it, the archive is refused before anything is allocated.
    /// A member is also never read past the uncompressed size its ZIP entry declares.</summary>
    public static long MaxArrayBytes { get; set; } = Array.MaxLength;

    /// <summary>The time stamp written for every member (ZIP cannot express earlier than 1980).</summary>
    private static readonly DateTimeOffset FixedTime = new(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static ValueMap Read(string path)
    {
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, Directory.Exists(path) ? "is a folder, not an .npz file" : "no such file");
        ZipArchive zip;
        var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            zip = new ZipArchive(fs, ZipArchiveMode.Read, leaveOpen: false);
        }
        catch (InvalidDataException e)
        {
            fs.Dispose();
            throw InvalidInputException.ForFile(path, $"not an .npz file (not a readable ZIP archive: {e.Message})");
        }
        using (zip)
        {
            var result = new ValueMap();
            foreach (var entry in zip.Entries)
            {
                if (entry.FullName.EndsWith('/')) continue;
                var name = entry.FullName.EndsWith(".npy", StringComparison.Ordinal) ? entry.FullName[..^4] : entry.FullName;
                var source = $"{path}[{entry.FullName}]";
                try
                {
                    using var s = entry.Open();
                    long limit = Math.Min(MaxArrayBytes, entry.Length);
                    var t = Npy.Read(s, source, limit);
                    if (result.ContainsKey(name)) throw InvalidInputException.ForFile(path, $"array '{name}' appears twice");
                    result.Add(name, t);
                }
                catch (InvalidDataException e)
                {
                    throw InvalidInputException.ForFile(source, $"corrupt archive member ({e.Message})");
                }
            }
            return result;
        }
    }

    /// <summary>Writes every tensor of <paramref name="values"/> (sequences as NAME[i], empty optionals skipped).</summary>
    public static void Write(string path, ValueMap values) => AtomicFile.Write(path, fs =>
    {
        using var zip = new ZipArchive(fs, ZipArchiveMode.Create, leaveOpen: true);
        foreach (var (name, t) in Flatten(values))
        {
            var entry = zip.CreateEntry(name + ".npy", CompressionLevel.NoCompression);
            entry.LastWriteTime = FixedTime; // identical data gives identical files
            using var s = entry.Open();
            Npy.Write(s, t.ElementType == ElementType.BFloat16 ? ToFloat32(t) : t);
        }
    }, bufferSize: 1 << 20);

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
