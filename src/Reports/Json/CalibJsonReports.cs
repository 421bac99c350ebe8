using System.Globalization;
using System.Text.Json;
using PolyNet.Calibration;
using PolyNet.Jobs;

namespace PolyNet.Reports.Json;

/// <summary>A cache inspection and the file it is of.</summary>
public sealed record CalibInspectReport(string File, InspectionResult Inspection);

/// <summary>`polynet calib inspect --json`.</summary>
public sealed class CalibInspectJsonReport : ReportWriter<CalibInspectReport>
{
    public static CalibInspectJsonReport Default { get; } = new();
    public override string Name => "JSON";
    public override string Option => "--json";
    public override string Extension => ".json";
    public override string Description => "Write one object per tensor (name, scale, dynamic_range, flags, ...) and the decoded header";

    public override void Write(CalibInspectReport report, Stream stream)
    {
        var r = report.Inspection;
        var c = r.Cache;
        var header = c.Format == CacheFormat.TensorRt && c.Version is { } v ? new CalibHeaderDocument(c.Header, v.Raw, v.ToString(), c.Algorithm) : null;
        var entries = r.Entries.Select(e => new CalibEntryDocument(e.Entry.Name, e.Entry.Line > 0 ? e.Entry.Line : null, e.Entry.Scale, e.Entry.ScaleBits.ToString("x", CultureInfo.InvariantCulture),
            e.Entry.DynamicRange, e.Flags, e.InModel, e.Observed)).ToList();
        var doc = new CalibInspectDocument(report.File, c.Format.ToString(), header, entries, r.MissingFromCache, r.TensorRtInternal, r.NotInModel, r.SharedRanges);
        JsonSerializer.Serialize(stream, doc, ReportJson.Default.CalibInspectDocument);
    }
}

/// <summary>A sensitivity analysis: which mode, and every tensor ranked.</summary>
public sealed record SensitivityReport(bool AllButOne, IReadOnlyList<Sensitivity> Tensors);

/// <summary>`polynet calib sensitivity --json`.</summary>
public sealed class SensitivityJsonReport : ReportWriter<SensitivityReport>
{
    public static SensitivityJsonReport Default { get; } = new();
    public override string Name => "JSON";
    public override string Option => "--json";
    public override string Extension => ".json";
    public override string Description => "Write every tensor's error as JSON";

    public override void Write(SensitivityReport r, Stream stream)
        => JsonSerializer.Serialize(stream, new SensitivityDocument(r.AllButOne ? "all-but-one" : "one", r.Tensors), ReportJson.Default.SensitivityDocument);
}
