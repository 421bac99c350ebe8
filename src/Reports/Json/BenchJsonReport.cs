using System.Text.Json;
using PolyNet.Jobs;

namespace PolyNet.Reports.Json;

/// <summary>What `polynet bench` measured, and on what.</summary>
public sealed record BenchReport(string Model, bool WithCopies, int Warmup, IReadOnlyList<BenchRunnerResult> Runners)
{
    /// <summary>SHA-256 of the model file, hex: a later --baseline checks it is the same model.</summary>
    public string? ModelSha256 { get; init; }
    public string? OrtVersion { get; init; }
    /// <summary>The machine: CPU model and cores, GPU where there is one.</summary>
    public string? Device { get; init; }
    public IReadOnlyDictionary<string, string> InputShapes { get; init; } = new Dictionary<string, string>();
    public int Rounds { get; init; }
    public int Iterations { get; init; }
    /// <summary>Each runner against --baseline, when one was given.</summary>
    public IReadOnlyList<Jobs.Bench.BaselineVerdict>? Baseline { get; init; }
}

/// <summary>`polynet bench --json`.</summary>
public sealed class BenchJsonReport : ReportWriter<BenchReport>
{
    public static BenchJsonReport Default { get; } = new();
    public override string Name => "JSON";
    public override string Option => "--json";
    public override string Extension => ".json";
    public override string Description => "Write every measurement as JSON";

    public override void Write(BenchReport r, Stream stream)
        => JsonSerializer.Serialize(stream, new BenchReportDocument("polynet", ReportJson.ToolVersion, r.Model, r.ModelSha256, r.OrtVersion, r.Device, r.InputShapes,
            r.WithCopies, r.Warmup, r.Rounds, r.Iterations, r.Runners, r.Baseline), ReportJson.Default.BenchReportDocument);
}
