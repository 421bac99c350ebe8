namespace PolyNet.Onnx;

/// <summary>
/// Where a path really leads: every symbolic link on it resolved, component by component. One rule for every file a
/// model, a data folder or a suite names: a symbolic link on the way, at any depth, may not lead out of the folder
/// that names it.
/// </summary>
public static class ContainedPaths
{
    /// <summary>
    /// The path with every symbolic link on it resolved (as realpath(3) does; a link's ".." is taken from where the
    /// link points, not lexically); components that do not exist are kept as written. More than 40 links is a loop,
    /// bad input naming <paramref name="source"/>.
    /// </summary>
    public static string RealPath(string path, string source)
    {
        if (OperatingSystem.IsWindows()) return Path.GetFullPath(path);
        var pending = new Stack<string>(Path.GetFullPath(path).Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse());
        var current = "/";
        int links = 0;
        while (pending.Count > 0)
        {
            var part = pending.Pop();
            if (part == ".") continue;
            if (part == "..")
            {
                current = Path.GetDirectoryName(current) ?? "/";
                continue;
            }
            var next = Path.Combine(current, part);
            var target = File.Exists(next) || Directory.Exists(next) ? new FileInfo(next).LinkTarget : null;
            if (target is null)
            {
                current = next;
                continue;
            }
            if (++links > 40) throw InvalidInputException.ForFile(source, $"too many symbolic links resolving {path} (a loop?)");
            foreach (var p in target.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse()) pending.Push(p);
            if (target.StartsWith('/')) current = "/";
        }
        return current;
    }

    /// <summary>True when <paramref name="full"/> lies inside the folder <paramref name="root"/> (both full paths).</summary>
    public static bool IsInside(string root, string full)
    {
        var r = root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
        return full.StartsWith(r, StringComparison.Ordinal);
    }

    /// <summary>
    /// Refuses <paramref name="path"/> (named by <paramref name="source"/>, as <paramref name="what"/>) when it holds a
    /// NUL character, or when it lies inside <paramref name="root"/> as written but a symbolic link on the way leads out
    /// of it. A path written to lead outside the folder ("../models/m.onnx", an absolute path) is the author's choice
    /// and is taken as written.
    /// </summary>
    public static void CheckLinksStayInside(string root, string path, string source, string what)
    {
        if (path.Contains('\0')) throw InvalidInputException.ForFile(source, $"{what} holds a NUL character");
        var fullRoot = Path.GetFullPath(root);
        var full = Path.GetFullPath(path, fullRoot);
        if (!IsInside(fullRoot, full)) return;
        var real = RealPath(full, source);
        var realRoot = RealPath(fullRoot, source);
        if (!IsInside(realRoot, real))
            throw InvalidInputException.ForFile(source, $"{what} {Path.GetRelativePath(fullRoot, full)} resolves to {real} through a symbolic link, outside {fullRoot}");
    }
}
