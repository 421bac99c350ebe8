using PolyNet.Runners.Ort;
using PolyNet.Runners.Specs;

namespace PolyNet.Runners;

/// <summary>Creates runners from specs. Registering a kind is one line.</summary>
public static class RunnerFactory
{
    private static readonly Dictionary<string, (Func<RunnerSpec, RunnerContext, IRunner> Create, IReadOnlyList<RunnerKey> Keys, string Description)> Kinds =
        new(StringComparer.Ordinal)
        {
            [OnnxRuntimeCpuRunner.Kind] = ((s, c) => new OnnxRuntimeCpuRunner(s, c), OnnxRuntimeCpuRunner.AcceptedKeys, "ONNX Runtime, CPU execution provider (the reference)"),
            [CudaRunner.Kind] = ((s, c) => new CudaRunner(s, c), CudaRunner.AcceptedKeys, "ONNX Runtime, CUDA execution provider"),
            [TensorRtRunner.Kind] = ((s, c) => new TensorRtRunner(s, c), TensorRtRunner.AcceptedKeys, "TensorRT through ONNX Runtime's TensorRT execution provider"),
        };

    public static IEnumerable<string> KindNames => Kinds.Keys;

    public static IReadOnlyList<RunnerKey> KeysOf(string kind) => Kinds[kind].Keys;

    public static string DescriptionOf(string kind) => Kinds[kind].Description;

    /// <summary>Checks the kind and the keys of <paramref name="spec"/> without creating anything (values are checked on creation).</summary>
    public static void Check(RunnerSpec spec)
    {
        if (!Kinds.TryGetValue(spec.Kind, out var k))
            throw new InvalidInputException($"--runner {spec.Text}: unknown runner kind '{spec.Kind}' (kinds: {string.Join(", ", Kinds.Keys)})");
        _ = new RunnerKeys(spec, k.Keys);
    }

    /// <summary>A runner for <paramref name="spec"/>; an unknown kind or key is an <see cref="InvalidInputException"/>.</summary>
    public static IRunner Create(RunnerSpec spec, RunnerContext context)
        => Kinds.TryGetValue(spec.Kind, out var k)
            ? k.Create(spec, context)
            : throw new InvalidInputException($"--runner {spec.Text}: unknown runner kind '{spec.Kind}' (kinds: {string.Join(", ", Kinds.Keys)})");
}
