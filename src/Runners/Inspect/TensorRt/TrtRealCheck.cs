using PolyNet.Onnx;
using PolyNet.Runners.Ort;
using PolyNet.Runners.Specs;

namespace PolyNet.Runners.Inspect.TensorRt;

/// <summary>
/// The static answer checked against the real one: ONNX Runtime's TensorRT provider asked to build the whole model
/// with no CPU fallback (trt:fallback=0). <see cref="Available"/> false says why it could not be asked (no GPU, no
/// TensorRT, no provider); otherwise <see cref="WholeModelBuilt"/> is TensorRT's answer and <see cref="Differences"/>
/// says where it and the static one disagree.
/// </summary>
public sealed record TrtRealCheck(bool Available, string? Missing, bool? WholeModelBuilt, string? Error, IReadOnlyList<string> Differences)
{
    public static TrtRealCheck Run(OnnxModel model, TrtCapabilityResult staticAnswer)
    {
        using var runner = RunnerRegistry.Create(RunnerSpec.Parse("trt:fallback=0,name=tensorrt"), new RunnerContext { Model = model });
        if (runner is TensorRtRunner trt && trt.WhatIsMissing(Native.OrtRuntime.Current) is { } missing)
            return new(false, missing, null, null, []);
        bool built;
        string? error = null;
        try
        {
            runner.Activate();
            built = true;
        }
        catch (RunnerException e)
        {
            built = false;
            error = e.Message;
        }
        var differences = new List<string>();
        if (built && !staticAnswer.WholeModel)
            differences.Add($"TensorRT built the whole model, but the static check found {staticAnswer.Unsupported.Count} unsupported node(s) (first {staticAnswer.Unsupported[0].Name}: {staticAnswer.Unsupported[0].Reasons[0]})");
        if (!built && staticAnswer.WholeModel)
            differences.Add($"the static check found every node supported, but TensorRT could not build the whole model: {error}");
        return new(true, null, built, error, differences);
    }
}
