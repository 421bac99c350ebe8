using System.Numerics.Tensors;
using PolyNet.Onnx;

namespace PolyNet.Compare.Kernels;

/// <summary>
/// A tensor's elements as float32, handed out in chunks: float32 data is sliced (no copy); float16 and bfloat16 are
/// widened into the caller's scratch buffer chunk by chunk (exact), so no full-size copy is ever made.
/// </summary>
internal sealed class FloatSource
{
    private readonly TensorData _t;

    public FloatSource(TensorData t)
    {
        if (t.ElementType is not (ElementType.Float or ElementType.Float16 or ElementType.BFloat16))
            throw new ArgumentException($"{t.ElementType.DisplayName()} is not a float32-representable type");
        _t = t;
    }

    public long Length => _t.ElementCount;
    public bool NeedsScratch => _t.ElementType != ElementType.Float;

    public ReadOnlySpan<float> Chunk(long start, int length, float[] scratch)
    {
        switch (_t.ElementType)
        {
            case ElementType.Float:
                return _t.Span<float>().Slice((int)start, length);
            case ElementType.Float16:
                TensorPrimitives.ConvertToSingle(_t.Span<Half>().Slice((int)start, length), scratch.AsSpan(0, length));
                return scratch.AsSpan(0, length);
            default:
                var src = _t.Span<ushort>().Slice((int)start, length);
                var dst = scratch.AsSpan(0, length);
                for (int i = 0; i < length; i++) dst[i] = BFloat16.BitsToFloat(src[i]);
                return dst;
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public float At(long i) => _t.ElementType switch
    {
        ElementType.Float => _t.Span<float>()[(int)i],
        ElementType.Float16 => (float)_t.Span<Half>()[(int)i],
        _ => BFloat16.BitsToFloat(_t.Span<ushort>()[(int)i]),
    };
}
