using System.Buffers;

namespace PolyNet.Compare.Kernels;

/// <summary>
/// A growable list of floats whose storage comes from <see cref="ArrayPool{T}.Shared"/> and goes back on Dispose, so
/// repeated comparisons reuse memory instead of having the OS zero fresh pages each time.
/// Ownership: the buffer owns its array until Dispose; spans from <see cref="Span"/> are valid until then.
/// </summary>
internal sealed class FloatBuffer : IDisposable
{
    private float[] _items;

    public FloatBuffer(int capacity) => _items = ArrayPool<float>.Shared.Rent(Math.Max(16, capacity));

    public int Count { get; private set; }

    public Span<float> Span => _items.AsSpan(0, Count);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void Add(float v)
    {
        if (Count == _items.Length) Grow();
        _items[Count++] = v;
    }

    public void AddRange(ReadOnlySpan<float> values)
    {
        while (Count + values.Length > _items.Length) Grow();
        values.CopyTo(_items.AsSpan(Count));
        Count += values.Length;
    }

    private void Grow()
    {
        var bigger = ArrayPool<float>.Shared.Rent(_items.Length * 2);
        _items.AsSpan(0, Count).CopyTo(bigger);
        ArrayPool<float>.Shared.Return(_items);
        _items = bigger;
    }

    public void Dispose()
    {
        if (_items.Length == 0) return;
        ArrayPool<float>.Shared.Return(_items);
        _items = [];
        Count = 0;
    }
}
