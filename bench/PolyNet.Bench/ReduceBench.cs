using System.Diagnostics;
using System.Globalization;
using PolyNet.Jobs;
using PolyNet.Onnx;
using PolyNet.Reduce;
using PolyNet.Reduce.Steps;
using PolyNet.Runners.Inputs;
using PolyNet.Runners.Specs;
using PolyNet.Tests;

namespace PolyNet.Bench;

/// <summary>
/// How many model runs and checks `polynet reduce` needs on generated graphs (tests/Support/Graphs.cs) of 100, 1,000
/// and 10,000 nodes, chains and branchy graphs, beside what Polygraphy's debug reduce needs for the same graph (bisect:
/// ⌈log2 N⌉ + ⌈log2 M⌉ checks, linear: N + M, M being the prefix that still fails), and PolyNet's own bisect, run for
/// real. Counts, not times: every number printed comes from a real reduction.
/// </summary>
internal static class ReduceBench
{
    public static int Run(IReadOnlyList<int> sizes)
    {
        Console.WriteLine($"{"graph",-16} {"failure",-22} {"nodes",6} {"PolyNet",-44} {"PolyNet bisect",15} {"Polygraphy bisect",18} {"Polygraphy linear",18} {"found",-22} {"time",8}");
        foreach (var n in sizes)
            foreach (var branchy in new[] { false, true })
            {
                Row(n, branchy, "accuracy (fp16 Exp)", Graphs.Culprit.Exp, Condition.Accuracy);
                Row(n, branchy, "fails to build", Graphs.Culprit.Unbuildable, Condition.Build);
                if (!branchy) Row(n, branchy, "check: 2 nodes together", Graphs.Culprit.Pair, Condition.External);
            }
        return 0;
    }

    private static void Row(int n, bool branchy, string what, Graphs.Culprit culprit, Condition condition)
    {
        var model = branchy ? Graphs.Branchy(n, culprit, at: 0.37) : Graphs.Chain(n, culprit, at: 0.37);
        int nodes = model.Graph.Node.Count;
        var watch = Stopwatch.StartNew();
        var result = Reduce(model, condition, Strategy.Auto);
        var time = watch.Elapsed;
        string polynet = condition == Condition.Accuracy
            ? $"{result.LayerwiseRuns} runs + {result.LocalizationRuns} localization + {result.Checks} checks"
            : $"{result.Checks} checks";
        // Polygraphy's bisect keeps the shortest failing prefix first: M is where the (last) culprit sits in the order.
        var order = new GraphView(model.Graph).TopologicalOrder().ToList();
        int m = result.Reduced.Max(i => order.IndexOf(i)) + 1;
        int polyBisect = Log2(nodes) + Log2(m), polyLinear = nodes + m;
        string ours = condition == Condition.External ? "(ddmin only)" : Reduce(model, condition, Strategy.Bisect).Checks.ToString(CultureInfo.InvariantCulture) + " checks";
        var found = string.Join(",", result.Reduced.Select(i => model.Graph.Node[i].Name));
        Console.WriteLine($"{(branchy ? "branchy" : "chain"),-16} {what,-22} {nodes,6} {polynet,-44} {ours,15} {polyBisect + " checks",18} {polyLinear + " checks",18} {found,-22} {time.TotalSeconds,7:0.0}s");
    }

    private static ReduceResult Reduce(OnnxModel model, Condition condition, Strategy strategy)
    {
        var dir = Path.Combine(Path.GetTempPath(), "polynet-reduce-bench-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            return Reducer.Run(new ReduceOptions
            {
                Model = model,
                Reference = RunnerSpec.Parse("onnxrt"),
                Candidate = condition switch { Condition.Accuracy => RunnerSpec.Parse("onnxrt:precision=fp16"), Condition.Build => RunnerSpec.Parse("onnxrt"), _ => null },
                Condition = condition,
                Check = condition == Condition.External
                    ? new ExternalCheck("if grep -q Softsign {model} && grep -q Sigmoid {model}; then exit 1; fi", [], [], TimeSpan.FromMinutes(5))
                    : null,
                Strategy = strategy,
                Samples = [new InputGenerator(1).Generate(model.Inputs, 0)],
                Artifacts = dir,
            }, new MemoryJobLog());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static int Log2(int n) => (int)Math.Ceiling(Math.Log2(Math.Max(2, n)));
}
