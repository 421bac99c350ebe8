using System.Globalization;
using System.Text.RegularExpressions;

namespace PolyNet.Calibration;

/// <summary>A tensor of the model that INT8 would quantize: a float graph input or a float tensor a node computes.</summary>
/// <param name="Producer">The producing node's op type ("" for a graph input).</param>
public sealed record ModelTensor(string Name, int Position, string Producer);

/// <summary>What the values seen during a run say about one entry's range.</summary>
/// <param name="ClippedPercent">Share of values whose |x| exceeds the cache's range: INT8 clips them.</param>
/// <param name="UsedPercent">Observed largest |x| as a share of the range: how much of INT8's 255 levels the values use.</param>
public sealed record Observation(float AbsMax, long Count, double ClippedPercent, [property: System.Text.Json.Serialization.JsonPropertyName("range_used_percent")] double UsedPercent);

/// <summary>One cache entry, judged.</summary>
public sealed record EntryReport(CacheEntry Entry, IReadOnlyList<string> Flags, bool? InModel, Observation? Observed)
{
    /// <summary>Sort key: clipping first, then poorly used ranges, then flags.</summary>
    public double Risk => (Observed?.ClippedPercent ?? 0) * 1e6 + (Observed is { } o ? 100 - Math.Min(o.UsedPercent, 100) : 0) + Flags.Count;
}

/// <summary>The whole inspection: every entry, and what the model and the data add.</summary>
public sealed class InspectionResult
{
    public required CalibrationCache Cache { get; init; }
    public required IReadOnlyList<EntryReport> Entries { get; init; }
    /// <summary>Model tensors INT8 would quantize that have no range in the cache.</summary>
    public IReadOnlyList<string> MissingFromCache { get; init; } = [];
    /// <summary>Cache entries named like TensorRT's own tensors (not in the ONNX model by construction).</summary>
    public IReadOnlyList<string> TensorRtInternal { get; init; } = [];
    /// <summary>Other cache entries that name no tensor of the model.</summary>
    public IReadOnlyList<string> NotInModel { get; init; } = [];
    /// <summary>Runs of ≥ 3 consecutive model tensors (topological order) with bit-identical scales, across ops that change values.</summary>
    public IReadOnlyList<IReadOnlyList<string>> SharedRanges { get; init; } = [];
}

/// <summary>One tensor in both caches: its ranges and their ratio (B / A; infinite when A's range is 0 and B's is not).</summary>
public sealed record RangeChange(string Name, float RangeA, float RangeB, double Ratio);

/// <summary>Two caches compared: entries in both, largest change first, and entries on one side only.</summary>
public sealed record CacheDiff(IReadOnlyList<RangeChange> Changed, IReadOnlyList<string> OnlyA, IReadOnlyList<string> OnlyB)
{
    /// <summary>Entries in both whose ranges differ.</summary>
    public IReadOnlyList<RangeChange> Differing => Changed.Where(c => c.Ratio != 1).ToList();

    /// <summary>Why the caches differ by more than <paramref name="maxRatio"/> (empty when they do not): ranges changed by a larger factor either way, entries on one side only.</summary>
    public IReadOnlyList<string> Beyond(double maxRatio)
    {
        var why = new List<string>();
        int beyond = Changed.Count(c => !(c.Ratio <= maxRatio && c.Ratio >= 1 / maxRatio));
        if (beyond > 0) why.Add($"{beyond} range(s) changed by more than {maxRatio.ToString("R", CultureInfo.InvariantCulture)}x (--max-ratio)");
        int oneSide = OnlyA.Count + OnlyB.Count;
        if (oneSide > 0) why.Add($"{oneSide} entr{(oneSide == 1 ? "y" : "ies")} on one side only");
        return why;
    }
}

/// <summary>
/// Checks a calibration cache on its own (flags per entry), against a model, and against values seen on real inputs.
/// Flags: "infinite", "NaN", "zero" (a zero scale makes INT8 output 0), "negative", "subnormal", "absurd" (range over
/// 1e6), and "outlier" (range more than 100 times, or less than a hundredth of, the median of its healthy neighbours,
/// the entries without other flags among the four on each side, in the model's topological order when a model is
/// given, else in file order; an entry with fewer than two healthy neighbours is not judged).
/// </summary>
public static partial class CacheInspection
{
    public const double AbsurdRange = 1e6;
    public const double OutlierFactor = 100;

    [GeneratedRegex(@"^\(Unnamed Layer\* \d+\)|^ONNXTRT_|\[[A-Za-z ]+\]_output$")]
    private static partial Regex TensorRtName();

    /// <summary>Ops through which TensorRT propagates one range unchanged: equal scales there are expected.</summary>
    private static readonly HashSet<string> PassThrough = ["Relu", "MaxPool", "Reshape", "Flatten", "Transpose", "Identity", "Squeeze", "Unsqueeze", "Slice", "Gather", "Concat", "Split", "Pad", "Resize", "Upsample", "Expand", "Tile", "DepthToSpace", "SpaceToDepth", "Clip"];

    public static InspectionResult Inspect(CalibrationCache cache, IReadOnlyList<ModelTensor>? model = null, IReadOnlyDictionary<string, TensorHistogram>? observed = null)
    {
        var byName = cache.ByName;
        var modelNames = model?.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var flagsOf = cache.Entries.ToDictionary(e => e, Flags);
        // Order for the neighbour comparison: the model's topological order where the entry is a model tensor.
        var order = model is null ? cache.Entries.ToList()
            : model.OrderBy(t => t.Position).Where(t => byName.ContainsKey(t.Name)).Select(t => byName[t.Name])
                .Concat(cache.Entries.Where(e => !modelNames!.Contains(e.Name))).ToList();
        // Only healthy ranges take part (a subnormal or absurd neighbour would drag the median and flag its neighbours).
        var logs = order.Select(e => flagsOf[e].Count == 0 ? Math.Log10(e.DynamicRange) : double.NaN).ToArray();
        var outlier = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < order.Count; i++)
        {
            if (double.IsNaN(logs[i])) continue;
            var near = Enumerable.Range(Math.Max(0, i - 4), Math.Min(order.Count, i + 5) - Math.Max(0, i - 4)).Where(j => j != i && !double.IsNaN(logs[j])).Select(j => logs[j]).Order().ToList();
            if (near.Count < 2) continue;
            double median = near.Count % 2 == 1 ? near[near.Count / 2] : (near[near.Count / 2 - 1] + near[near.Count / 2]) / 2;
            if (Math.Abs(logs[i] - median) > Math.Log10(OutlierFactor)) outlier.Add(order[i].Name);
        }
        var entries = cache.Entries.Select(e =>
        {
            var flags = flagsOf[e];
            if (outlier.Contains(e.Name)) flags.Add("outlier");
            Observation? obs = null;
            if (observed is not null && observed.TryGetValue(e.Name, out var h))
            {
                double range = e.DynamicRange;
                float seen = h.Infinities > 0 ? float.PositiveInfinity : h.AbsMax;
                obs = new Observation(seen, h.Count + h.Infinities, 100 * h.ClippedShare(range), range > 0 ? 100 * seen / range : double.PositiveInfinity);
                if (h.Infinities > 0 || h.NaNs > 0) flags.Add($"data holds {h.Infinities} infinite and {h.NaNs} NaN value(s)");
                if (obs.ClippedPercent > 0) flags.Add($"clips {Compare(obs.ClippedPercent)}% of values");
                if (obs.UsedPercent < 10) flags.Add("values use under 10% of the range");
            }
            return new EntryReport(e, flags, modelNames is null ? null : modelNames.Contains(e.Name), obs);
        }).ToList();
        if (observed is not null) entries = entries.OrderByDescending(r => r.Risk).ThenBy(r => r.Entry.Line).ToList();

        if (model is null) return new InspectionResult { Cache = cache, Entries = entries };
        var notInModel = cache.Entries.Where(e => !modelNames!.Contains(e.Name)).Select(e => e.Name).ToList();
        var shared = new List<IReadOnlyList<string>>();
        var topo = model.OrderBy(t => t.Position).Where(t => byName.ContainsKey(t.Name)).ToList();
        for (int i = 0; i < topo.Count;)
        {
            int j = i;
            while (j + 1 < topo.Count && byName[topo[j + 1].Name].ScaleBits == byName[topo[i].Name].ScaleBits) j++;
            if (j - i + 1 >= 3 && topo.Skip(i + 1).Take(j - i).Any(t => !PassThrough.Contains(t.Producer)))
                shared.Add(topo.Skip(i).Take(j - i + 1).Select(t => t.Name).ToList());
            i = j + 1;
        }
        return new InspectionResult
        {
            Cache = cache,
            Entries = entries,
            MissingFromCache = model.OrderBy(t => t.Position).Where(t => !byName.ContainsKey(t.Name)).Select(t => t.Name).ToList(),
            TensorRtInternal = notInModel.Where(n => TensorRtName().IsMatch(n)).ToList(),
            NotInModel = notInModel.Where(n => !TensorRtName().IsMatch(n)).ToList(),
            SharedRanges = shared,
        };
    }

    private static List<string> Flags(CacheEntry e)
    {
        var f = new List<string>();
        float s = e.Scale;
        if (float.IsNaN(s)) f.Add("NaN");
        else if (float.IsInfinity(s) || float.IsInfinity(e.DynamicRange)) f.Add("infinite");
        else if (s == 0) f.Add("zero");
        else
        {
            if (s < 0) f.Add("negative");
            if (float.IsSubnormal(s)) f.Add("subnormal");
            if (Math.Abs(e.DynamicRange) > AbsurdRange) f.Add("absurd");
        }
        return f;
    }

    private static string Compare(double pct) => pct >= 0.01 ? pct.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture) : pct.ToString("0.###e+0", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Per tensor in either cache: the ratio of ranges (B / A), sorted by the size of the change; entries on one side only listed apart.</summary>
    public static CacheDiff Diff(CalibrationCache a, CalibrationCache b)
    {
        var bb = b.ByName;
        var both = a.Entries.Where(e => bb.ContainsKey(e.Name)).Select(e =>
        {
            float ra = e.DynamicRange, rb = bb[e.Name].DynamicRange;
            double ratio = ra == rb ? 1 : ra == 0 ? double.PositiveInfinity : (double)rb / ra;
            return new RangeChange(e.Name, ra, rb, ratio);
        });
        static double Size(double r) => r > 0 && double.IsFinite(r) ? Math.Abs(Math.Log(r)) : double.PositiveInfinity;
        var changed = both.OrderByDescending(x => Size(x.Ratio)).ThenBy(x => x.Name, StringComparer.Ordinal).ToList();
        var aa = a.ByName;
        return new CacheDiff(changed, a.Entries.Where(e => !bb.ContainsKey(e.Name)).Select(e => e.Name).ToList(), b.Entries.Where(e => !aa.ContainsKey(e.Name)).Select(e => e.Name).ToList());
    }
}
