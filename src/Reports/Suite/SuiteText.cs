using System.Globalization;
using System.Text;
using PolyNet.Jobs.Suite;

namespace PolyNet.Reports.Suite;

/// <summary>
/// What every suite report says the same way: status words, paths relative to the suite file, durations in seconds,
/// and a case's details (each output's verdict, then what the case logged, progress and timings left out so that two
/// runs of a suite write the same bytes apart from durations).
/// </summary>
public static class SuiteText
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Word(CaseStatus s) => s switch
    {
        CaseStatus.Passed => "passed",
        CaseStatus.Failed => "failed",
        CaseStatus.BadInput => "bad input",
        CaseStatus.TooSlow => "too slow",
        _ => "runner failed",
    };

    /// <summary>Per failing output: which runners, how far off, what would pass. Then the case's log.</summary>
    public static string Details(CaseResult c)
    {
        var b = new StringBuilder();
        if (c.Result is { } res)
            foreach (var p in res.Pairs)
            {
                foreach (var o in p.Outputs)
                {
                    b.Append(Inv, $"{(o.Passed ? "PASSED" : "FAILED")} {o.Output} ({p.Candidate} vs {p.Reference}, sample {p.Sample}): {o.Reason}");
                    if (o.Metrics is { Count: > 0 } m && !o.Exact)
                        b.Append(Inv, $"; max abs {Format.Number(m.AbsError.Max)}, max rel {Format.Number(m.RelError.Max)}, tolerance {o.Tolerance}; passes with atol >= {Format.Number(m.NeededAtol)} or rtol >= {Format.Number(m.NeededRtol)}");
                    b.Append('\n');
                }
                foreach (var m in p.MissingInCandidate) b.Append(Inv, $"FAILED {m}: {p.Reference} has it, {p.Candidate} does not\n");
            }
        if (c.Latency is { } lat)
        {
            var l = lat.Latency;
            b.Append(Inv, $"{(lat.Passed ? "PASSED" : "FAILED")} latency of {lat.Runner}: median {l.Median:0.###} ms, p90 {l.P90:0.###}, p99 {l.P99:0.###}, max {l.Max:0.###} ms over {l.Runs} runs (round medians' spread {100 * lat.Spread:0.0}%)");
            if (lat.Budgets.Count > 0) b.Append(Inv, $"; budgets {string.Join(", ", lat.Budgets.Select(kv => $"{kv.Key} {kv.Value:0.###} ms"))}");
            if (lat.Baseline is { } v) b.Append(Inv, $"; baseline median {v.BaselineMedian:0.###} ms, {v.Describe(lat.MaxSlowdown)}");
            b.Append('\n');
        }
        foreach (var line in c.Log.Where(l => l.Level is Jobs.LogLevel.Info or Jobs.LogLevel.Warning))
            b.Append(Inv, $"[{(line.Level == Jobs.LogLevel.Warning ? "W" : "I")}] {line.Message}\n");
        return b.ToString();
    }

    public static string Relative(SuiteResult r, string path) => Path.GetRelativePath(Path.GetDirectoryName(r.Suite.Path)!, path).Replace('\\', '/');
    public static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.000", Inv);
    public static string Cell(string s) => s.Replace("|", "\\|").ReplaceLineEndings(" ");
}
