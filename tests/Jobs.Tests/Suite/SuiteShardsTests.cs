using PolyNet.Jobs.Suite;
using PolyNet.Tests;
using Xunit;

namespace PolyNet.Jobs.Tests.Suite;

public class SuiteShardsTests
{
    private static IReadOnlyList<SuiteCase> Cases(int n)
    {
        using var dir = new TempDir();
        var yaml = "cases:\n" + string.Concat(Enumerable.Range(0, n).Select(i => $"  - name: c{i}\n    model: {TestPaths.Fixtures}/models/mlp.onnx\n"));
        File.WriteAllText(dir.File("s.yaml"), yaml);
        return SuiteFile.Load(dir.File("s.yaml")).Cases;
    }

    [Theory]
    [InlineData(7, 3)]
    [InlineData(2, 4)]
    [InlineData(10, 1)]
    public void Every_case_runs_on_exactly_one_shard(int cases, int shards)
    {
        var all = Cases(cases);
        var picked = Enumerable.Range(1, shards).SelectMany(i => SuiteShards.Pick(all, new SuiteShard(i, shards))).Select(c => c.Name).ToList();
        Assert.Equal(all.Select(c => c.Name).Order(), picked.Order());
        Assert.Equal(["c0", "c3", "c6"], SuiteShards.Pick(Cases(7), new SuiteShard(1, 3)).Select(c => c.Name));  // dealt in suite order
    }

    [Fact]
    public void Known_run_times_balance_the_shards_longest_first_and_unknown_cases_count_as_the_median()
    {
        var all = Cases(5);
        var times = new Dictionary<string, TimeSpan> { ["c0"] = TimeSpan.FromSeconds(10), ["c1"] = TimeSpan.FromSeconds(6), ["c2"] = TimeSpan.FromSeconds(5), ["c3"] = TimeSpan.FromSeconds(1) };
        // c4 unknown counts as the median of known times (6 s, the upper median). Longest first: c0→1, c1→2, c4→2, c2→1, c3→2.
        var a = SuiteShards.Assign(all, 2, times);
        Assert.Equal([1, 2, 1, 2, 2], a.Select(x => x.Shard));
        Assert.Equal(a, SuiteShards.Assign(all, 2, times));  // deterministic
    }

    [Theory]
    [InlineData("0/3")]
    [InlineData("4/3")]
    [InlineData("1/0")]
    [InlineData("a/b")]
    [InlineData("2")]
    public void Bad_shard_specs_are_refused(string spec)
        => Assert.Contains("expected I/N", Assert.Throws<InvalidInputException>(() => SuiteShard.Parse(spec)).Message);
}
