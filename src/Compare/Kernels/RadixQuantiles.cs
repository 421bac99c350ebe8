namespace PolyNet.Compare.Kernels;

/// <summary>
/// Exact quantiles in two passes over the data, without sorting, sampling or a full-size temporary:
/// 1. the first pass (which computes everything else) counts every value of each quantity per radix bin: the top 16
///    bits of its float32 representation (sign, exponent and 7 mantissa bits: 1/128 of an octave);
/// 2. walking the bins in value order, the cumulative counts name, for every wanted rank, its bin and its rank inside
///    that bin: exactly;
/// 3. the second pass looks only at the values that fall in those bins (a fraction of a percent each on smooth data):
///    a bin holding at most <see cref="KeepLimit"/> of them keeps them; a larger one (heavy ties, such as the zeros of
///    a ReLU) counts their low 16 bits at once, so the values kept stay bounded whatever the ties. (Counting every bin
///    during the pass would keep nothing, but increments spread over 256 KiB per bin miss the caches there: slower.)
/// 4. the low 16 bits of each target's values, counted, walked in value order, give each rank's value: no selection.
/// A quantity whose minimum equals its maximum needs no second look. Inputs of at most <see cref="DirectLimit"/>
/// elements keep every value in the first pass and select directly.
/// </summary>
internal static class RadixQuantiles
{
    public const int Bins = 1 << 16;
    public const long DirectLimit = 1 << 16;
    public const long KeepLimit = 1 << 22;

    /// <summary>From this many elements on, radix tables come in four copies (see FusedKernel.RadixCount).</summary>
    public const long LargeInput = 1 << 22;

    public static int Copies(long n) => n >= LargeInput ? 4 : 1;

    /// <summary>The radix bin of a value: the top 16 bits of its representation.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static int Bin(float v) => (int)(BitConverter.SingleToUInt32Bits(v) >> 16);

    /// <summary>
    /// The bins in increasing value order (−NaN patterns first, then −inf … −0, +0 … +inf, +NaN patterns). Bins whose
    /// values are all NaN patterns are never counted (they hold the first pass's NaN placeholders); the +inf and −inf
    /// bins are.
    /// </summary>
    public static IEnumerable<int> BinsInOrder()
    {
        for (int b = 0xFFFF; b >= 0x8000; b--)
            if ((b & 0x7FFF) <= 0x7F80) yield return b;
        for (int b = 0; b <= 0x7F80; b++) yield return b;
    }

    /// <summary>The octave-histogram index (sign and exponent bits) of every value in bin <paramref name="bin"/>.</summary>
    public static int Octave(int bin) => bin >> 7;

    /// <summary>
    /// Plans the second pass for one quantity: the bins holding each wanted rank, from the summed radix counts.
    /// <paramref name="allEqual"/>: the quantity's minimum equals its maximum (no bin needs a second look).
    /// Returns the targets and, per wanted rank, (target index, rank inside the bin).
    /// </summary>
    public static (RadixTarget[] Targets, Dictionary<long, (int Target, long Inner)> Where) Plan(long[] counts, IEnumerable<long> wanted, bool allEqual)
    {
        var targets = new List<RadixTarget>();
        var where = new Dictionary<long, (int, long)>();
        if (allEqual) return ([], where);
        var ranks = wanted.Distinct().Order().ToArray();
        long below = 0;
        int r = 0;
        foreach (int b in BinsInOrder())
        {
            if (r == ranks.Length) break;
            long c = counts[b];
            if (c == 0) continue;
            while (r < ranks.Length && ranks[r] < below + c)
            {
                if (targets.Count == 0 || targets[^1].Bin != b) targets.Add(new RadixTarget(b, c, c > KeepLimit));
                where[ranks[r]] = (targets.Count - 1, ranks[r] - below);
                r++;
            }
            below += c;
        }
        if (r < ranks.Length) throw new InvalidOperationException($"radix counts hold {below} values, fewer than rank {ranks[r]} needs");
        return ([.. targets], where);
    }

    /// <summary>One value of quantity <paramref name="q"/> in the second pass (scalar paths): kept or counted if its bin is a target.</summary>
    public static void Collect(int q, float v, FusedPlan p, FusedThreadState t)
    {
        var targets = p.Targets[q];
        if (targets.Length == 0) return;
        int bin = Bin(v);
        for (int j = 0; j < targets.Length; j++)
        {
            if (targets[j].Bin != bin) continue;
            if (targets[j].Counted) t.Low[q]![j << 16 | (int)(BitConverter.SingleToUInt32Bits(v) & 0xFFFF)]++;
            else t.Kept[q][j]!.Add(v);
            return;
        }
    }

    /// <summary>
    /// The values of the wanted ranks that target <paramref name="j"/> of quantity <paramref name="q"/> holds, after the
    /// second pass: the low 16 bits of its values are counted (the second pass counted them already for a heavy bin;
    /// kept values are counted now, one sequential read), and the counts walked in value order. No selection.
    /// </summary>
    public static Dictionary<long, float> ResolveTarget(int q, int j, RadixTarget t, Dictionary<long, (int Target, long Inner)> where, IReadOnlyList<FusedThreadState> states)
    {
        var result = new Dictionary<long, float>();
        var inner = where.Where(w => w.Value.Target == j).Select(w => (Rank: w.Key, w.Value.Inner)).OrderBy(w => w.Inner).ToArray();
        var low = System.Buffers.ArrayPool<long>.Shared.Rent(Bins);
        Array.Clear(low, 0, Bins);
        foreach (var s in states)
        {
            if (t.Counted)
            {
                var part = s.Low[q]!.AsSpan(j << 16, Bins);
                for (int i = 0; i < Bins; i++) low[i] += part[i];
            }
            else
                foreach (float v in s.Kept[q][j]!.Span) low[BitConverter.SingleToUInt32Bits(v) & 0xFFFF]++;
        }
        // Within a bin of negative values, larger low bits are smaller values.
        bool negative = t.Bin >= 0x8000;
        long below = 0;
        int r = 0;
        for (int step = 0; step < Bins; step++)
        {
            int i = negative ? Bins - 1 - step : step;
            below += low[i];
            while (r < inner.Length && inner[r].Inner < below) result[inner[r++].Rank] = BitConverter.UInt32BitsToSingle((uint)t.Bin << 16 | (uint)i);
        }
        System.Buffers.ArrayPool<long>.Shared.Return(low);
        if (below != t.Count) throw new InvalidOperationException($"the second pass found {below} values in radix bin {t.Bin:x4}, the first counted {t.Count}");
        return result;
    }

    /// <summary>Direct mode: every wanted rank by selection among all of a quantity's values (the threads' lists joined).</summary>
    public static Dictionary<long, float> Direct(IReadOnlyList<FloatBuffer> parts, IEnumerable<long> wanted)
    {
        long total = parts.Sum(p => (long)p.Count);
        var all = System.Buffers.ArrayPool<float>.Shared.Rent((int)Math.Max(1, total));
        int w = 0;
        foreach (var p in parts) { p.Span.CopyTo(all.AsSpan(w)); w += p.Count; }
        var ranks = wanted.Distinct().Order().Select(k => (int)k).ToArray();
        var values = new float[ranks.Length];
        Select.Ranks(all.AsSpan(0, w), ranks, values);
        System.Buffers.ArrayPool<float>.Shared.Return(all);
        return ranks.Select((k, i) => (k, i)).ToDictionary(x => (long)x.k, x => values[x.i]);
    }
}
