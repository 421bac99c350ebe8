using System.Globalization;

namespace PolyNet.Jobs.Suite;

/// <summary>One of N shards of a suite (`--shard I/N`, I from 1).</summary>
public sealed record SuiteShard(int Index, int Count)
{
    public override string ToString() => $"{Index}/{Count}";

    public static SuiteShard Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var i) || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            || n < 1 || i < 1 || i > n)
            throw new InvalidInputException($"--shard {text}: expected I/N with 1 <= I <= N, e.g. 2/4");
        return new SuiteShard(i, n);
    }
}

/// <summary>
/// Splits a suite's cases over N machines so that each case runs on exactly one: deterministic (the same cases and
/// durations give every machine the same split). With the run times of an earlier run, the longest case goes first to
/// the least loaded shard (ties: the lower shard), cases not timed before counting as the median of those that were;
/// without them, cases are dealt out in suite order.
/// </summary>
public static class SuiteShards
{
    public static IReadOnlyList<SuiteCase> Pick(IReadOnlyList<SuiteCase> cases, SuiteShard shard, IReadOnlyDictionary<string, TimeSpan>? durations = null)
        => Assign(cases, shard.Count, durations).Where(a => a.Shard == shard.Index).Select(a => a.Case).ToList();

    /// <summary>Every case with its shard (1-based), in suite order.</summary>
    public static IReadOnlyList<(SuiteCase Case, int Shard)> Assign(IReadOnlyList<SuiteCase> cases, int count, IReadOnlyDictionary<string, TimeSpan>? durations = null)
    {
        var shardOf = new int[cases.Count];
        var known = durations is null ? [] : cases.Where(c => durations.ContainsKey(c.Name)).Select(c => durations[c.Name].TotalMilliseconds).Order().ToList();
        if (known.Count == 0)
            for (int i = 0; i < cases.Count; i++) shardOf[i] = i % count + 1;
        else
        {
            double median = known[known.Count / 2];
            var load = new double[count];
            var order = Enumerable.Range(0, cases.Count)
                .Select(i => (Index: i, Ms: durations!.TryGetValue(cases[i].Name, out var d) ? d.TotalMilliseconds : median))
                .OrderByDescending(x => x.Ms).ThenBy(x => cases[x.Index].Name, StringComparer.Ordinal);
            foreach (var (index, ms) in order)
            {
                int best = 0;
                for (int s = 1; s < count; s++) if (load[s] < load[best]) best = s;
                load[best] += ms;
                shardOf[index] = best + 1;
            }
        }
        return cases.Select((c, i) => (c, shardOf[i])).ToList();
    }
}
