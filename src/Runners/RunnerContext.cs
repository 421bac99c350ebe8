using PolyNet.Onnx;

namespace PolyNet.Runners;

/// <summary>
/// What a runner runs: the model as loaded, plus extra tensors to expose as outputs (layerwise comparison).
/// Runners that change the model (precision emulation, marked outputs) serialize their copy; others let
/// ONNX Runtime read the file itself, which is what a user running ORT directly would do.
/// </summary>
public sealed class RunnerContext
{
    public required OnnxModel Model { get; init; }
    /// <summary>Intermediate tensors to add as outputs, in this order, after the model's own outputs.</summary>
    public IReadOnlyList<string> ExtraOutputs { get; init; } = [];
    /// <summary>Where the back end's own log messages go (ONNX Runtime's warnings and errors); null: nowhere.</summary>
    public Action<Native.OrtLogLevel, string>? Log { get; init; }
    /// <summary>
    /// The input shape sets this run will feed when it sweeps several (repeated --input-shapes); empty otherwise. A
    /// runner that builds for a range of shapes (TensorRT's optimization profile) spans them.
    /// </summary>
    public IReadOnlyList<IReadOnlyDictionary<string, Onnx.TensorShape>> ShapeSets { get; init; } = [];
}
