using System.Globalization;
using PolyNet.Jobs.Bench;
using PolyNet.Runners.Specs;

namespace PolyNet.Jobs.Suite;

/// <summary>
/// A case's `latency:`: which runner is timed, against its baseline beside the golden outputs (GOLDEN.latency.json,
/// written by --update-golden) with the bench's significance test and a maximum slowdown, and/or absolute budgets per
/// percentile in milliseconds.
/// </summary>
public sealed record LatencyBudget
{
    /// <summary>The case's runner that is timed (default: its first).</summary>
    public required RunnerSpec Runner { get; init; }
    public bool Baseline { get; init; }
    public double MaxSlowdown { get; init; } = 0.05;
    /// <summary>Budgets by percentile name ("p50", "p90", "p95", "p99", "max"), ms.</summary>
    public IReadOnlyDictionary<string, double> Budgets { get; init; } = new Dictionary<string, double>();
    public int Iterations { get; init; } = 100;
    public int Rounds { get; init; } = 5;

    public static readonly string[] Percentiles = ["p50", "p90", "p95", "p99", "max"];

    public static double Of(Latency l, string percentile) => percentile switch
    {
        "p50" => l.Median,
        "p90" => l.P90,
        "p95" => l.P95,
        "p99" => l.P99,
        _ => l.Max,
    };

    /// <summary>GOLDEN.npz's latency baseline: GOLDEN.latency.json.</summary>
    public static string BaselinePath(string golden) => Path.ChangeExtension(golden, null) + ".latency.json";
}

/// <summary>What a case's latency check measured and decided.</summary>
/// <param name="Exceeded">Each budget exceeded, "p99 6.2 ms > 5 ms".</param>
/// <param name="BaselineUpdate">What --update-golden did to the baseline file: created, updated.</param>
/// <param name="Spread">The round medians' spread: the measurement's own noise.</param>
public sealed record LatencyResult(string Runner, [property: System.Text.Json.Serialization.JsonPropertyName("latency_ms")] Latency Latency,
    IReadOnlyDictionary<string, double> Budgets, IReadOnlyList<string> Exceeded, BaselineVerdict? Baseline, double MaxSlowdown, string? BaselineUpdate, double Spread)
{
    public bool Passed => Exceeded.Count == 0 && Baseline?.Fails != true;

    /// <summary>One line: what is too slow and by how much.</summary>
    public string Describe() => string.Join("; ", Exceeded.Concat(Baseline is { Fails: true } b
        ? [string.Create(CultureInfo.InvariantCulture, $"median {b.Median:0.###} ms against the baseline's {b.BaselineMedian:0.###} ms: {b.Describe(MaxSlowdown)}")] : []));
}
