using System.Text;
using PolyNet.Jobs;
using PolyNet.Onnx;
using PolyNet.Tests;
using Xunit;

namespace PolyNet.Jobs.Tests.Conformance;

/// <summary>
/// Every test of the ONNX backend test suite (Debian's libonnx-testdata: node, simple, pytorch-converted,
/// pytorch-operator) through PolyNet's loaders, the onnxrt runner and the comparator, at the backend runner's
/// tolerances. The committed list onnx-backend-exceptions.tsv names each test that fails or cannot run, with the
/// reason; any other failure fails this test, and so does a listed test that starts passing (remove it from the list).
/// Set POLYNET_UPDATE_EXCEPTIONS=1 to rewrite the list from a run.
/// </summary>
public class BackendConformanceTests(ITestOutputHelper output)
{
    private static readonly string[] Suites = ["node", "simple", "pytorch-converted", "pytorch-operator"];
    private static string ListPath => Path.Combine(TestPaths.RepoRoot, "tests", "Jobs.Tests", "Conformance", "onnx-backend-exceptions.tsv");

    [Fact]
    public void The_backend_suite_passes_except_for_the_committed_exceptions()
    {
        Assert.True(Directory.Exists(TestPaths.BackendData), $"{TestPaths.BackendData} is missing: install Debian's libonnx-testdata (./setup.sh --test does)");
        var tests = BackendConformance.FindTests(TestPaths.BackendData, Suites);
        Assert.True(tests.Count >= 1000, $"only {tests.Count} backend tests found under {TestPaths.BackendData}");
        var results = tests.Select(t => BackendConformance.Run(t)).ToList();
        int passed = results.Count(r => r.Outcome == ConformanceOutcome.Passed);
        var upgraded = results.Where(r => r.UpgradedFrom is not null).ToList();
        var summary = $"ONNX backend tests: {passed} of {results.Count} passed ({100.0 * passed / results.Count:0.0}%), {results.Count - passed} listed as exceptions; "
            + $"{upgraded.Count} older than opset 7 upgraded to {BackendConformance.UpgradeTarget}, {upgraded.Count(r => r.Outcome == ConformanceOutcome.Passed)} of them passed";
        output.WriteLine(summary);
        // test.sh prints this line after the run, so the pass rate is seen without verbose test output.
        Directory.CreateDirectory(Path.Combine(TestPaths.RepoRoot, ".build"));
        File.WriteAllText(Path.Combine(TestPaths.RepoRoot, ".build", "conformance.txt"), summary + "\n");

        if (Environment.GetEnvironmentVariable("POLYNET_UPDATE_EXCEPTIONS") == "1")
        {
            var sb = new StringBuilder("# ONNX backend tests that fail or cannot run with PolyNet's onnxrt runner (ONNX Runtime 1.30.0, CPU).\n# name\toutcome\treason (ONNX Runtime's message, or PolyNet's where PolyNet refuses the data)\n");
            foreach (var r in results.Where(r => r.Outcome != ConformanceOutcome.Passed))
                sb.Append($"{r.Name}\t{r.Outcome}\t{r.Reason.Replace('\t', ' ').Replace('\n', ' ')}\n");
            File.WriteAllText(ListPath, sb.ToString());
        }

        var listed = File.ReadAllLines(ListPath).Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('\t')).ToDictionary(p => p[0], p => (Outcome: p[1], Reason: p[2]));
        var problems = new List<string>();
        foreach (var r in results)
        {
            bool isListed = listed.TryGetValue(r.Name, out var entry);
            if (r.Outcome == ConformanceOutcome.Passed && isListed)
                problems.Add($"{r.Name} now passes: remove it from {Path.GetFileName(ListPath)}");
            else if (r.Outcome != ConformanceOutcome.Passed && !isListed)
                problems.Add($"{r.Name}: {r.Outcome}: {r.Reason}");
        }
        foreach (var name in listed.Keys.Except(results.Select(r => r.Name)))
            problems.Add($"{name} is listed but does not exist in the test data");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        Assert.Equal(results.Count - listed.Count, passed);
    }

    /// <summary>The bar: models older than opset 7 (ONNX Runtime has no kernels for them) run after the upgrade.</summary>
    [Fact]
    public void At_least_90_percent_of_the_tests_older_than_opset_7_pass_after_an_upgrade_to_13()
    {
        var tests = BackendConformance.FindTests(TestPaths.BackendData, Suites)
            .Where(t => OnnxModel.Load(Path.Combine(t, "model.onnx"), ExternalDataMode.Unchecked).OpsetVersion() < 7).ToList();
        Assert.True(tests.Count >= 30, $"only {tests.Count} backend tests older than opset 7 under {TestPaths.BackendData}");
        var results = tests.Select(t => BackendConformance.Run(t)).ToList();
        var failed = results.Where(r => r.Outcome != ConformanceOutcome.Passed).ToList();
        Assert.All(results, r => Assert.NotNull(r.UpgradedFrom));
        Assert.True(failed.Count * 10 <= results.Count, $"{failed.Count} of {results.Count} fail:\n" + string.Join("\n", failed.Select(r => $"{r.Name}: {r.Reason}")));
    }
}
