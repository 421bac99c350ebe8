using System.Text.Json.Serialization;
using PolyNet.Onnx.Json;

namespace PolyNet.Reduce.Steps;

/// <summary>
/// One step of a reduction as data, for a worker process (`polynet reduce-worker`, JSON on its standard input).
/// Tensors travel as files (.onnx, .npz) named here; everything else is in the request.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "step")]
[JsonDerivedType(typeof(CheckRequest), "check")]
[JsonDerivedType(typeof(ValuesRequest), "values")]
[JsonDerivedType(typeof(TypesRequest), "types")]
[JsonDerivedType(typeof(LocalizeRequest), "localize")]
public abstract record StepRequest
{
    /// <summary>The ONNX Runtime library the parent uses (null: the default).</summary>
    public string? OrtLibrary { get; init; }

    /// <summary>The parent's --timeout for one inference, in seconds (null: no limit).</summary>
    public double? RunTimeoutSeconds { get; init; }
}

/// <summary>Does the subgraph in <paramref name="Model"/> still fail: the candidate's outputs against <paramref name="Expected"/> (accuracy) or its build and run (build).</summary>
/// <param name="Inputs">The subgraph's inputs, one sample per .npz key group.</param>
/// <param name="Expected">The reference's values of the subgraph's outputs (accuracy only).</param>
public sealed record CheckRequest(Condition Condition, string Model, string Inputs, string? Expected, string Candidate, ToleranceSet Tolerances, CompareOptions Compare) : StepRequest;

/// <summary>The reference's values of <paramref name="Tensors"/> on every sample of <paramref name="Inputs"/>, written to <paramref name="Output"/>.</summary>
public sealed record ValuesRequest(string Model, string Inputs, string Reference, IReadOnlyList<string> Tensors, string Output) : StepRequest;

/// <summary>The type and shape of every tensor of <paramref name="Model"/>, as ONNX Runtime infers them.</summary>
public sealed record TypesRequest(string Model) : StepRequest;

/// <summary>The layerwise pass and localization on the first sample of <paramref name="Inputs"/>.</summary>
public sealed record LocalizeRequest(string Model, string Inputs, string Reference, string Candidate, ToleranceSet Tolerances, CompareOptions Compare) : StepRequest;

/// <summary>What a worker answers: the step's result, or the error that stopped it (the exit code PolyNet would give).</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "answer")]
[JsonDerivedType(typeof(CheckAnswer), "check")]
[JsonDerivedType(typeof(ValuesAnswer), "values")]
[JsonDerivedType(typeof(TypesAnswer), "types")]
[JsonDerivedType(typeof(LocalizeAnswer), "localize")]
[JsonDerivedType(typeof(StepError), "error")]
public abstract record StepAnswer;

public sealed record CheckAnswer(bool Fails, string Cause, bool TimedOut = false) : StepAnswer;

public sealed record ValuesAnswer : StepAnswer;

public sealed record TypesAnswer(IReadOnlyList<ValueSpec> Types) : StepAnswer;

/// <summary>The nodes that introduce the error (indices into the model's nodes, topological order) and what the pass cost.</summary>
/// <param name="FirstDivergence">"'tensor' from node (Op)", or null when no intermediate tensor diverges.</param>
/// <param name="Culprits">The introducing nodes, the one adding most of the worst output's error first.</param>
/// <param name="Cause">What that first culprit adds ("Mul_93 (Mul) adds 99.8% of output's error"), when attribution measured it.</param>
public sealed record LocalizeAnswer(IReadOnlyList<int> Culprits, IReadOnlyList<string> CulpritLabels, string? FirstDivergence, int LayerwiseRuns, int LocalizationRuns, string? Cause = null) : StepAnswer;

/// <param name="ExitCode">2: bad input; 3: a runner failed.</param>
public sealed record StepError(int ExitCode, string Message) : StepAnswer;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(NamedNonFiniteDoubleConverter), typeof(ElementTypeConverter), typeof(SnakeCaseEnumConverter<ErrorStat>), typeof(SnakeCaseEnumConverter<Condition>),
        typeof(SnakeCaseEnumConverter<ExplainMode>), typeof(SnakeCaseEnumConverter<ValueKind>)])]
[JsonSerializable(typeof(StepRequest))]
[JsonSerializable(typeof(StepAnswer))]
[JsonSerializable(typeof(ToleranceSet))]
/// <summary>The worker protocol's JSON (and tolerance sets), by source generation.</summary>
internal sealed partial class WorkerJson : JsonSerializerContext;
