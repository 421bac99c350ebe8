using PolyNet.Reduce;
using Xunit;

namespace PolyNet.Reduce.Tests;

public class SearchTests
{
    /// <summary>A test that fails when every node of <paramref name="needed"/> is present, counting distinct sets asked (callers cache).</summary>
    private sealed class Oracle(params int[] needed)
    {
        private readonly HashSet<string> _asked = [];
        public int Checks => _asked.Count;
        public bool Fails(IReadOnlyList<int> nodes)
        {
            _asked.Add(string.Join(",", nodes));
            return needed.All(nodes.Contains);
        }
    }

    private static int Log2(int n) => (int)Math.Ceiling(Math.Log2(n));

    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 1)]
    [InlineData(7, 3)]
    [InlineData(100, 0)]
    [InlineData(100, 99)]
    [InlineData(1000, 617)]
    [InlineData(10000, 4242)]
    public void Ddmin_isolates_a_single_culprit_in_log2_n_plus_one_checks(int n, int culprit)
    {
        var oracle = new Oracle(culprit);
        var result = Search.Ddmin(Enumerable.Range(0, n).ToList(), oracle.Fails);
        Assert.Equal([culprit], result);
        Assert.True(oracle.Checks <= Log2(Math.Max(n, 2)) + 1, $"{oracle.Checks} checks for N = {n}");
    }

    [Theory]
    [InlineData(100, 10, 60)]
    [InlineData(1000, 3, 4)]
    [InlineData(1000, 250, 750)]
    public void Ddmin_finds_two_nodes_that_fail_only_together(int n, int a, int b)
    {
        var oracle = new Oracle(a, b);
        var result = Search.Ddmin(Enumerable.Range(0, n).ToList(), oracle.Fails);
        Assert.Equal([a, b], result);
        Assert.True(oracle.Checks < 8 * Log2(n), $"{oracle.Checks} checks");
    }

    [Fact]
    public void Classic_ddmin_is_one_minimal_for_three_nodes()
    {
        var oracle = new Oracle(5, 17, 31);
        Assert.Equal([5, 17, 31], Search.Classic(Enumerable.Range(0, 40).ToList(), oracle.Fails));
    }

    /// <summary>A chain whose failure appears at node c and persists downstream: prefixes [0..k] fail iff k ≥ c, ranges [j..k] iff j ≤ c ≤ k.</summary>
    private sealed class ChainOracle(int c)
    {
        public int Checks { get; private set; }
        public bool Fails(IReadOnlyList<int> nodes)
        {
            Checks++;
            return nodes.Contains(c);
        }
    }

    [Theory]
    [InlineData(1000, 500)]
    [InlineData(1000, 0)]
    [InlineData(1000, 999)]
    [InlineData(10000, 1234)]
    public void Bisect_takes_log2_n_plus_log2_m_checks_and_linear_n_plus_m(int n, int c)
    {
        var order = Enumerable.Range(0, n).ToList();
        var bisect = new ChainOracle(c);
        Assert.Equal([c], Search.Bisect(order, bisect.Fails));
        Assert.True(bisect.Checks <= Log2(n) + Log2(c + 1) + 1, $"{bisect.Checks} checks");
        if (n > 1000) return;
        var linear = new ChainOracle(c);
        Assert.Equal([c], Search.Linear(order, linear.Fails));
        Assert.Equal(n - 1 + (c > 0 ? 1 : 0), linear.Checks); // one per node removed from either side, and the check that stops each side
    }
}
