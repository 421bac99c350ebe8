namespace PolyNet.Onnx;

/// <summary>
/// Writes a file through a temporary in the same folder, renamed into place: readers see the old file or the new one,
/// never half of one. Only regular files are replaced that way: "-" (standard output), a pipe, a terminal or a device
/// (as /dev/stdout, /dev/full or a FIFO) is written through, and a symbolic link keeps pointing where it did (its
/// final target is what is replaced).
/// </summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="path"/> through <paramref name="write"/>: a missing folder or a denied permission is an
    /// <see cref="InvalidInputException"/> naming the file; on any failure the temporary is deleted and the old file
    /// (if any) is left as it was. Temporaries of earlier processes that were killed are removed first.
    /// </summary>
    public static void Write(string path, Action<Stream> write, int bufferSize = 1 << 16)
    {
        var full = Path.GetFullPath(path == "-" ? "/dev/stdout" : path);
        if (File.Exists(full) && new FileInfo(full).LinkTarget is not null)
        {
            // A link: replace its final target, or write through when that is no file at all (/proc/self/fd/1 -> pipe:[N]).
            var target = File.ResolveLinkTarget(full, returnFinalTarget: true);
            if (target is null || !File.Exists(target.FullName) || !FileKind.IsRegular(target.FullName))
            {
                WriteThrough(path, full, write, bufferSize);
                return;
            }
            full = target.FullName;
        }
        else if (File.Exists(full) && !FileKind.IsRegular(full))
        {
            WriteThrough(path, full, write, bufferSize);
            return;
        }
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) throw InvalidInputException.ForFile(path, $"folder {dir} does not exist");
        RemoveStaleTemporaries(full);
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

    /// <summary>Writes into what is there (a pipe, a terminal, a device): nothing to replace, nothing to rename.</summary>
    private static void WriteThrough(string path, string full, Action<Stream> write, int bufferSize)
    {
        try
        {
            using var fs = new FileStream(full, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize);
            write(fs);
        }
        catch (UnauthorizedAccessException)
        {
            throw InvalidInputException.ForFile(path, "permission denied");
        }
        catch (IOException e)
        {
            throw InvalidInputException.ForFile(path, $"cannot write: {e.Message}", e);
        }
    }

    /// <summary>Deletes FILE.tmp-PID-* left by processes that no longer run (killed before they could clean up).</summary>
    private static void RemoveStaleTemporaries(string full)
    {
        var dir = Path.GetDirectoryName(full)!;
        var prefix = Path.GetFileName(full) + ".tmp-";
        try
        {
            foreach (var f in Directory.EnumerateFiles(dir, prefix + "*"))
            {
                var rest = Path.GetFileName(f)[prefix.Length..];
                int dash = rest.IndexOf('-');
                if (dash <= 0 || !int.TryParse(rest.AsSpan(0, dash), out var pid) || pid == Environment.ProcessId || IsRunning(pid)) continue;
                File.Delete(f);
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static bool IsRunning(int pid)
    {
        if (OperatingSystem.IsLinux()) return Directory.Exists($"/proc/{pid}");
        try { using var p = System.Diagnostics.Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    public static void Write(string path, byte[] bytes) => Write(path, s => s.Write(bytes));

    /// <summary>
    /// Refuses, before any work, outputs that <see cref="Write"/> would refuse after it: a folder that does not exist,
    /// or a file that is one of <paramref name="inputs"/> (a report must never replace what it reads), compared where
    /// the paths really lead (a symbolic link to an input is that input). "-" (standard output) is never an input. With
    /// <paramref name="foldersMayBeMade"/>, the writer creates missing folders itself.
    /// </summary>
    public static void CheckTargets(IEnumerable<string?> outputs, IEnumerable<string?> inputs, bool foldersMayBeMade = false)
    {
        var cmp = OperatingSystem.IsLinux() ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase;
        var read = inputs.OfType<string>().Where(p => p != "-").Select(p => ContainedPaths.RealPath(p, p)).ToHashSet(cmp);
        foreach (var output in outputs.OfType<string>().Where(p => p != "-"))
        {
            var full = Path.GetFullPath(output);
            if (read.Contains(ContainedPaths.RealPath(full, output))) throw InvalidInputException.ForFile(output, "would overwrite an input; write it elsewhere");
            if (!foldersMayBeMade && Path.GetDirectoryName(full) is { } dir && !Directory.Exists(dir)) throw InvalidInputException.ForFile(output, $"folder {dir} does not exist");
        }
    }
}
