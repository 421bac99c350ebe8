using System.Runtime.InteropServices;

namespace PolyNet.Runners.Native;

/// <summary>The C heap under ONNX Runtime.</summary>
public static partial class NativeHeap
{
    /// <summary>
    /// Returns the C heap's free memory to the system (glibc keeps blocks freed in its per-thread arenas mapped until
    /// malloc_trim gives them back; ONNX Runtime's buffers live there). Elsewhere, or with another C library, nothing.
    /// </summary>
    public static void Trim()
    {
        if (!OperatingSystem.IsLinux()) return;
        try { _ = MallocTrim(0); }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException) { } // not glibc (musl): nothing to trim
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
