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
}
