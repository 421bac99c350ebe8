using System.Runtime.InteropServices;

namespace PolyNet.Runners.Ort;

/// <summary>
/// The facts about the machine that the GPU runners check before asking ONNX Runtime for a provider, so they can
/// say in one line what is missing. An interface so that tests can describe machines this one is not.
/// </summary>
public interface ISystemProbe
{
    bool FileExists(string path);
    /// <summary>True when the dynamic loader can load <paramref name="name"/> (as dlopen would find it).</summary>
    bool CanLoadLibrary(string name);
    string? Environment(string name);
}

public sealed class SystemProbe : ISystemProbe
{
    public static readonly SystemProbe Default = new();

    public bool FileExists(string path) => File.Exists(path);

    public bool CanLoadLibrary(string name)
    {
        if (!NativeLibrary.TryLoad(name, out var h)) return false;
        NativeLibrary.Free(h);
        return true;
    }

    public string? Environment(string name) => System.Environment.GetEnvironmentVariable(name);
}

/// <summary>Checks shared by the CUDA and TensorRT runners.</summary>
public static class GpuChecks
{
    /// <summary>Null when an NVIDIA driver is present, else the line that says it is not.</summary>
    public static string? NoNvidiaDriver(ISystemProbe probe)
        => probe.FileExists("/proc/driver/nvidia/version") || probe.FileExists("/dev/nvidiactl") || probe.CanLoadLibrary("libcuda.so.1")
            ? null
            : "no NVIDIA GPU or driver on this machine (no /proc/driver/nvidia/version, no /dev/nvidiactl, no libcuda.so.1)";

    /// <summary>
    /// Rewrites ORT's dlopen failures ("libcublasLt.so.13: cannot open shared object file") as "X is missing".
    /// </summary>
    public static string ExplainLoadFailure(string ortMessage)
    {
        var m = System.Text.RegularExpressions.Regex.Match(ortMessage, @"(lib[\w\-+.]+\.so[.\d]*): cannot open shared object file");
        return m.Success
            ? $"{m.Groups[1].Value} is missing (not on the library path: add its folder to LD_LIBRARY_PATH)"
            : Native.OrtException.OneLine(ortMessage);
    }
}
