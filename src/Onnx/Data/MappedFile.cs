using System.Buffers;
using System.IO.MemoryMappedFiles;

namespace PolyNet.Onnx.Data;

/// <summary>
/// The bytes of one data file, for readers that hand tensors out without copying: a regular file of at least
/// <see cref="MinMappedBytes"/> is memory-mapped copy-on-write (a tensor's data is then a window of the page cache;
/// writing to it changes only this process's private copy of the touched pages, never the file), anything smaller,
/// or anything that cannot be mapped (a pipe, a device), is read into one array.
/// Lifetime: every window holds this object and this object holds the mapping, so the pages stay mapped while any
/// tensor made from them is reachable; once none is, the view's own finalizer unmaps them. A Span taken from a
/// window is valid while its tensor is kept alive, as for any memory owned by a MemoryManager.
/// Replacing the file is safe (PolyNet's writers rename a new file into place; the mapping keeps the old one);
/// truncating it in place while it is mapped is not, as with numpy's mmap_mode.
/// </summary>
public sealed unsafe class MappedFile
{
    /// <summary>Files smaller than this are read into an array: mapping costs more than it saves.</summary>
    public const long MinMappedBytes = 1 << 20;

    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte* _pointer;
    private readonly byte[]? _array;

    private MappedFile(string path, MemoryMappedViewAccessor view, long length)
    {
        Path = path;
        Length = length;
        _view = view;
        _pointer = (byte*)view.SafeMemoryMappedViewHandle.DangerousGetHandle() + view.PointerOffset;
    }

    private MappedFile(string path, byte[] array)
    {
        Path = path;
        Length = array.Length;
        _array = array;
    }

    public string Path { get; }
    public long Length { get; }

    /// <summary>Opens <paramref name="path"/>; a missing or unreadable file is bad input naming it.</summary>
    public static MappedFile Open(string path, string what = "file")
    {
        if (Directory.Exists(path)) throw InvalidInputException.ForFile(path, $"is a folder, not a {what}");
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "no such file");
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None);
            long length = fs.CanSeek ? fs.Length : -1;
            if (length >= MinMappedBytes)
            {
                try
                {
                    using var map = MemoryMappedFile.CreateFromFile(fs, null, 0, MemoryMappedFileAccess.CopyOnWrite, HandleInheritability.None, leaveOpen: true);
                    // The view outlives the map object and the file handle: the pages stay mapped until the view is released.
                    return new MappedFile(path, map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.CopyOnWrite), length);
                }
                catch (IOException) { fs.Position = 0; }
                catch (UnauthorizedAccessException) { fs.Position = 0; }
            }
            return new MappedFile(path, ReadAll(fs, length));
        }
        catch (IOException e)
        {
            throw InvalidInputException.ForFile(path, $"cannot read: {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw InvalidInputException.ForFile(path, "permission denied", e);
        }
    }

    private static byte[] ReadAll(FileStream fs, long length)
    {
        if (length >= 0)
        {
            if (length > Array.MaxLength) throw new IOException($"{length} bytes cannot be read into memory here");
            var bytes = GC.AllocateUninitializedArray<byte>((int)length);
            fs.ReadExactly(bytes);
            return bytes;
        }
        using var ms = new MemoryStream();
        fs.CopyTo(ms);
        return ms.ToArray();
    }

    /// <summary>True when [offset, offset + length) lies inside the file (no overflow for any arguments).</summary>
    public bool Holds(long offset, long length) => offset >= 0 && length >= 0 && offset <= Length && length <= Length - offset;

    /// <summary>The bytes at [offset, offset + length): valid while this object is reachable.</summary>
    public ReadOnlySpan<byte> Span(long offset, int length)
    {
        Check(offset, length);
        return _array is not null ? _array.AsSpan((int)offset, length) : new ReadOnlySpan<byte>(_pointer + offset, length);
    }

    /// <summary>The bytes at [offset, offset + length) as memory a tensor can own: no copy.</summary>
    public Memory<byte> Window(long offset, int length)
    {
        Check(offset, length);
        return _array is not null ? _array.AsMemory((int)offset, length) : new WindowMemory(this, _pointer + offset, length).Memory;
    }

    /// <summary>A read-only stream over [offset, offset + length) (for compressed members and fallbacks).</summary>
    public Stream Stream(long offset, long length)
    {
        Check(offset, length);
        return _array is not null
            ? new MemoryStream(_array, (int)offset, (int)length, writable: false)
            : new WindowStream(this, _pointer + offset, length);
    }

    private void Check(long offset, long length)
    {
        if (!Holds(offset, length))
            throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, +{length}) is outside {Path} ({Length} bytes)");
    }

    /// <summary>A window of the mapping; holds the file (and so the mapping) alive.</summary>
    private sealed class WindowMemory(MappedFile owner, byte* pointer, int length) : MemoryManager<byte>
    {
        public MappedFile Owner { get; } = owner;
        public override Span<byte> GetSpan() => new(pointer, length);
        // The handle holds this window (and so the mapping) until it is disposed: a pin outlives its tensor safely.
        public override MemoryHandle Pin(int elementIndex = 0) => new(pointer + elementIndex, default, this);
        public override void Unpin() { }
        protected override void Dispose(bool disposing) { }
    }

    /// <summary>An UnmanagedMemoryStream that keeps the file mapped while it is used.</summary>
    private sealed class WindowStream(MappedFile owner, byte* pointer, long length) : UnmanagedMemoryStream(pointer, length)
    {
        public MappedFile Owner { get; } = owner;
    }
}
