namespace PolyNet.Onnx;

/// <summary>Writes a file through a temporary in the same folder, renamed into place: readers see the old file or the new one, never half of one.</summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="path"/> through <paramref name="write"/>: a missing folder or a denied permission is an
    /// <see cref="InvalidInputException"/> naming the file; on any failure the temporary is deleted and the old file
    /// (if any) is left as it was.
    /// </summary>
    public static void Write(string path, Action<Stream> write, int bufferSize = 1 << 16)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) throw InvalidInputException.ForFile(path, $"folder {dir} does not exist");
        var temp = full + $".tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize))
                write(fs);
            File.Move(temp, full, overwrite: true);
        }
        catch (UnauthorizedAccessException)
        {
            throw InvalidInputException.ForFile(path, "permission denied");
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    public static void Write(string path, byte[] bytes) => Write(path, s => s.Write(bytes));

    /// <summary>
    /// Refuses, before any work, outputs that <see cref="Write"/> would refuse after it: a folder that does not exist,
    /// or a file that is one of <paramref name="inputs"/> (a report must never replace what it reads).
    /// </summary>
    public static void CheckTargets(IEnumerable<string?> outputs, IEnumerable<string?> inputs)
    {
        var cmp = OperatingSystem.IsLinux() ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase;
        var read = inputs.OfType<string>().Select(Path.GetFullPath).ToHashSet(cmp);
        foreach (var output in outputs.OfType<string>())
        {
            var full = Path.GetFullPath(output);
            if (read.Contains(full)) throw InvalidInputException.ForFile(output, "would overwrite an input; write it elsewhere");
            if (Path.GetDirectoryName(full) is { } dir && !Directory.Exists(dir)) throw InvalidInputException.ForFile(output, $"folder {dir} does not exist");
        }
    }
}
