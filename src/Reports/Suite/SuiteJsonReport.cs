using System.Text.Json;
using PolyNet.Jobs.Suite;
using PolyNet.Reports.Json;
using static PolyNet.Reports.Suite.SuiteText;

namespace PolyNet.Reports.Suite;

/// <summary>`suite run --json`: every case with its status, and every comparison with every metric (the run report's pair records).</summary>
public sealed class SuiteJsonReport : ReportWriter<SuiteResult>
{
    public static SuiteJsonReport Default { get; } = new();
    public override string Name => "JSON";
    public override string Option => "--json";
    public override string Extension => ".json";
    public override string Description => "Write every case, comparison and metric as JSON";

    public override void Write(SuiteResult r, Stream stream)
    {
        var cases = r.Cases.Select(c => new SuiteCaseDocument(c.Case.Name, Word(c.Status), c.Message, Relative(r, c.Case.Model), Relative(r, c.Case.Golden), c.Golden,
            c.Case.Tags, c.Case.Runners.Select(s => s.Text).ToList(), c.Duration, c.Result?.Samples, c.Result?.Pairs, c.Result?.ShapeSets,
            c.Log.Where(l => l.Level is Jobs.LogLevel.Info or Jobs.LogLevel.Warning).ToList(), c.Latency)).ToList();
        var doc = new SuiteReportDocument("polynet", ReportJson.ToolVersion, r.Suite.Name, Relative(r, r.Suite.Path), r.ExitCode == ExitCodes.Success && !r.Interrupted,
            r.Interrupted, r.ExitCode, r.Duration, cases, r.Shard?.ToString(), r.Selected);
        JsonSerializer.Serialize(stream, doc, ReportJson.Default.SuiteReportDocument);
    }
}
