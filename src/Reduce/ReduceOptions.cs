using System.Text.RegularExpressions;
using PolyNet.Reduce.Steps;
using PolyNet.Runners;
using PolyNet.Runners.Specs;

namespace PolyNet.Reduce;

public enum Strategy
{
    /// <summary>Accuracy: localization, then bisect and ddmin if no single node explains it. Otherwise: ddmin.</summary>
    Auto,
    Ddmin,
    Bisect,
    Linear,
}

/// <summary>An external check: a shell command run on each subgraph written to a file.</summary>
/// <param name="Command">Run by /bin/sh -c; {model} and {inputs} are replaced by the subgraph's files (without placeholders, the model's path is appended).</param>
/// <param name="FailCodes">Exit codes that mean "fails" (empty: any non-zero code).</param>
/// <param name="FailRegex">When given, the check fails only if its output (stdout and stderr) matches one of these.</param>
public sealed record ExternalCheck(string Command, IReadOnlyList<int> FailCodes, IReadOnlyList<Regex> FailRegex, TimeSpan Timeout);

/// <summary>Everything `polynet reduce` needs, checked.</summary>
public sealed record ReduceOptions
{
    public required OnnxModel Model { get; init; }
    /// <summary>Runs the whole model to give every cut tensor its value (default: the reference kind).</summary>
    public required RunnerSpec Reference { get; init; }
    /// <summary>The runner under test (accuracy and build conditions).</summary>
    public RunnerSpec? Candidate { get; init; }
    public required Condition Condition { get; init; }
    public ExternalCheck? Check { get; init; }
    public Strategy Strategy { get; init; } = Strategy.Auto;
    /// <summary>Inputs of the whole model, one map per sample; every check runs every sample.</summary>
    public required IReadOnlyList<ValueMap> Samples { get; init; }
    /// <summary>Seed for values generated for cut tensors the reference cannot compute (`--seed`, as for the inputs).</summary>
    public long Seed { get; init; } = 1;
    public ToleranceSet Tolerances { get; init; } = new();
    public CompareOptions Compare { get; init; } = new();
    /// <summary>Folder for reduced.onnx, reduced_inputs.npz, min_good.onnx and checks.jsonl.</summary>
    public string Artifacts { get; init; } = "polynet_reduce";
    /// <summary>Run every step (types, reference values, localization, each check) in a worker process, so a native crash fails that step instead of ending the reduction.</summary>
    public bool Isolate { get; init; }
    /// <summary>The ONNX Runtime library (workers load the same one).</summary>
    public string? OrtLibrary { get; init; }
    /// <summary>The command that starts a worker (default: the polynet beside this assembly, `reduce-worker`).</summary>
    public IReadOnlyList<string>? WorkerCommand { get; init; }
    /// <summary>How long a worker may take for one step before it counts as hung.</summary>
    public TimeSpan WorkerTimeout { get; init; } = TimeSpan.FromMinutes(30);
    /// <summary>Creates runners in this process; tests replace it.</summary>
    public RunnerFactory CreateRunner { get; init; } = RunnerRegistry.Create;
    /// <summary>Reduce the failure seen on this output only (accuracy; default: the whole model's, led by the worst output).</summary>
    public string? Output { get; init; }
}
