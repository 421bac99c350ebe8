using System.Text;
using PolyNet.Onnx;

namespace PolyNet.Runners.Inputs;

/// <summary>
/// Generates input values from a seed. Each input of each sample has its own random stream, derived from
/// (seed, input name, sample index) with SplitMix64, so values do not change when inputs are added, reordered or
/// generated on another machine. Floats are uniform in [lo, hi) (float16 and bfloat16 rounded to nearest even from
/// float32), integers uniform over the integers in [lo, hi], bools 0/1. Dynamic dimensions come from
/// <see cref="InputShapes"/>; one left dynamic is set to 1 and reported in <see cref="Warnings"/>.
/// </summary>
public sealed class InputGenerator
{
    private readonly ulong _seed;
    private readonly ValueRanges _ranges;
    private readonly InputShapes _shapes;
    private readonly List<string> _warnings = [];

    public InputGenerator(long seed, ValueRanges? ranges = null, InputShapes? shapes = null)
    {
        _seed = (ulong)seed;
        _ranges = ranges ?? new ValueRanges();
        _shapes = shapes ?? new InputShapes();
    }

    /// <summary>What the generator decided for the user (dynamic dimensions it set to 1).</summary>
    public IReadOnlyList<string> Warnings => _warnings;

    /// <summary>The concrete shape used for <paramref name="spec"/>.</summary>
    public TensorShape ShapeFor(ValueSpec spec)
    {
        if (_shapes.Shapes.TryGetValue(spec.Name, out var given)) return given;
        if (spec.Shape is null)
            throw new InvalidInputException($"input '{spec.Name}' has no declared shape; give one with --input-shapes {spec.Name}:DIMS");
        var dims = new long[spec.Shape.Rank];
        var dynamic = new List<string>();
        for (int i = 0; i < dims.Length; i++)
        {
            if (spec.Shape.Dims[i].Value is { } v) dims[i] = v;
            else { dims[i] = 1; dynamic.Add($"{i} ({spec.Shape.Dims[i]})"); }
        }
        if (dynamic.Count > 0)
        {
            var w = $"input '{spec.Name}' {spec.Shape} has dynamic dimension(s) {string.Join(", ", dynamic)}: using 1; set them with --input-shapes {spec.Name}:{string.Join("x", dims)}";
            if (!_warnings.Contains(w)) _warnings.Add(w);
        }
        return new TensorShape(dims);
    }

    /// <summary>One sample for <paramref name="inputs"/>.</summary>
    public ValueMap Generate(IReadOnlyList<ValueSpec> inputs, int sample)
    {
        _shapes.Validate(inputs);
        _ranges.Validate(inputs.Select(i => i.Name));
        var result = new ValueMap();
        foreach (var spec in inputs)
        {
            if (spec.Kind == ValueKind.Sequence)
                throw new InvalidInputException($"input '{spec.Name}' is a sequence, which PolyNet cannot generate; give it with --load-inputs");
            if (!spec.ElementType.IsSupported())
                throw new InvalidInputException($"input '{spec.Name}' has element type {spec.ElementType.DisplayName()}, which PolyNet cannot generate");
            var t = Generate(spec.Name, spec.ElementType, ShapeFor(spec), sample);
            result.Add(spec.Name, spec.Kind == ValueKind.Optional ? new OptionalData(t) : t);
        }
        return result;
    }

    public TensorData Generate(string name, ElementType type, TensorShape shape, int sample)
    {
        var rng = new SplitMix64(Mix(_seed, name, sample));
        var (lo, hi) = _ranges.For(name);
        var t = TensorData.Allocate(type, shape);
        long n = shape.ElementCount;
        switch (type)
        {
            case ElementType.Float:
            {
                var s = t.Span<float>();
                for (int i = 0; i < s.Length; i++) s[i] = (float)(lo + (hi - lo) * rng.NextUnitFloat());
                break;
            }
            case ElementType.Double:
            {
                var s = t.Span<double>();
                for (int i = 0; i < s.Length; i++) s[i] = lo + (hi - lo) * rng.NextUnitDouble();
                break;
            }
            case ElementType.Float16:
            {
                var s = t.Span<Half>();
                for (int i = 0; i < s.Length; i++) s[i] = (Half)(float)(lo + (hi - lo) * rng.NextUnitFloat());
                break;
            }
            case ElementType.BFloat16:
            {
                var s = t.Span<BFloat16>();
                for (int i = 0; i < s.Length; i++) s[i] = BFloat16.FromFloat((float)(lo + (hi - lo) * rng.NextUnitFloat()));
                break;
            }
            case ElementType.Bool:
            {
                var s = t.Span<byte>();
                bool fixedValue = lo == hi && lo is 0 or 1;
                for (int i = 0; i < s.Length; i++) s[i] = fixedValue ? (byte)lo : (byte)(rng.Next() >> 63);
                break;
            }
            case ElementType.String:
            {
                var s = t.Strings;
                // Integers as text, within the 64-bit range (the generator's span must fit in 64 bits).
                Int128 sl = Int128.Max(ToInt128Ceiling(lo), long.MinValue), sh = Int128.Min(ToInt128Floor(hi), long.MaxValue);
                if (sl > sh) throw new InvalidInputException($"--val-range holds no integer for input '{name}'");
                for (long i = 0; i < n; i++) s[i] = IntegerIn(rng, sl, sh).ToString(System.Globalization.CultureInfo.InvariantCulture);
                break;
            }
            default:
            {
                if (!type.IsInteger()) throw new InvalidInputException($"cannot generate {type.DisplayName()} values");
                var (tmin, tmax) = type.IntegerRange();
                Int128 l = Int128.Max(ToInt128Ceiling(lo), tmin), h = Int128.Min(ToInt128Floor(hi), tmax);
                if (l > h)
                    throw new InvalidInputException($"--val-range [{lo},{hi}] holds no {type.DisplayName()} value for input '{name}'");
                var bytes = t.Bytes;
                int size = type.ByteSize();
                Span<byte> tmp = stackalloc byte[16];
                for (long i = 0; i < n; i++)
                {
                    Int128 v = IntegerIn(rng, l, h);
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt128LittleEndian(tmp, (UInt128)v);
                    tmp[..size].CopyTo(bytes[(int)(i * size)..]);
                }
                break;
            }
        }
        return t;
    }

    /// <summary>A uniform integer in [lo, hi] (both inclusive); ranges up to 2^64 values wide.</summary>
    private static Int128 IntegerIn(SplitMix64 rng, Int128 lo, Int128 hi)
    {
        var span = (UInt128)(hi - lo) + 1;
        ulong r = span > ulong.MaxValue ? rng.Next() : rng.Next() % (ulong)span;
        return lo + r;
    }

    private static Int128 ToInt128Ceiling(double v) => double.IsNegativeInfinity(v) || v < -1e38 ? Int128.MinValue : (Int128)Math.Ceiling(v);
    private static Int128 ToInt128Floor(double v) => double.IsPositiveInfinity(v) || v > 1e38 ? Int128.MaxValue : (Int128)Math.Floor(v);

    private static ulong Mix(ulong seed, string name, int sample)
    {
        // FNV-1a over the UTF-8 name, combined with seed and sample through SplitMix64's finalizer.
        ulong h = 0xcbf29ce484222325UL;
        foreach (var b in Encoding.UTF8.GetBytes(name)) { h ^= b; h *= 0x100000001b3UL; }
        return SplitMix64.Finalize(seed ^ SplitMix64.Finalize(h + (ulong)sample * 0x9E3779B97F4A7C15UL));
    }
}

/// <summary>SplitMix64 (Steele, Lea, Flood 2014): a small, fast, portable generator with a fixed definition.</summary>
public sealed class SplitMix64(ulong seed)
{
    private ulong _state = seed;

    public ulong Next()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Finalize(_state);
    }

    public static ulong Finalize(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1) with 24 bits, exactly representable as float.</summary>
    public double NextUnitFloat() => (Next() >> 40) * (1.0 / (1 << 24));

    /// <summary>Uniform in [0, 1) with 53 bits.</summary>
    public double NextUnitDouble() => (Next() >> 11) * (1.0 / (1UL << 53));
}
