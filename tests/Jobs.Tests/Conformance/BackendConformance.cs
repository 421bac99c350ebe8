using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using PolyNet.Onnx.Transforms.Opsets;
using PolyNet.Runners;
using PolyNet.Runners.Inputs;
using PolyNet.Runners.Ort;
using PolyNet.Runners.Specs;

using PolyNet.Compare;

namespace PolyNet.Jobs.Tests.Conformance;

/// <summary>How one ONNX backend test ended.</summary>
public enum ConformanceOutcome
{
    Passed,
    /// <summary>Ran, but an output differs from the stored one beyond tolerance.</summary>
    Failed,
    /// <summary>Could not run: ONNX Runtime or PolyNet refused the model or its data.</summary>
    Error,
}

/// <summary>One test's outcome; <paramref name="UpgradedFrom"/> is the model's opset when it was upgraded to <see cref="BackendConformance.UpgradeTarget"/> first.</summary>
public sealed record ConformanceResult(string Name, ConformanceOutcome Outcome, string Reason, long? UpgradedFrom = null);

/// <summary>
/// Runs ONNX backend tests (a folder per test with model.onnx and test_data_set_N) through PolyNet's loaders,
/// a runner and the comparator, with the backend runner's tolerances (rtol 1e-3, atol 1e-7).
/// </summary>
public static class BackendConformance
{
    public const double Rtol = 1e-3;
    public const double Atol = 1e-7;

    /// <summary>Models older than ONNX Runtime's oldest kernels (opset 7) run after `--upgrade-opset 13`.</summary>
    public const long UpgradeTarget = 13;

    /// <summary>Every test folder under <paramref name="root"/>'s given suites (node, simple, pytorch-converted, pytorch-operator), sorted.</summary>
    public static IReadOnlyList<string> FindTests(string root, IEnumerable<string> suites)
        => suites.Select(s => Path.Combine(root, s)).Where(Directory.Exists)
            .SelectMany(Directory.EnumerateDirectories)
            .Where(d => File.Exists(Path.Combine(d, "model.onnx")))
            .Order(StringComparer.Ordinal).ToList();

    /// <summary>Runs one test folder with <paramref name="runnerSpec"/> (default onnxrt).</summary>
    public static ConformanceResult Run(string testDir, string runnerSpec = "onnxrt")
    {
        var name = $"{Path.GetFileName(Path.GetDirectoryName(testDir))}/{Path.GetFileName(testDir)}";
        long? upgradedFrom = null;
        try
        {
            var model = OnnxModel.Load(Path.Combine(testDir, "model.onnx"));
            if (model.OpsetVersion() is { } opset && opset < OpsetUpgrade.MinTarget)
            {
                model = OpsetUpgrade.Apply(model, UpgradeTarget).Model;
                upgradedFrom = opset;
            }
            using var runner = RunnerRegistry.Create(RunnerSpec.Parse(runnerSpec), new RunnerContext { Model = model });
            runner.Activate();
            var tol = new Tolerance(Atol, Rtol);
            foreach (var set in BackendTestData.DataSets(testDir))
            {
                var inputs = InputValidation.ConformBFloat16(runner.Inputs, BackendTestData.LoadSet(set, DataRole.Inputs, runner.Inputs));
                InputValidation.CheckFeed(runner.Inputs, inputs, set);
                var expected = InputValidation.ConformBFloat16(runner.Outputs, BackendTestData.LoadSet(set, DataRole.Outputs, runner.Outputs));
                var actual = runner.Infer(inputs);
                foreach (var (output, ev) in expected)
                {
                    if (!actual.TryGetValue(output, out var av))
                        return new(name, ConformanceOutcome.Failed, $"{Path.GetFileName(set)}: output '{output}' missing", upgradedFrom);
                    foreach (var c in TensorComparer.Compare(output, ev, av, tol, new CompareOptions { Explain = ExplainMode.None }))
                        if (!c.Passed)
                            return new(name, ConformanceOutcome.Failed, $"{Path.GetFileName(set)}: {c.Output}: {c.Reason}", upgradedFrom);
                }
            }
            return new(name, ConformanceOutcome.Passed, "", upgradedFrom);
        }
        catch (PolyNetException e)
        {
            return new(name, ConformanceOutcome.Error, e.Message.Replace(testDir, "<test>", StringComparison.Ordinal), upgradedFrom);
        }
    }
}
