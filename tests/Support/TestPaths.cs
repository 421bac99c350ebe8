using System.Runtime.CompilerServices;

namespace PolyNet.Tests;

/// <summary>Where the repository, its fixtures and the ONNX backend test data are.</summary>
public static class TestPaths
{
    public static string RepoRoot { get; } = FindRoot();
    public static string Fixtures => Path.Combine(RepoRoot, "fixtures");
    public static string Model(string name) => Path.Combine(Fixtures, "models", name);
    public const string BackendData = "/usr/share/libonnx-testdata/data";

    private static string FindRoot([CallerFilePath] string file = "")
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "PolyNet.sln"))) return d.FullName;
        return Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, "..", ".."));
    }
}

/// <summary>A fresh folder under the system temp folder, deleted on Dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "polynet-tests-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }
    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
