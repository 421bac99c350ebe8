using PolyNet.Jobs.Runs;
using PolyNet.Runners.Inspect.TensorRt;

namespace PolyNet.Reports;

/// <summary>What a report of one run (or offline comparison) shows: the result, what was compared, and the command.</summary>
/// <param name="Source">The model, or the files compared.</param>
/// <param name="Title">The command line, shown as the report's title.</param>
public sealed record RunReport(RunJobResult Result, string Source, string Title)
{
    /// <summary>With a trt runner in the run: which nodes TensorRT's ONNX parser takes (the static answer), for the HTML report.</summary>
    public TrtCapabilityResult? Capability { get; init; }
}
