using PolyNet.Onnx;

namespace PolyNet.Runners;

/// <summary>
/// Runs a model on one back end. The whole contract: activate (build the engine or session), say what the inputs
/// and outputs are, run inputs to outputs. A new back end is one class implementing this (most derive from
/// <see cref="Ort.OrtRunner"/>, which does everything but configure the session).
/// Errors: <see cref="RunnerException"/> (exit 3) when the back end fails or is missing; <see cref="InvalidInputException"/>
/// (exit 2) for inputs that do not fit the model.
/// </summary>
public interface IRunner : IDisposable
{
    /// <summary>The configuration's name as the user wrote it ("onnxrt:opt=disable") or chose it (name=...).</summary>
    string Name { get; }

    /// <summary>Builds the session or engine. Idempotent.</summary>
    void Activate();

    /// <summary>Inputs the runner expects (valid after <see cref="Activate"/>).</summary>
    IReadOnlyList<ValueSpec> Inputs { get; }

    /// <summary>Outputs the runner produces (valid after <see cref="Activate"/>).</summary>
    IReadOnlyList<ValueSpec> Outputs { get; }

    /// <summary>Runs once. Returned values are the caller's and hold no native memory.</summary>
    ValueMap Infer(ValueMap feeds);

    /// <summary>Wall time of the last <see cref="Infer"/>, around the back end's run call only.</summary>
    TimeSpan LastInferenceTime { get; }

    /// <summary>Wall time <see cref="Activate"/> took.</summary>
    TimeSpan ActivationTime { get; }

    /// <summary>Facts worth printing once: provider, library, precision, anything the user should know.</summary>
    IReadOnlyList<string> Notes { get; }

    /// <summary>The arithmetic the runner computes in (it sets the comparator's default tolerances).</summary>
    ComputePrecision Precision { get; }

    /// <summary>What the user should hear as a warning: a setting that changes nothing, a cache that matches little.</summary>
    IReadOnlyList<string> Warnings => [];

    /// <summary>Exposed intermediate tensors the last <see cref="Infer"/> could not return, by name, with the reason.</summary>
    IReadOnlyDictionary<string, string> Unreadable => new Dictionary<string, string>();
}

/// <summary>
/// A runner that can run repeatedly on fixed inputs without copying them in or outputs out (ORT's I/O binding): for
/// latency measurement (`polynet bench`); with <c>copyEachRun</c>, each run copies the inputs into the bound device
/// buffers and the outputs back to host memory (host latency). The returned object must be disposed before the runner.
/// </summary>
public interface IBindableRunner : IRunner
{
    Native.BoundRun Bind(ValueMap feeds, bool copyEachRun = false);
}

/// <summary>A runner that could not be created, activated or run (ORT error, missing provider or library). Exit code 3.</summary>
public sealed class RunnerException(string message, Exception? inner = null)
    : PolyNetException(message, ExitCodes.RunnerFailed, inner)
{
    /// <summary>The inference was stopped by --timeout.</summary>
    public bool TimedOut => InnerException is TimeoutException;
}
