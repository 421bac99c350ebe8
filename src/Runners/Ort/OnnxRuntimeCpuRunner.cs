using PolyNet.Onnx;
using PolyNet.Onnx.Transforms;
using PolyNet.Runners.Inspect;
using PolyNet.Runners.Native;
using PolyNet.Runners.Specs;

namespace PolyNet.Runners.Ort;

/// <summary>
/// The reference runner: ONNX Runtime's CPU execution provider (`--runner onnxrt[:key=value,...]`). With
/// <c>precision=fp16</c> it emulates a float16 engine on any machine: the model is converted to compute in float16
/// inside (<see cref="Float16Conversion"/>), nodes the CPU provider has no float16 kernel for stay in float32 with casts
/// around them, and the runner's notes list them.
/// </summary>
public sealed class OnnxRuntimeCpuRunner : OrtRunner
{
    public const string Kind = "onnxrt";

    public static readonly IReadOnlyList<RunnerKey> PrecisionKeys =
    [
        new("precision", "fp32|fp16", "fp16: emulate a float16 engine (float32 weights and tensors become float16 inside; inputs and outputs keep their types)"),
        new("fp32_ops", "OP+OP...", "with precision=fp16: op types to keep in float32, e.g. fp32_ops=Exp+Softmax"),
    ];

    /// <summary>The keys `onnxrt` accepts: the shared session keys and the precision keys.</summary>
    public static IReadOnlyList<RunnerKey> AcceptedKeys { get; } = [.. SessionKeys, .. PrecisionKeys];

    private readonly string _precision;

    public OnnxRuntimeCpuRunner(RunnerSpec spec, RunnerContext context) : base(spec, context, AcceptedKeys)
    {
        _precision = Keys.GetChoice("precision", "fp32", "fp16") ?? "fp32";
        if (Keys.Get("fp32_ops") is not null && _precision != "fp16")
            throw new InvalidInputException($"--runner {spec.Text}: fp32_ops applies to precision=fp16 only");
    }

    public override ComputePrecision Precision => _precision == "fp16" ? ComputePrecision.Fp16 : ComputePrecision.Fp32;

    protected override void ConfigureProvider(OrtRuntime runtime, OrtSessionOptionsHandle options)
        => Note($"ONNX Runtime {runtime.Version}, CPU execution provider");

    protected override OnnxModel? PrepareModel(OnnxModel model)
    {
        if (_precision != "fp16") return base.PrepareModel(model);
        var keep = (Keys.Get("fp32_ops") ?? "").Split('+', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        var types = OrtTypes.Infer(model);
        var probe = new OrtKernelProbe(model);
        var r = Float16Conversion.Convert(model, types, probe, Context.ExtraOutputs, keep);
        var compute32 = r.Kept.Where(k => k.Mode == Float16Mode.Float32Compute).ToList();
        var asked = r.Kept.Where(k => k.Mode == Float16Mode.Float32).ToList();
        Note($"float16 emulation: {r.Native} node(s) on float16 kernels, {compute32.Count} computing in float32 between float16 tensors, {asked.Count} kept in float32 as asked, {r.Casts} cast(s)"
             + (r.ClampedWeights > 0 ? $", {r.ClampedWeights} weight value(s) beyond ±65504 clamped" : ""));
        if (compute32.Count > 0)
            Note("in float32 between float16 tensors: " + string.Join(", ", compute32.GroupBy(k => (k.OpType, k.Reason)).Select(grp => $"{grp.Key.OpType} ×{grp.Count()} ({grp.Key.Reason})")));
        if (asked.Count > 0)
            Note("in float32: " + string.Join(", ", asked.GroupBy(k => k.OpType).Select(grp => $"{grp.Key} ×{grp.Count()}")));
        KeptFloat32 = r.Kept;
        return r.Model;
    }

    /// <summary>With precision=fp16, after activation: the nodes left in float32.</summary>
    public IReadOnlyList<KeptNode> KeptFloat32 { get; private set; } = [];
}
