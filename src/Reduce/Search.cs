namespace PolyNet.Reduce;

/// <summary>
/// The reduction searches, over node indices kept in topological order. Each takes a set known to fail and a test
/// ("does this subset still fail?"; callers cache verdicts, so no subset is checked twice) and returns a smaller set
/// that fails. Checks are the cost; each method's comment says how many it takes.
/// </summary>
public static class Search
{
    /// <summary>
    /// Delta debugging (Zeller and Hildebrandt's ddmin), led by a bisection that assumes a single culprit: test the
    /// first half; if it fails keep it, else keep the second half without testing it (with one culprit it must be
    /// there). That isolates one failing node in ⌈log2 N⌉ + 1 checks (the last verifies it). When the assumption
    /// breaks (the remaining node does not fail alone, or a verified set splits into halves that both pass, as with
    /// two nodes that fail only together), classic ddmin continues from the last set seen to fail, which finds a
    /// 1-minimal set: removing any single node from it makes the failure go away.
    /// </summary>
    public static List<int> Ddmin(IReadOnlyList<int> failing, Func<IReadOnlyList<int>, bool> fails)
    {
        var verified = failing.ToList();
        var current = verified;
        bool currentVerified = true;
        while (current.Count > 1)
        {
            var (a, b) = Halves(current);
            if (fails(a))
            {
                current = verified = a;
                currentVerified = true;
            }
            else
            {
                current = b;
                currentVerified = false;
            }
        }
        if (!currentVerified && fails(current)) verified = current;
        return verified.Count == 1 ? verified : Classic(verified, fails);
    }

    /// <summary>Classic ddmin: subsets first, then complements, doubling the granularity when neither fails.</summary>
    public static List<int> Classic(IReadOnlyList<int> failing, Func<IReadOnlyList<int>, bool> fails)
    {
        var c = failing.ToList();
        int n = 2;
        while (c.Count >= 2)
        {
            var parts = Split(c, n);
            var next = parts.FirstOrDefault(p => fails(p));
            if (next is not null)
            {
                c = next;
                n = 2;
                continue;
            }
            if (n > 2)
            {
                var complement = parts.Select(p => c.Except(p).ToList()).FirstOrDefault(x => fails(x));
                if (complement is not null)
                {
                    c = complement;
                    n = Math.Max(n - 1, 2);
                    continue;
                }
            }
            if (n >= c.Count) break;
            n = Math.Min(c.Count, 2 * n);
        }
        return c;
    }

    /// <summary>
    /// Polygraphy's bisect mode: the shortest failing prefix of the topological order (outputs side), then the shortest
    /// failing suffix of that prefix (inputs side). ⌈log2 N⌉ + ⌈log2 M⌉ checks for N nodes and a prefix of M; assumes
    /// a failure, once it appears along the order, persists.
    /// </summary>
    public static List<int> Bisect(IReadOnlyList<int> order, Func<IReadOnlyList<int>, bool> fails)
    {
        int lo = 0, hi = order.Count - 1;
        while (lo < hi)
        {
            int mid = (lo + hi) / 2;
            if (fails(Range(order, 0, mid))) hi = mid;
            else lo = mid + 1;
        }
        int end = lo;
        lo = 0;
        hi = end;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) / 2;
            if (fails(Range(order, mid, end))) lo = mid;
            else hi = mid - 1;
        }
        return Range(order, lo, end);
    }

    /// <summary>Polygraphy's linear mode: drop nodes one at a time from the outputs side while it fails, then from the inputs side. N + M checks.</summary>
    public static List<int> Linear(IReadOnlyList<int> order, Func<IReadOnlyList<int>, bool> fails)
    {
        int end = order.Count - 1;
        while (end > 0 && fails(Range(order, 0, end - 1))) end--;
        int start = 0;
        while (start < end && fails(Range(order, start + 1, end))) start++;
        return Range(order, start, end);
    }

    private static List<int> Range(IReadOnlyList<int> order, int from, int to) => order.Skip(from).Take(to - from + 1).ToList();

    private static (List<int>, List<int>) Halves(List<int> c) => (c.Take(c.Count / 2).ToList(), c.Skip(c.Count / 2).ToList());

    private static List<List<int>> Split(List<int> c, int n)
    {
        var parts = new List<List<int>>();
        int start = 0;
        for (int i = 0; i < n; i++)
        {
            int end = (int)((long)c.Count * (i + 1) / n);
            if (end > start) parts.Add(c.GetRange(start, end - start));
            start = end;
        }
        return parts;
    }
}
