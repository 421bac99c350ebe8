using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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
/// 4. each rank's value is read off counts of the remaining bits (see <see cref="Resolve"/>): no selection.
/// A quantity whose minimum equals its maximum needs no second look. Inputs of at most <see cref="DirectLimit"/>
/// elements keep every value in the first pass and select directly.
/// </summary>
internal static class RadixQuantiles
{
    public const int Bins = 1 << 16;
    public const long DirectLimit = 1 << 16;
    public const long KeepLimit = 1 << 22;

    /// <summary>The radix bin of a value: the top 16 bits of its representation.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static int Bin(float v) => (int)(BitConverter.SingleToUInt32Bits(v) >> 16);

    /// <summary>
    /// The bins in increasing value order: −inf … −0, then +0 … +inf. Bins whose values are all NaN patterns are left
    /// out (they hold the first pass's NaN placeholders); the −inf and +inf bins are in.
    /// </summary>
    public static readonly int[] BinsInOrder = Order();

    private static int[] Order()
    {
        var order = new List<int>(Bins);
        for (int b = 0xFFFF; b >= 0x8000; b--)
            if ((b & 0x7FFF) <= 0x7F80) order.Add(b);
        for (int b = 0; b <= 0x7F80; b++) order.Add(b);
        return [.. order];
    }

    /// <summary>The octave-histogram index (sign and exponent bits) of every value in bin <paramref name="bin"/>.</summary>
    public static int Octave(int bin) => bin >> 7;

    /// <summary>
    /// Plans the second pass for one quantity: the bins holding each wanted rank, from the summed radix counts.
    /// <paramref name="allEqual"/>: the quantity's minimum equals its maximum (no bin needs a second look).
    /// <paramref name="plusZeros"/>: how many values are exactly +0, where known (-1: unknown).
    /// Returns the targets, per wanted rank (target index, rank inside the bin), and the ranks known without a target.
    /// </summary>
    public static (RadixTarget[] Targets, Dictionary<long, (int Target, long Inner)> Where, Dictionary<long, float> Known) Plan(ReadOnlySpan<int> counts, IEnumerable<long> wanted, bool allEqual, long plusZeros = -1)
    {
        var targets = new List<RadixTarget>();
        var where = new Dictionary<long, (int, long)>();
        var known = new Dictionary<long, float>();
        if (allEqual) return ([], where, known);
        var ranks = wanted.Distinct().Order().ToArray();
        long below = 0;
        int r = 0;
        foreach (int b in BinsInOrder)
        {
            if (r == ranks.Length) break;
            long c = counts[b];
            if (c == 0) continue;
            while (r < ranks.Length && ranks[r] < below + c)
            {
                // The +0 bin holding exactly as many values as there are +0s (a ReLU's zeros, exact errors): no second look.
                if (b == 0 && c == plusZeros)
                {
                    known[ranks[r++]] = 0f;
                    continue;
                }
                if (targets.Count == 0 || targets[^1].Bin != b) targets.Add(new RadixTarget(b, c, c > KeepLimit));
                where[ranks[r]] = (targets.Count - 1, ranks[r] - below);
                r++;
            }
            below += c;
        }
        if (r < ranks.Length) throw new InvalidOperationException($"radix counts hold {below} values, fewer than rank {ranks[r]} needs");
        return ([.. targets], where, known);
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
            else
            {
                t.Kept[q]!.Add(v);
                t.Step1[q]![(j << 2) << 8 | (int)((BitConverter.SingleToUInt32Bits(v) >> 8) & 0xFF)]++;
            }
            return;
        }
    }

    /// <summary>
    /// Every wanted rank's value, after the second pass. A counted target's low 16 bits were counted during the pass:
    /// its counts, summed over threads, are walked in value order. A kept target's values are resolved in two steps,
    /// each counting into 256-entry tables that stay in the first-level cache: the next 8 bits (which 256th of the bin
    /// holds the rank; counted by the second pass as it keeps the values, FusedThreadState.Step1), then the last 8
    /// among the values of that 256th (one sequential read of what the threads kept, in parallel). Tables come in four
    /// interleaved copies, so runs of ties do not chain increments. No selection, no sorting.
    /// </summary>
    public static Dictionary<long, float>[] Resolve(RadixTarget[][] targets, Dictionary<long, (int Target, long Inner)>[] where, IReadOnlyList<FusedThreadState> states, ParallelOptions po)
    {
        int nq = targets.Length;
        var result = Enumerable.Range(0, nq).Select(_ => new Dictionary<long, float>()).ToArray();
        // Step 1: per thread and quantity, (target, copy, bits 8..15) counts of the kept values.
        var prefixes = new int[nq][];
        for (int q = 0; q < nq; q++) prefixes[q] = targets[q].Select(t => t.Bin).ToArray();
        // (Counted during the second pass, as values were kept: FusedThreadState.Step1.)
        var step1 = states.Select(st => st.Step1.Length > 0 ? st.Step1.Select(t => t ?? new int[ByteTableLength(0)]).ToArray()
            : Enumerable.Range(0, nq).Select(q => new int[ByteTableLength(targets[q].Length)]).ToArray()).ToArray();
        // Step 2: the 256th of each kept target that holds each rank; counted targets resolve here.
        var needs = new List<(int Q, long Rank, int Prefix, long Inner)>();
        var counted = new Dictionary<(int, int), long[]>();
        for (int q = 0; q < nq; q++)
        {
            foreach (var (rank, (j, inner)) in where[q].OrderBy(w => w.Value.Inner))
            {
                var t = targets[q][j];
                if (t.Counted)
                {
                    // The threads' low-bit counts of this target, summed once for all its ranks.
                    if (!counted.TryGetValue((q, j), out var low))
                    {
                        counted[(q, j)] = low = new long[Bins];
                        foreach (var s in states)
                            if (s.Low.Length > 0)
                            {
                                var part = s.Low[q]!.AsSpan(j << 16, Bins);
                                for (int i = 0; i < Bins; i++) low[i] += part[i];
                            }
                    }
                    var (i16, _) = Walk(low, inner, t.Bin >= 0x8000, t.Count, t.Bin);
                    result[q][rank] = BitConverter.UInt32BitsToSingle((uint)t.Bin << 16 | (uint)i16);
                    continue;
                }
                var (hi, rest) = Walk(Sum(step1, q, j), inner, t.Bin >= 0x8000, t.Count, t.Bin);
                needs.Add((q, rank, t.Bin << 8 | hi, rest));
            }
        }
        // Step 3: the last 8 bits among the values of each needed 256th.
        var needPrefixes = new int[nq][];
        for (int q = 0; q < nq; q++) needPrefixes[q] = needs.Where(x => x.Q == q).Select(x => x.Prefix).Distinct().ToArray();
        var step3 = CountBytes(states, needPrefixes, shift: 8, po);
        foreach (var (q, rank, prefix, inner) in needs)
        {
            var counts = Sum(step3, q, Array.IndexOf(needPrefixes[q], prefix));
            var (lo, _) = Walk(counts, inner, prefix >= 0x800000, counts.Sum(), prefix);
            result[q][rank] = BitConverter.UInt32BitsToSingle((uint)prefix << 8 | (uint)lo);
        }
        return result;
    }

    /// <summary>
    /// Per thread and quantity: for every kept value whose bits above <paramref name="shift"/> equal one of the
    /// quantity's <paramref name="prefixes"/>, the count of its next 8 bits, in four copies (value i counts in copy i % 4).
    /// Layout of one table: [(prefix index · 4 + copy) · 256 + byte], plus one spill row for values matching none.
    /// </summary>
    private static int[][][] CountBytes(IReadOnlyList<FusedThreadState> states, int[][] prefixes, int shift, ParallelOptions po)
    {
        var tables = new int[states.Count][][];
        Parallel.For(0, states.Count, po, si =>
        {
            var s = states[si];
            var mine = tables[si] = new int[prefixes.Length][];
            for (int q = 0; q < prefixes.Length; q++)
            {
                mine[q] = new int[ByteTableLength(prefixes[q].Length)];
                if (prefixes[q].Length > 0 && s.Kept.Length > 0 && s.Kept[q] is { } kept)
                    CountByteRows(MemoryMarshal.Cast<float, uint>(kept.Span), prefixes[q], shift, mine[q]);
            }
        });
        return tables;
    }

    /// <summary>The length of a byte-count table for <paramref name="prefixes"/> prefixes (see <see cref="CountBytes"/>).</summary>
    public static int ByteTableLength(int prefixes) => (prefixes * 4 + 4) * 256;

    /// <summary>
    /// Adds to <paramref name="table"/> the count of bits shift−8…shift−1 of every value whose bits above
    /// <paramref name="shift"/> equal one of <paramref name="prefixes"/> (distinct), in the layout of
    /// <see cref="CountBytes"/>. 16 values at a time: each one's row (prefix index, copy) found by vector compares,
    /// vectors with no match skipped, then the increments.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void CountByteRows(ReadOnlySpan<uint> values, int[] prefixes, int shift, int[] table)
    {
        ref int t = ref MemoryMarshal.GetArrayDataReference(table);
        int none = prefixes.Length;
        Span<int> idx = stackalloc int[16];
        Span<Vector512<int>> pv = stackalloc Vector512<int>[prefixes.Length];
        for (int m = 0; m < prefixes.Length; m++) pv[m] = Vector512.Create(prefixes[m]);
        var lanes = Vector512.Create(0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3);
        int end = values.Length & ~15;
        ref uint v = ref MemoryMarshal.GetReference(values);
        for (int i = 0; i < end; i += 16)
        {
            var x = Vector512.LoadUnsafe(ref v, (nuint)i).AsInt32();
            var key = Vector512.ShiftRightLogical(x, shift);
            var k = Vector512.Create(none);
            for (int m = 0; m < pv.Length; m++) k = Vector512.ConditionalSelect(Vector512.Equals(key, pv[m]), Vector512.Create(m), k);
            if (Vector512.EqualsAll(k, Vector512.Create(none))) continue;
            var row = Vector512.ShiftLeft(Vector512.ShiftLeft(k, 2) | lanes, 8) | (Vector512.ShiftRightLogical(x, shift - 8) & Vector512.Create(0xFF));
            row.StoreUnsafe(ref MemoryMarshal.GetReference(idx));
            for (int lane = 0; lane < 16; lane++) Unsafe.Add(ref t, idx[lane])++;
        }
        for (int i = end; i < values.Length; i++)
        {
            uint x = values[i];
            int k = Array.IndexOf(prefixes, (int)(x >> shift));
            if (k < 0) k = none;
            Unsafe.Add(ref t, ((k << 2) | (i & 3)) << 8 | (int)((x >> (shift - 8)) & 0xFF))++;
        }
    }

    /// <summary>The 256 counts of prefix <paramref name="k"/> of quantity <paramref name="q"/>, summed over threads and copies.</summary>
    private static long[] Sum(int[][][] tables, int q, int k)
    {
        var sum = new long[256];
        foreach (var thread in tables)
            for (int copy = 0; copy < 4; copy++)
            {
                var part = thread[q].AsSpan(((k << 2) | copy) << 8, 256);
                for (int i = 0; i < 256; i++) sum[i] += part[i];
            }
        return sum;
    }

    /// <summary>
    /// The index whose count holds rank <paramref name="inner"/> when the counts are read in value order (descending
    /// indices for negative values), and the rank inside that index. Checks the counts total what the first pass saw.
    /// </summary>
    private static (int Index, long Inner) Walk(long[] counts, long inner, bool negative, long expected, int bin)
    {
        if (counts.Sum() != expected) throw new InvalidOperationException($"the second pass found {counts.Sum()} values in radix bin {bin:x}, the first counted {expected}");
        long below = 0;
        for (int step = 0; step < counts.Length; step++)
        {
            int i = negative ? counts.Length - 1 - step : step;
            if (inner < below + counts[i]) return (i, inner - below);
            below += counts[i];
        }
        throw new InvalidOperationException($"rank {inner} lies past the {below} values of radix bin {bin:x}");
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
