using System.Text.Json.Serialization;
using PolyNet.Calibration;
using PolyNet.Jobs.Layerwise;
using PolyNet.Jobs.Runs;
using PolyNet.Onnx.Json;
using PolyNet.Runners.Inspect.TensorRt;

namespace PolyNet.Reports.Json;

/// <summary>
/// The JSON documents PolyNet writes, serialized by System.Text.Json's source generator (no reflection, so trimmed
/// and single-file builds write them too). Names are snake_case; non-finite numbers are the strings "nan", "inf" and
/// "-inf"; durations are milliseconds; absent values are left out. The comparator's and the jobs' result records are
/// serialized as they are, so a metric added to a record appears in every JSON report without another line.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(NamedNonFiniteDoubleConverter), typeof(NamedNonFiniteSingleConverter), typeof(ElementTypeConverter), typeof(MillisecondsConverter),
        typeof(SnakeCaseEnumConverter<ErrorStat>), typeof(SnakeCaseEnumConverter<ComputePrecision>), typeof(SnakeCaseEnumConverter<Jobs.LogLevel>)])]
[JsonSerializable(typeof(RunReportDocument))]
[JsonSerializable(typeof(SuiteReportDocument))]
[JsonSerializable(typeof(BenchReportDocument))]
[JsonSerializable(typeof(CalibInspectDocument))]
[JsonSerializable(typeof(SensitivityDocument))]
[JsonSerializable(typeof(CapabilityDocument))]
internal sealed partial class ReportJson : JsonSerializerContext
{
    /// <summary>PolyNet's version, as every document states it.</summary>
    public static string? ToolVersion => typeof(ReportJson).Assembly.GetName().Version?.ToString(3);
}

/// <summary>`polynet run --json` and `polynet compare --json`.</summary>
/// <param name="Model">The model, or the files compared.</param>
public sealed record RunReportDocument(string Tool, string? Version, string Model, bool Passed, int Samples, IReadOnlyList<RunnerSummary> Runners,
    IReadOnlyList<PairResult> Comparisons, IReadOnlyList<string> FilesWritten, LayerwiseResult? Layerwise, string? LayerwiseProblem,
    [property: JsonPropertyName("peak_memory_bytes")] long PeakMemory, IReadOnlyList<ShapeSetResult>? ShapeSets);

/// <summary>`polynet suite run --json`. Paths are relative to the suite file.</summary>
public sealed record SuiteReportDocument(string Tool, string? Version, string Suite, string File, bool Passed, bool Interrupted, int ExitCode,
    [property: JsonPropertyName("duration_ms")] TimeSpan Duration, IReadOnlyList<SuiteCaseDocument> Cases, string? Shard = null, int? Selected = null);

/// <param name="GoldenUpdate">What --update-golden did: created, updated, unchanged.</param>
public sealed record SuiteCaseDocument(string Name, string Status, string? Message, string Model, string Golden, string? GoldenUpdate, IReadOnlyList<string> Tags,
    IReadOnlyList<string> Runners, [property: JsonPropertyName("duration_ms")] TimeSpan Duration, int? Samples, IReadOnlyList<PairResult>? Comparisons,
    IReadOnlyList<ShapeSetResult>? ShapeSets = null, IReadOnlyList<Jobs.LogEntry>? Log = null, Jobs.Suite.LatencyResult? Latency = null);

/// <summary>`polynet bench --json`: every runner's measurement, latencies in milliseconds.</summary>
public sealed record BenchReportDocument(string Tool, string? Version, string Model, string? ModelSha256, string? OrtVersion, string? Device, IReadOnlyDictionary<string, string> InputShapes,
    bool WithCopies, int Warmup, int Rounds, [property: JsonPropertyName("iterations_per_round")] int Iterations, IReadOnlyList<BenchRunnerResult> Runners, IReadOnlyList<Jobs.Bench.BaselineVerdict>? Baseline);

/// <summary>`polynet calib inspect --json`: the decoded header, every entry with its flags and what the data showed, what the model adds.</summary>
public sealed record CalibInspectDocument(string File, string Format, CalibHeaderDocument? Header, IReadOnlyList<CalibEntryDocument> Tensors,
    IReadOnlyList<string> MissingFromCache, [property: JsonPropertyName("tensorrt_internal")] IReadOnlyList<string> TensorRtInternal, IReadOnlyList<string> NotInModel,
    IReadOnlyList<IReadOnlyList<string>> SharedRanges);

/// <param name="Version">The header's raw number (8601, 100300).</param>
public sealed record CalibHeaderDocument(string Text, int Version, [property: JsonPropertyName("tensorrt_version")] string TensorRtVersion, string? Algorithm);

/// <param name="ScaleHex">The scale's float32 bits as TensorRT writes them.</param>
public sealed record CalibEntryDocument(string Name, int? Line, double Scale, string ScaleHex, double DynamicRange, IReadOnlyList<string> Flags, bool? InModel, Observation? Observed);

/// <summary>`polynet calib sensitivity --json`: each tensor's cost in accuracy, in the order listed.</summary>
/// <param name="Mode">"one" (one tensor quantized at a time) or "all-but-one".</param>
public sealed record SensitivityDocument(string Mode, IReadOnlyList<Sensitivity> Tensors);

/// <summary>`polynet inspect capability --json`: the engines TensorRT would build, the nodes that fall back and why, every node's verdict.</summary>
public sealed record CapabilityDocument(string Tool, string? Version, string Model, [property: JsonPropertyName("tensorrt_version")] string TensorRtVersion, string SupportTable,
    long? Opset, bool WholeModel, int NodeCount, int UnsupportedCount, IReadOnlyList<TrtPartition> Partitions, IReadOnlyList<TrtNodeVerdict> Unsupported,
    IReadOnlyList<string> CrossingTensors, IReadOnlyList<string> Caveats, [property: JsonPropertyName("tensorrt_check")] TrtRealCheck TensorRtCheck, IReadOnlyList<TrtNodeVerdict> Nodes);
