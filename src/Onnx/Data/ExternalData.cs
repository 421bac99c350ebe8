using PolyNet.Onnx.Proto;

namespace PolyNet.Onnx;

/// <summary>Where a tensor's bytes live when the model stores them outside the .onnx file.</summary>
/// <param name="Location">Path relative to the model's folder, as written in the model.</param>
/// <param name="Offset">Byte offset of the data in that file.</param>
/// <param name="Length">Byte count, or null for "to the end of the file".</param>
public sealed record ExternalDataInfo(string Location, long Offset, long? Length);

/// <summary>
/// Reads and checks external data references. Security rule: a location must name a file inside the
/// model's folder (after resolving "..", and symbolic links of the file itself); absolute paths and
/// escapes are refused, because a model is untrusted input and must not make PolyNet read arbitrary files.
/// </summary>
public static class ExternalData
{
    public static bool IsExternal(TensorProto t) => t.HasDataLocation && t.DataLocation == TensorProto.Types.DataLocation.External;

    /// <summary>Parses the external_data entries of <paramref name="t"/>; <paramref name="modelFile"/> names the file in errors.</summary>
    public static ExternalDataInfo Parse(TensorProto t, string modelFile)
    {
        string? location = null;
        long offset = 0;
        long? length = null;
        foreach (var kv in t.ExternalData)
        {
            switch (kv.Key)
            {
                case "location": location = kv.Value; break;
                case "offset":
                    if (!long.TryParse(kv.Value, out offset) || offset < 0)
                        throw InvalidInputException.ForFile(modelFile, $"tensor '{t.Name}' has a bad external data offset '{kv.Value}'");
                    break;
                case "length":
                    if (!long.TryParse(kv.Value, out var len) || len < 0)
                        throw InvalidInputException.ForFile(modelFile, $"tensor '{t.Name}' has a bad external data length '{kv.Value}'");
                    length = len;
                    break;
            }
        }
        if (string.IsNullOrEmpty(location))
            throw InvalidInputException.ForFile(modelFile, $"tensor '{t.Name}' is marked external but names no location");
        return new ExternalDataInfo(location, offset, length);
    }

    /// <summary>
    /// The full path of <paramref name="info"/>'s file under <paramref name="baseDirectory"/>, after checking
    /// that it stays inside that folder and exists.
    /// </summary>
    public static string ResolvePath(string baseDirectory, ExternalDataInfo info, string modelFile, string tensorName)
    {
        if (info.Location.Contains('\0'))
            throw InvalidInputException.ForFile(modelFile, $"tensor '{tensorName}': external data location holds a NUL character");
        var loc = info.Location.Replace('\\', '/');
        if (Path.IsPathRooted(loc) || loc.StartsWith('/'))
            throw InvalidInputException.ForFile(modelFile, $"tensor '{tensorName}': external data location '{info.Location}' is an absolute path; only files inside the model's folder are allowed");
        var root = Path.GetFullPath(baseDirectory);
        var full = Path.GetFullPath(Path.Combine(root, loc));
        if (!ContainedPaths.IsInside(root, full))
            throw InvalidInputException.ForFile(modelFile, $"tensor '{tensorName}': external data location '{info.Location}' escapes the model's folder {root}");
        if (!File.Exists(full))
            throw InvalidInputException.ForFile(modelFile, $"tensor '{tensorName}': external data file '{info.Location}' does not exist in {root}");
        // Every component is resolved, not only the file: a folder on the way may be a link out of the model's folder.
        var real = ContainedPaths.RealPath(full, modelFile);
        if (!ContainedPaths.IsInside(ContainedPaths.RealPath(root, modelFile), real))
            throw InvalidInputException.ForFile(modelFile, $"tensor '{tensorName}': external data file '{info.Location}' resolves to {real} (through a symbolic link), outside the model's folder");
        return full;
    }

    /// <summary>
    /// Checks a reference: file inside the folder, offset and length within the file, and the length equal to
    /// what the tensor's type and shape need (when it can be computed). Returns the file's full path.
    /// </summary>
    public static string Validate(TensorProto t, string baseDirectory, string modelFile)
    {
        var info = Parse(t, modelFile);
        var path = ResolvePath(baseDirectory, info, modelFile, t.Name);
        long size = new FileInfo(path).Length;
        long length = info.Length ?? size - info.Offset;
        if (info.Offset > size || length < 0 || length > size - info.Offset)
            throw InvalidInputException.ForFile(modelFile, $"tensor '{t.Name}': external data [{info.Offset}, {info.Offset + length}) lies beyond the end of '{info.Location}' ({size} bytes)");
        var type = (ElementType)t.DataType;
        if (type != ElementType.String && Enum.IsDefined(type) && type != ElementType.Undefined)
        {
            long count = 1;
            foreach (var d in t.Dims) count = checked(count * d);
            long need = type.StorageBytes(count);
            if (need != length)
                throw InvalidInputException.ForFile(modelFile, $"tensor '{t.Name}': external data holds {length} bytes but a {type.DisplayName()} tensor of shape [{string.Join(", ", t.Dims)}] needs {need}");
        }
        return path;
    }

    /// <summary>Reads the bytes of an external tensor (after <see cref="Validate"/>'s checks) into one new array.</summary>
    public static byte[] Read(TensorProto t, string baseDirectory, string modelFile)
    {
        var path = Validate(t, baseDirectory, modelFile);
        var info = Parse(t, modelFile);
        long length = info.Length ?? new FileInfo(path).Length - info.Offset;
        if (length > Array.MaxLength)
            throw InvalidInputException.ForFile(modelFile, $"tensor '{t.Name}' is {length} bytes, more than one in-memory tensor may hold");
        var buffer = GC.AllocateUninitializedArray<byte>((int)length);
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        int done = 0;
        while (done < buffer.Length)
        {
            int n = RandomAccess.Read(handle, buffer.AsSpan(done), info.Offset + done);
            if (n <= 0) throw InvalidInputException.ForFile(modelFile, $"tensor '{t.Name}': external data file '{info.Location}' ended early");
            done += n;
        }
        return buffer;
    }
}
