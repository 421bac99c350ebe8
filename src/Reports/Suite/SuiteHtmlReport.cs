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

    public override void Write(SuiteResult r, Stream stream)
        => HtmlReport.Write(stream, r.Cases.Select(c => new ReportSection(c.Case.Name, c.Result, c.Result is null ? c.Message : null)).ToList(),
            $"polynet suite run {SuiteText.Relative(r, r.Suite.Path)}");
}
