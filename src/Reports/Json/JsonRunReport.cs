using System.Text.Json;

namespace PolyNet.Reports.Json;

/// <summary>`--json FILE` of run and compare: every runner, every comparison with every metric, the layerwise pass.</summary>
public sealed class JsonRunReport : ReportWriter<RunReport>
{
    public static JsonRunReport Default { get; } = new();
    public override string Name => "JSON";
    public override string Option => "--json";
    public override string Extension => ".json";
    public override string Description => "Write every result and metric as JSON";

    public override void Write(RunReport report, Stream stream)
    {
        var r = report.Result;
        var doc = new RunReportDocument("polynet", ReportJson.ToolVersion, report.Source, r.Passed, r.Samples, r.Runners, r.Pairs, r.FilesWritten, r.Layerwise, r.LayerwiseProblem, r.PeakMemory, r.ShapeSets);
        JsonSerializer.Serialize(stream, doc, ReportJson.Default.RunReportDocument);
    }
}
