namespace PolyNet.Onnx;

/// <summary>Suggestions for mistyped names (tensors, keys, cases).</summary>
public static class Names
{
    /// <summary>The known name closest to <paramref name="name"/>, when it is close enough to be a typo; else null.</summary>
    public static string? Closest(string name, IEnumerable<string> known)
    {
        var best = known.Select(k => (k, d: EditDistance(k, name))).OrderBy(x => x.d).ThenBy(x => x.k, StringComparer.Ordinal).FirstOrDefault();
        return best.k is not null && best.d <= Math.Max(2, name.Length / 3) ? best.k : null;
    }

    /// <summary>" (did you mean 'conv1_out'?)" when a known name is close, else "".</summary>
    public static string Suggest(string name, IEnumerable<string> known) => Closest(name, known) is { } k ? $" (did you mean '{k}'?)" : "";

    /// <summary>Levenshtein distance: insertions, deletions and substitutions of single characters.</summary>
    public static int EditDistance(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) prev[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (int j = 1; j <= b.Length; j++)
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }
}
