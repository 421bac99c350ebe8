using System.Buffers;
using System.IO.MemoryMappedFiles;

namespace PolyNet.Onnx;

/// <summary>
/// A read-only window of a memory-mapped file, usable as <see cref="Memory{T}"/> (so protobuf's ByteString can wrap
/// it without copying). Lifetime: this object holds the view, and every ByteString made from it holds this object,
/// so the mapping stays valid while any of them is reachable; once none is, the view's own SafeHandle finalizer
/// unmaps it. A Span taken from it is valid only while its ByteString (or this object) is kept alive, as for any
/// memory owned by a MemoryManager. Never write through it: the pages are mapped read-only and a write would fault.
/// </summary>
internal sealed unsafe class MappedMemory : MemoryManager<byte>
{
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _pointer;
    private readonly int _length;

    private MappedMemory(MemoryMappedViewAccessor view, int length)
    {
        _view = view;
        _length = length;
        // No AcquirePointer: that would pin the view forever. The view lives exactly as long as this object.
        _pointer = (byte*)view.SafeMemoryMappedViewHandle.DangerousGetHandle() + view.PointerOffset;
    }

    /// <summary>Maps <paramref name="length"/> bytes at <paramref name="offset"/> of <paramref name="file"/>.</summary>
    public static MappedMemory Map(MemoryMappedFile file, long offset, int length)
        => new(file.CreateViewAccessor(offset, length, MemoryMappedFileAccess.Read), length);

    public override Span<byte> GetSpan() => new(_pointer, _length);

    public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + elementIndex);

    public override void Unpin() { }

    /// <summary>Unmaps now. Only for an owner that knows no ByteString over this memory is used any more.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing) _view.Dispose();
    }
}
