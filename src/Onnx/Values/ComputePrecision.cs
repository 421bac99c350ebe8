namespace PolyNet.Onnx;

/// <summary>The arithmetic a runner computes in, which sets the comparator's default tolerances.</summary>
public enum ComputePrecision
{
    Fp32 = 0,
    /// <summary>TensorFloat-32: FP32 storage, 10-bit mantissa in convolutions and GEMMs (CUDA's default).</summary>
    Tf32 = 1,
    Fp16 = 2,
    Bf16 = 3,
    Int8 = 4,
}

public static class ComputePrecisions
{
    /// <summary>The least precise of two (Int8 &lt; Bf16 &lt; Fp16 &lt; Tf32 &lt; Fp32).</summary>
    public static ComputePrecision Coarser(ComputePrecision a, ComputePrecision b) => (ComputePrecision)Math.Max((int)a, (int)b);

    /// <summary>What data of an element type tells about the precision that produced it.</summary>
    public static ComputePrecision Of(ElementType t) => t switch
    {
        ElementType.Float16 => ComputePrecision.Fp16,
        ElementType.BFloat16 => ComputePrecision.Bf16,
        _ => ComputePrecision.Fp32,
    };

    public static string Name(this ComputePrecision p) => p.ToString().ToLowerInvariant();
}
