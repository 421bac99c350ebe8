using PolyNet.Calibration;
using PolyNet.Tests;
using Xunit;

namespace PolyNet.Calibration.Tests;

public class InspectionTests
{
    private static CalibrationCache Cache(params (string Name, float Range)[] entries) =>
        new() { Version = new TrtVersion(8601), Algorithm = "EntropyCalibration2", Entries = entries.Select(e => CacheEntry.FromRange(e.Name, e.Range)).ToList() };

    [Fact]
    public void Every_kind_of_bad_range_is_flagged_and_ordinary_ones_are_not()
    {
        var c = CacheReader.Read(Path.Combine(TestPaths.Fixtures, "calib", "flags.cache"));
        var r = CacheInspection.Inspect(c).Entries.ToDictionary(e => e.Entry.Name, e => e.Flags);
        Assert.Contains("infinite", r["infinite"]);
        Assert.Contains("NaN", r["nan"]);
        Assert.Contains("zero", r["zero"]);
        Assert.Contains("subnormal", r["subnormal"]);
        Assert.Contains("negative", r["negative"]);
        Assert.Contains("absurd", r["absurd"]);
        Assert.Equal(["outlier"], r["outlier"]);
        foreach (var ok in new[] { "a", "b", "c", "d", "e" }) Assert.Empty(r[ok]);
    }

    [Fact]
    public void Against_a_model_missing_internal_foreign_and_shared_ranges_are_listed()
    {
        ModelTensor[] model =
        [
            new("x", -1, ""), new("conv", 0, "Conv"), new("bn", 1, "BatchNormalization"), new("relu", 2, "Relu"),
            new("add", 3, "Add"), new("pool", 4, "MaxPool"), new("flat", 5, "Flatten"), new("prob", 6, "Softmax"),
        ];
        var c = Cache(("x", 1), ("conv", 4), ("bn", 4), ("relu", 4), ("add", 4), ("pool", 2), ("flat", 2),
            ("(Unnamed Layer* 3) [Shuffle]_output", 2), ("ONNXTRT_Broadcast_12", 1), ("stale_tensor", 1));
        var r = CacheInspection.Inspect(c, model);
        Assert.Equal(["prob"], r.MissingFromCache);
        Assert.Equal(["(Unnamed Layer* 3) [Shuffle]_output", "ONNXTRT_Broadcast_12"], r.TensorRtInternal);
        Assert.Equal(["stale_tensor"], r.NotInModel);
        // conv → bn → relu → add share a range across ops that change values; pool → flat only pass values through.
        Assert.Equal(["conv", "bn", "relu", "add"], Assert.Single(r.SharedRanges));
        Assert.Equal(true, r.Entries.Single(e => e.Entry.Name == "x").InModel);
        Assert.Equal(false, r.Entries.Single(e => e.Entry.Name == "stale_tensor").InModel);
    }

    [Fact]
    public void Observed_values_give_clipping_and_use_of_the_range_sorted_by_risk()
    {
        var c = Cache(("wide", 100), ("fits", 2), ("clipped", 1));
        var values = Enumerable.Range(0, 1000).Select(i => i / 500f).ToArray(); // 0 .. 1.998
        var obs = new Dictionary<string, TensorHistogram>();
        foreach (var n in new[] { "wide", "fits", "clipped" })
        {
            obs[n] = new TensorHistogram();
            obs[n].Add(values);
        }
        var r = CacheInspection.Inspect(c, observed: obs).Entries;
        Assert.Equal(["clipped", "wide", "fits"], r.Select(e => e.Entry.Name));
        var clipped = r[0].Observed!;
        Assert.InRange(clipped.ClippedPercent, 49, 50); // values above 1 (bins wholly above the range)
        Assert.Contains(r[0].Flags, f => f.StartsWith("clips ", StringComparison.Ordinal));
        Assert.Equal(0, r[2].Observed!.ClippedPercent);
        Assert.InRange(r[1].Observed!.UsedPercent, 1.99, 2.0);
        Assert.Contains("values use under 10% of the range", r[1].Flags);
        Assert.Equal(1000, r[2].Observed!.Count);
    }

    [Fact]
    public void Diff_orders_by_size_of_change_and_lists_one_sided_entries()
    {
        var a = Cache(("p", 1), ("q", 2), ("r", 4), ("gone", 1));
        var b = Cache(("p", 1), ("q", 8), ("r", 2), ("new", 3));
        var (changed, onlyA, onlyB) = CacheInspection.Diff(a, b);
        Assert.Equal(["q", "r", "p"], changed.Select(x => x.Name));
        Assert.Equal(4, changed[0].Ratio, 6);
        Assert.Equal(0.5, changed[1].Ratio, 6);
        Assert.Equal(1, changed[2].Ratio);
        Assert.Equal(["gone"], onlyA);
        Assert.Equal(["new"], onlyB);
    }
}
