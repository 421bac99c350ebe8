using PolyNet.Runners.Native;
using PolyNet.Runners.Specs;

namespace PolyNet.Runners.Ort;

/// <summary>The reference runner: ONNX Runtime's CPU execution provider (`--runner onnxrt[:key=value,...]`).</summary>
public sealed class OnnxRuntimeCpuRunner(RunnerSpec spec, RunnerContext context) : OrtRunner(spec, context, AcceptedKeys)
{
    public const string Kind = "onnxrt";

    /// <summary>The keys `onnxrt` accepts: the shared session keys.</summary>
    public static IReadOnlyList<RunnerKey> AcceptedKeys => SessionKeys;

    protected override void ConfigureProvider(OrtRuntime runtime, OrtSessionOptionsHandle options)
        => Note($"ONNX Runtime {runtime.Version}, CPU execution provider");
}
