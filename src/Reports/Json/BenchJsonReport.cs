using System.Text.Json;
using PolyNet.Jobs;

namespace PolyNet.Reports.Json;

/// <summary>What `polynet bench` measured, and on what.</summary>
public sealed record BenchReport(string Model, bool WithCopies, int Warmup, IReadOnlyList<BenchRunnerResult> Runners);

/// <summary>`polynet bench --json`.</summary>
public sealed class BenchJsonReport : ReportWriter<BenchReport>
{
    public static BenchJsonReport Default { get; } = new();
    public override string Name => "JSON";
    public override string Option => "--json";
    public override string Extension => ".json";
    public override string Description => "Write every measurement as JSON";

    public override void Write(BenchReport r, Stream stream)
        => JsonSerializer.Serialize(stream, new BenchReportDocument("polynet", ReportJson.ToolVersion, r.Model, r.WithCopies, r.Warmup, r.Runners), ReportJson.Default.BenchReportDocument);
}
