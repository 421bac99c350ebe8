using PolyNet.Jobs.Suite;
using PolyNet.Reports.Capability;
using PolyNet.Reports.Json;
using PolyNet.Reports.Suite;

namespace PolyNet.Reports;

/// <summary>
/// Every report format of every command, one line each. A command offers an option for each writer of its list
/// and writes each one asked for; a new format is its writer class and one line here.
/// </summary>
public static class ReportFormats
{
    /// <summary>`polynet run` and `polynet compare`.</summary>
    public static IReadOnlyList<ReportWriter<RunReport>> Run { get; } = [JsonRunReport.Default, HtmlReport.Default];

    /// <summary>`polynet suite run`.</summary>
    public static IReadOnlyList<ReportWriter<SuiteResult>> Suite { get; } = [JUnitReport.Default, MarkdownReport.Default, SuiteHtmlReport.Default, SuiteJsonReport.Default];

    /// <summary>`polynet bench`.</summary>
    public static IReadOnlyList<ReportWriter<BenchReport>> Bench { get; } = [BenchJsonReport.Default];

    /// <summary>`polynet calib inspect`.</summary>
    public static IReadOnlyList<ReportWriter<CalibInspectReport>> CalibInspect { get; } = [CalibInspectJsonReport.Default];

    /// <summary>`polynet inspect capability`.</summary>
    public static IReadOnlyList<ReportWriter<CapabilityReport>> Capability { get; } = [CapabilityJsonReport.Default, CapabilityHtmlReport.Default];

    /// <summary>`polynet calib sensitivity`.</summary>
    public static IReadOnlyList<ReportWriter<SensitivityReport>> Sensitivity { get; } = [SensitivityJsonReport.Default];
}
