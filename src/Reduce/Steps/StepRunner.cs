using PolyNet.Jobs;
using PolyNet.Runners.Specs;

namespace PolyNet.Reduce.Steps;

/// <summary>A subgraph ready to check: the model, its inputs per sample, and the reference's values of its outputs.</summary>
public sealed record Subject(Onnx.Transforms.Extracted Graph, IReadOnlyList<ValueMap> Inputs, IReadOnlyList<ValueMap>? ExpectedOutputs);

/// <summary>One check's verdict: does the subgraph still fail, and why (one line).</summary>
/// <param name="Crashed">The runner crashed the worker process that ran the check (a native crash, not a verdict of PolyNet's).</param>
/// <param name="TimedOut">An inference of the check was stopped by --timeout.</param>
public sealed record Outcome(bool Fails, string Cause, bool Crashed = false, bool TimedOut = false);

/// <summary>
/// The steps of a reduction that run a model, and so can crash the process in native code: inferring types, the
/// reference's values of cut tensors, the layerwise pass with localization, and each check. They run in this process
/// (<see cref="InProcessSteps"/>) or each in a worker process (<see cref="IsolatedSteps"/>, `reduce --isolate`),
/// which answers with the same types.
/// </summary>
public interface IStepRunner
{
    /// <summary>Types and shapes ONNX Runtime infers; a <see cref="Runners.RunnerException"/> when it cannot build the model.</summary>
    IReadOnlyDictionary<string, ValueSpec> Types(OnnxModel model);

    /// <summary>The reference's values of <paramref name="tensors"/>, per sample; a <see cref="Runners.RunnerException"/> when it cannot run the model.</summary>
    IReadOnlyList<ValueMap> Values(OnnxModel model, RunnerSpec reference, IReadOnlyList<ValueMap> samples, IReadOnlyList<string> tensors);

    /// <summary>The layerwise pass and localization of <paramref name="candidate"/> against <paramref name="reference"/> on one sample.</summary>
    LocalizeAnswer Localize(OnnxModel model, RunnerSpec reference, RunnerSpec candidate, ValueMap sample, IJobLog log);

    /// <summary>Whether <paramref name="subject"/> still fails under <paramref name="condition"/> (accuracy or build) on <paramref name="candidate"/>.</summary>
    Outcome Check(Condition condition, Subject subject, RunnerSpec candidate);
}
