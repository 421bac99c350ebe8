using System.Runtime.InteropServices;

namespace PolyNet.Onnx;

/// <summary>
/// Whether a path is a regular file (as opposed to a device, a pipe or a socket), which .NET's file APIs do not tell.
/// Linux: statx(2), whose buffer layout is the same on every architecture (stx_mode, 16 bits at byte 28). Elsewhere,
/// or when the call fails, every existing file counts as regular.
/// </summary>
internal static unsafe partial class FileKind
{
    private const int AtFdCwd = -100, StatxType = 1;

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);

    public static bool IsRegular(string path)
    {
        if (!OperatingSystem.IsLinux()) return true;
        byte* buffer = stackalloc byte[256];
        try
        {
            if (Statx(AtFdCwd, path, 0, StatxType, buffer) != 0) return true;
        }
        catch (EntryPointNotFoundException) { return true; }
        catch (DllNotFoundException) { return true; }
        ushort mode = *(ushort*)(buffer + 28);
        return (mode & 0xF000) == 0x8000;
    }
}
