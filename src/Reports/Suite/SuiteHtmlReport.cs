using PolyNet.Jobs.Suite;

namespace PolyNet.Reports.Suite;

/// <summary>`suite run --report`: the comparator's HTML report with one section per case.</summary>
public sealed class SuiteHtmlReport : ReportWriter<SuiteResult>
{
    public static SuiteHtmlReport Default { get; } = new();
    public override string Name => "HTML";
    public override string Option => "--report";
    public override string Extension => ".html";
    public override string Description => "Write the HTML report, one section per case";
    public override bool ShowsPassingOutputs => true;

    /// <summary>"latency of onnxrt: median 0.8 ms, p99 1.2 ms (budgets …; baseline …): within budget" for the case's section.</summary>
    private static string LatencyNote(Jobs.Suite.CaseResult c, Jobs.Suite.LatencyResult l)
        => $"Latency of {l.Runner}: median {Format.Number(l.Latency.Median)} ms, p99 {Format.Number(l.Latency.P99)} ms over {l.Latency.Runs} runs"
            + (l.Budgets.Count > 0 ? $"; budgets {string.Join(", ", l.Budgets.Select(kv => $"{kv.Key} {Format.Number(kv.Value)} ms"))}" : "")
            + (l.Baseline is { } b ? $"; baseline median {Format.Number(b.BaselineMedian)} ms, {b.Describe(l.MaxSlowdown)}" : "")
            + (l.Passed ? ": within budget." : $": TOO SLOW ({l.Describe()}).");

    public override void Write(SuiteResult r, Stream stream)
        => HtmlReport.Write(stream, r.Cases.Select(c => new ReportSection(c.Case.Name, c.Result, c.Result is null ? c.Message : null, Note: c.Latency is { } l ? LatencyNote(c, l) : null)).ToList(),
            $"polynet suite run {SuiteText.Relative(r, r.Suite.Path)}");
}
