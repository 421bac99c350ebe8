using PolyNet.Runners.Ort;
using PolyNet.Runners.Specs;

namespace PolyNet.Runners;

/// <summary>
/// Every runner kind <c>--runner</c> accepts. A new kind is one class with a <see cref="RunnerKind"/> definition and
/// one line in <see cref="Kinds"/>; nothing else in PolyNet names kinds. The first kind is the reference: what
/// comparisons default to when no reference is given.
/// </summary>
public static class RunnerRegistry
{
    private static readonly RunnerKind[] Kinds =
    [
        OnnxRuntimeCpuRunner.Definition,
        CudaRunner.Definition,
        TensorRtRunner.Definition,
    ];

    /// <summary>Every kind, in the order `polynet runners` lists them.</summary>
    public static IReadOnlyList<RunnerKind> All => Kinds;

    /// <summary>The reference kind's default configuration (ONNX Runtime on the CPU).</summary>
    public static RunnerSpec Reference(string options = "") => RunnerSpec.Parse(options.Length == 0 ? Kinds[0].Name : $"{Kinds[0].Name}:{options}");

    /// <summary>True when <paramref name="kind"/> names a registered kind.</summary>
    public static bool IsKind(string kind) => Kinds.Any(k => k.Name == kind);

    /// <summary>The kind of <paramref name="spec"/>; an unknown kind is an <see cref="InvalidInputException"/> listing the known ones.</summary>
    public static RunnerKind KindOf(RunnerSpec spec) => Kinds.FirstOrDefault(k => k.Name == spec.Kind)
        ?? throw new InvalidInputException($"--runner {spec.Text}: unknown runner kind '{spec.Kind}' (kinds: {string.Join(", ", Kinds.Select(k => k.Name))})");

    /// <summary>Checks the kind and the keys of <paramref name="spec"/> without creating anything (values are checked on creation).</summary>
    public static void Check(RunnerSpec spec) => _ = new RunnerKeys(spec, KindOf(spec).Keys);

    /// <summary>A runner for <paramref name="spec"/>; an unknown kind or key is an <see cref="InvalidInputException"/>.</summary>
    public static IRunner Create(RunnerSpec spec, RunnerContext context) => KindOf(spec).Create(spec, context);
}
