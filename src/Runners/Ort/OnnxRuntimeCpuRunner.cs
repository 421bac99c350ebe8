using PolyNet.Runners.Native;
using PolyNet.Runners.Specs;

namespace PolyNet.Runners.Ort;

/// <summary>
/// The reference runner: ONNX Runtime's CPU execution provider (`--runner onnxrt[:key=value,...]`). With
/// <c>precision=fp16</c> it emulates a float16 engine on any machine (see <see cref="OrtRunner"/>): nodes the CPU
/// provider has no native float16 kernel for compute in float32 between float16 tensors.
/// </summary>
public sealed class OnnxRuntimeCpuRunner(RunnerSpec spec, RunnerContext context) : OrtRunner(spec, context, AcceptedKeys)
{
    public const string Kind = "onnxrt";

    public static RunnerKind Definition => new(Kind, "ONNX Runtime, CPU execution provider (the reference)", AcceptedKeys, UsesGpu: false, (s, c) => new OnnxRuntimeCpuRunner(s, c));

    /// <summary>The keys `onnxrt` accepts: the shared session keys and the precision keys.</summary>
    public static IReadOnlyList<RunnerKey> AcceptedKeys { get; } = [.. SessionKeys, .. PrecisionKeys];

    protected override void ConfigureProvider(OrtRuntime runtime, OrtSessionOptionsHandle options)
        => Note($"ONNX Runtime {runtime.Version}, CPU execution provider");
}
