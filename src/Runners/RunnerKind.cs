using PolyNet.Runners.Specs;

namespace PolyNet.Runners;

/// <summary>Makes a runner for a configuration and a model: <see cref="RunnerRegistry.Create"/>, or a test's fake.</summary>
public delegate IRunner RunnerFactory(RunnerSpec spec, RunnerContext context);

/// <summary>
/// A kind of runner: the word before the colon in <c>--runner KIND[:key=value,...]</c>, what it is, the keys it
/// accepts, whether it runs on a GPU (suites then run one case at a time), and how to make one.
/// </summary>
public sealed record RunnerKind(string Name, string Description, IReadOnlyList<RunnerKey> Keys, bool UsesGpu, RunnerFactory Create);
