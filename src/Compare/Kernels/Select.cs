namespace PolyNet.Compare.Kernels;

/// <summary>
/// Exact order statistics by selection (introselect: quickselect with median-of-three pivots, falling back to a
/// full sort of the remaining range when partitioning stops making progress), never by sorting everything.
/// NaNs must not be present.
/// </summary>
internal static class Select
{
    /// <summary>Rearranges <paramref name="a"/> so that a[k] is the k-th smallest; returns it.</summary>
    public static T Nth<T>(Span<T> a, int k) where T : IComparable<T>
    {
        if ((uint)k >= (uint)a.Length) throw new ArgumentOutOfRangeException(nameof(k));
        int lo = 0, hi = a.Length - 1;
        int budget = 2 * (int)Math.Log2(Math.Max(2, a.Length)) + 8;
        while (hi > lo)
        {
            if (hi - lo < 32 || budget-- == 0)
            {
                a[lo..(hi + 1)].Sort();
                return a[k];
            }
            int mid = lo + ((hi - lo) >> 1);
            // Median of three to a[mid].
            if (a[mid].CompareTo(a[lo]) < 0) (a[mid], a[lo]) = (a[lo], a[mid]);
            if (a[hi].CompareTo(a[lo]) < 0) (a[hi], a[lo]) = (a[lo], a[hi]);
            if (a[hi].CompareTo(a[mid]) < 0) (a[hi], a[mid]) = (a[mid], a[hi]);
            T pivot = a[mid];
            // Three-way partition: [lo, lt) < pivot, [lt, gt] == pivot, (gt, hi] > pivot.
            int lt = lo, i = lo, gt = hi;
            while (i <= gt)
            {
                int c = a[i].CompareTo(pivot);
                if (c < 0) { (a[lt], a[i]) = (a[i], a[lt]); lt++; i++; }
                else if (c > 0) { (a[i], a[gt]) = (a[gt], a[i]); gt--; }
                else i++;
            }
            if (k < lt) hi = lt - 1;
            else if (k > gt) lo = gt + 1;
            else return a[k];
        }
        return a[k];
    }

    /// <summary>
    /// The values at every rank of <paramref name="ranks"/> (sorted, distinct, within range), by one recursive
    /// multi-selection: partition once, recurse only into the sides that hold wanted ranks. Rearranges <paramref name="a"/>.
    /// </summary>
    public static void Ranks(Span<float> a, ReadOnlySpan<int> ranks, Span<float> results) => Ranks(a, 0, ranks, results);

    private static void Ranks(Span<float> a, int offset, ReadOnlySpan<int> ranks, Span<float> results)
    {
        while (ranks.Length > 0)
        {
            if (a.Length <= 64)
            {
                a.Sort();
                for (int i = 0; i < ranks.Length; i++) results[i] = a[ranks[i] - offset];
                return;
            }
            if (ranks.Length == 1)
            {
                results[0] = Nth(a, ranks[0] - offset);
                return;
            }
            int mid = a.Length >> 1, hi = a.Length - 1;
            if (a[mid] < a[0]) (a[mid], a[0]) = (a[0], a[mid]);
            if (a[hi] < a[0]) (a[hi], a[0]) = (a[0], a[hi]);
            if (a[hi] < a[mid]) (a[hi], a[mid]) = (a[mid], a[hi]);
            float pivot = a[mid];
            int lt = 0, i2 = 0, gt = hi;
            while (i2 <= gt)
            {
                float x = a[i2];
                if (x < pivot) { (a[lt], a[i2]) = (a[i2], a[lt]); lt++; i2++; }
                else if (x > pivot) { (a[i2], a[gt]) = (a[gt], a[i2]); gt--; }
                else i2++;
            }
            // Ranks below lt go left, within [lt, gt] equal the pivot, above gt go right.
            int nLeft = 0;
            while (nLeft < ranks.Length && ranks[nLeft] - offset < lt) nLeft++;
            int nMid = nLeft;
            while (nMid < ranks.Length && ranks[nMid] - offset <= gt) nMid++;
            for (int r = nLeft; r < nMid; r++) results[r] = pivot;
            if (nLeft > 0) Ranks(a[..lt], offset, ranks[..nLeft], results[..nLeft]);
            a = a[(gt + 1)..];
            offset += gt + 1;
            results = results[nMid..];
            ranks = ranks[nMid..];
        }
    }
}
