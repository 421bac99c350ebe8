using System.Diagnostics;
using System.Text.RegularExpressions;
using PolyNet.Jobs;
using PolyNet.Jobs.Runs;
using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using PolyNet.Runners.Inputs;
using PolyNet.Runners.Specs;
using PolyNet.Tests;
using Xunit;

using PolyNet.Reduce.Steps;

namespace PolyNet.Reduce.Tests;

public class ReducerTests
{
    private static IReadOnlyList<ValueMap> Inputs(OnnxModel m, int samples = 1)
    {
        var gen = new InputGenerator(1);
        return Enumerable.Range(0, samples).Select(s => gen.Generate(m.Inputs, s)).ToList();
    }

    private static ReduceOptions Options(OnnxModel model, TempDir dir, Condition condition, string? candidate, ExternalCheck? check = null, Strategy strategy = Strategy.Auto, int samples = 1) => new()
    {
        Model = model,
        Reference = RunnerSpec.Parse("onnxrt"),
        Candidate = candidate is null ? null : RunnerSpec.Parse(candidate),
        Condition = condition,
        Check = check,
        Strategy = strategy,
        Samples = Inputs(model, samples),
        Artifacts = dir.File("artifacts"),
    };

    private static string NodeNames(OnnxModel model, ReduceResult r) => string.Join(",", r.Reduced.Select(i => model.Graph.Node[i].Name));

    [Fact]
    public void Cut_tensors_the_reference_cannot_compute_are_generated_from_the_seed()
    {
        // The reference cannot build this model (an op nobody knows), so a cut tensor's value is generated: from
        // --seed, not a fixed seed.
        using var dir = new TempDir();
        var model = Graphs.Chain(16, Graphs.Culprit.Unbuildable);
        var steps = new PolyNet.Reduce.Steps.InProcessSteps(new PolyNet.Compare.ToleranceSet(), new PolyNet.Compare.CompareOptions(), PolyNet.Runners.RunnerRegistry.Create);
        var types = TypeTable.For(model, steps);
        float[] Generated(long seed)
        {
            var values = new ReferenceValues(new ReduceOptions
            {
                Model = model, Reference = RunnerSpec.Parse("onnxrt"), Condition = Condition.Build, Samples = Inputs(model),
                Artifacts = dir.File("artifacts"), Seed = seed,
            }, types, () => steps);
            var v = (TensorData)values.For(["n10_out"])[0]["n10_out"];
            Assert.NotNull(values.Degraded);
            return v.Span<float>().ToArray();
        }
        Assert.Equal(Generated(5), Generated(5));
        Assert.NotEqual(Generated(1), Generated(5));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_accuracy_culprit_is_found_by_localization_in_a_chain_and_a_branchy_graph(bool branchy)
    {
        using var dir = new TempDir();
        var model = branchy ? Graphs.Branchy(200, Graphs.Culprit.Exp) : Graphs.Chain(200, Graphs.Culprit.Exp);
        var r = Reducer.Run(Options(model, dir, Condition.Accuracy, "onnxrt:precision=fp16", samples: 2), new MemoryJobLog(), TestContext.Current.CancellationToken);
        Assert.Equal("culprit_exp", NodeNames(model, r));
        Assert.Equal("auto (localization)", r.Strategy);
        Assert.Equal(2, r.Checks); // the whole model, then the culprit alone
        // The reduced model runs on its own and still diverges, on both samples.
        var reduced = OnnxModel.Load(r.ReducedModel);
        Assert.Equal(["Exp"], reduced.Graph.Node.Select(n => n.OpType));
        var inputs = DataFiles.Load(r.ReducedInputs, DataRole.Inputs).Samples;
        Assert.Equal(2, inputs.Count);
        var job = RunJob.Execute(new RunJobOptions { Model = reduced, Runners = [RunnerSpec.Parse("onnxrt"), RunnerSpec.Parse("onnxrt:precision=fp16")], Samples = inputs }, new MemoryJobLog());
        Assert.False(job.Passed);
    }

    [Fact]
    public void An_if_every_sample_takes_the_same_way_is_replaced_by_its_branch_so_the_reduction_ends_inside_it()
    {
        using var dir = new TempDir();
        var model = Graphs.WithIf();
        var xs = Enumerable.Range(0, 64).Select(i => (i - 32) / 32f).ToArray();
        var sample = new ValueMap { { "x", TensorData.Create<float>([1, 64], xs) }, { "big", TensorData.Scalar(true) } };
        var tight = new PolyNet.Compare.ToleranceSet();
        tight.AddAtol("1e-5");
        tight.AddRtol("1e-5");
        var o = Options(model, dir, Condition.Accuracy, "onnxrt:precision=fp16") with { Samples = [sample], Tolerances = tight };
        var r = Reducer.Run(o, new MemoryJobLog(), TestContext.Current.CancellationToken);
        Assert.Contains(r.Notes, n => n.Contains("1 If node(s) replaced by the branch every sample takes", StringComparison.Ordinal) && n.Contains("choose (then", StringComparison.Ordinal));
        Assert.NotEmpty(r.ReducedNodeNames);
        Assert.All(r.ReducedNodeNames, n => Assert.StartsWith("'then_", n));
        var reduced = OnnxModel.Load(r.ReducedModel);
        Assert.DoesNotContain(reduced.Graph.Node, n => n.OpType == "If");
    }

    [Fact]
    public void Among_dozens_of_rounding_culprits_the_reduction_ends_on_the_late_overflow()
    {
        // 24 Muls each rounding to float16 beyond a 1e-5 tolerance, then one that overflows float16 (and the one after
        // it, which overflows again from exact inputs), then an Add: the reduction must end on the overflow.
        var model = Graphs.RoundingThenOverflow();
        var tight = new PolyNet.Compare.ToleranceSet();
        tight.AddAtol("1e-5");
        tight.AddRtol("1e-5");
        using var dir = new TempDir();
        var o = Options(model, dir, Condition.Accuracy, "onnxrt:precision=fp16") with { Tolerances = tight, Samples = [Graphs.RoundingThenOverflowSample()] };
        var r = Reducer.Run(o, new MemoryJobLog(), TestContext.Current.CancellationToken);
        Assert.InRange(r.Reduced.Count, 1, 3);
        Assert.Contains("'overflow' (Mul)", r.ReducedNodeNames);
        Assert.Contains(r.Notes, n => n.Contains("the failure reduced is that of the culprit adding most of the error: overflow (Mul) adds", StringComparison.Ordinal));
    }

    [Fact]
    public void Output_reduces_the_failure_seen_on_that_output_and_names_it()
    {
        // Two outputs, each with an Exp that float16 makes diverge on its own path.
        var b = new PolyNet.Onnx.ModelBuilder("two_outputs", opset: 17);
        var x = b.Input("x", ElementType.Float, 1, 64);
        var a = b.Node("Add", [x, b.Initializer("eight", TensorData.Scalar(8f))], name: "a_shift");
        a = b.Node("Exp", [a], name: "a_exp");
        b.Node("Mul", [a, b.Initializer("milli", TensorData.Scalar(1e-3f))], name: "a_scale", output: "ya");
        var c = b.Node("Mul", [x, b.Initializer("two", TensorData.Scalar(2f))], name: "b_double");
        c = b.Node("Add", [c, b.Initializer("five", TensorData.Scalar(5f))], name: "b_shift");
        c = b.Node("Exp", [c], name: "b_exp");
        b.Node("Mul", [c, b.Initializer("centi", TensorData.Scalar(1e-2f))], name: "b_scale", output: "yb");
        b.Output("ya", ElementType.Float, 1, 64);
        b.Output("yb", ElementType.Float, 1, 64);
        var model = b.BuildModel();
        using var dir = new TempDir();
        var o = Options(model, dir, Condition.Accuracy, "onnxrt:precision=fp16") with { Output = "yb" };
        var r = Reducer.Run(o, new MemoryJobLog(), TestContext.Current.CancellationToken);
        Assert.Contains(r.Notes, n => n.StartsWith("reducing the failure seen on output 'yb'", StringComparison.Ordinal));
        Assert.NotEmpty(r.ReducedNodeNames);
        Assert.All(r.ReducedNodeNames, n => Assert.StartsWith("'b_", n));
        var e = Assert.Throws<InvalidInputException>(() => Reducer.Run(o with { Output = "nope" }, new MemoryJobLog(), TestContext.Current.CancellationToken));
        Assert.Contains("has no output named 'nope' (outputs: ya, yb)", e.Message);
    }

    [Fact]
    public void Bisect_and_linear_find_the_same_culprit_with_polygraphys_counts()
    {
        using var dir = new TempDir();
        var model = Graphs.Chain(64, Graphs.Culprit.Exp, at: 0.3);
        var bisect = Reducer.Run(Options(model, dir, Condition.Accuracy, "onnxrt:precision=fp16", strategy: Strategy.Bisect), new MemoryJobLog(), TestContext.Current.CancellationToken);
        Assert.Equal("culprit_exp", NodeNames(model, bisect));
        int n = model.Graph.Node.Count;
        Assert.True(bisect.Checks <= 1 + 2 * (int)Math.Ceiling(Math.Log2(n)), $"{bisect.Checks} checks");
    }

    [Fact]
    public void A_node_that_fails_to_build_is_isolated_in_log2_n_plus_2_checks()
    {
        using var dir = new TempDir();
        var model = Graphs.Chain(300, Graphs.Culprit.Unbuildable, at: 0.71);
        var r = Reducer.Run(Options(model, dir, Condition.Build, "onnxrt"), new MemoryJobLog(), TestContext.Current.CancellationToken);
        Assert.Equal("culprit_fail", NodeNames(model, r));
        Assert.Contains("polynet.test", r.Cause);
        Assert.True(r.Checks <= (int)Math.Ceiling(Math.Log2(model.Graph.Node.Count)) + 2, $"{r.Checks} checks for {model.Graph.Node.Count} nodes");
        Assert.Contains(r.Notes, n => n.Contains("cannot run the whole model"));
        Assert.NotNull(r.MinGoodModel);
        Assert.True(File.Exists(r.MinGoodModel));
    }

    private static ExternalCheck PairCheck() => new(
        "if grep -q Softsign {model} && grep -q Sigmoid {model}; then echo 'both ops present' >&2; exit 1; fi",
        [], [], TimeSpan.FromSeconds(60));

    [Fact]
    public void An_external_check_failing_on_two_nodes_together_is_reduced_to_both_by_ddmin()
    {
        using var dir = new TempDir();
        var model = Graphs.Chain(128, Graphs.Culprit.Pair);
        var r = Reducer.Run(Options(model, dir, Condition.External, null, PairCheck()), new MemoryJobLog(), TestContext.Current.CancellationToken);
        Assert.Equal("pair_a,pair_b", NodeNames(model, r));
        Assert.StartsWith("exit 1", r.Cause);
        var lines = File.ReadAllLines(Path.Combine(dir.File("artifacts"), CheckLog.FileName));
        Assert.Equal(r.Checks, lines.Count(l => l.Contains("\"event\":\"result\"")));
    }

    [Fact]
    public void A_fail_regex_narrows_what_counts_as_failing()
    {
        using var dir = new TempDir();
        var model = Graphs.Chain(16, Graphs.Culprit.Pair);
        var check = PairCheck() with { FailRegex = [new Regex("something else")] };
        var e = Assert.Throws<InvalidInputException>(() => Reducer.Run(Options(model, dir, Condition.External, null, check), new MemoryJobLog(), TestContext.Current.CancellationToken));
        Assert.StartsWith("nothing to reduce: the whole model does not fail (exit 1, output matches no --fail-regex)", e.Message);
    }

    [Fact]
    public void A_check_that_always_fails_is_caught_before_the_search()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<InvalidInputException>(() => Reducer.Run(Options(Graphs.Chain(64), dir, Condition.External, null, new ExternalCheck("exit 3", [], [], TimeSpan.FromSeconds(10))), new MemoryJobLog(), TestContext.Current.CancellationToken));
        Assert.Contains("fails even on a one-node Identity model (exit 3)", e.Message);
        Assert.Single(File.ReadAllLines(Path.Combine(dir.File("artifacts"), CheckLog.FileName)), l => l.Contains("\"event\":\"result\""));
    }

    [Fact]
    public void A_killed_reduction_resumes_without_repeating_a_check()
    {
        using var dir = new TempDir();
        var model = Graphs.Chain(128, Graphs.Culprit.Pair);
        var slow = PairCheck() with { Command = "sleep 0.3; " + PairCheck().Command };

        // First run: in a thread we cancel once a few checks are done (as Ctrl-C would).
        using var cancel = new CancellationTokenSource();
        var log = new MemoryJobLog();
        var first = Task.Run(() => Reducer.Run(Options(model, dir, Condition.External, null, slow), log, cancel.Token), TestContext.Current.CancellationToken);
        var file = Path.Combine(dir.File("artifacts"), CheckLog.FileName);
        var watch = Stopwatch.StartNew();
        while (!File.Exists(file) || File.ReadAllLines(file).Count(l => l.Contains("\"event\":\"result\"")) < 4)
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60));
            Thread.Sleep(20); // polling a file another thread writes
        }
        cancel.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => first.GetAwaiter().GetResult());
        int before = File.ReadAllLines(file).Count(l => l.Contains("\"event\":\"result\""));
        Assert.True(File.Exists(Path.Combine(dir.File("artifacts"), "reduced.onnx"))); // the best so far is kept

        // Second run: the decided checks come from the log; none is run again.
        var r = Reducer.Run(Options(model, dir, Condition.External, null, slow), new MemoryJobLog(), TestContext.Current.CancellationToken);
        Assert.Equal("pair_a,pair_b", NodeNames(model, r));
        Assert.True(r.ChecksResumed >= before - 1, $"{r.ChecksResumed} resumed of {before}"); // the control check is not a search check
        var results = File.ReadAllLines(file).Where(l => l.Contains("\"event\":\"result\"")).Select(l => Regex.Match(l, "\"nodes\":\"([^\"]*)\"").Groups[1].Value).ToList();
        Assert.Equal(results.Count, results.Distinct().Count());

        // Another reduction in the same folder is refused.
        var other = Assert.Throws<InvalidInputException>(() => Reducer.Run(Options(Graphs.Chain(64, Graphs.Culprit.Pair), dir, Condition.External, null, slow), new MemoryJobLog(), TestContext.Current.CancellationToken));
        Assert.Contains("holds the checks of another reduction", other.Message);
    }

    [Fact]
    public void Nothing_to_reduce_and_a_model_without_nodes_are_errors()
    {
        using var dir = new TempDir();
        var passing = Assert.Throws<InvalidInputException>(() => Reducer.Run(Options(Graphs.Chain(32), dir, Condition.Accuracy, "onnxrt:opt=disable"), new MemoryJobLog(), TestContext.Current.CancellationToken));
        Assert.StartsWith("nothing to reduce: the whole model does not fail (outputs within tolerance)", passing.Message);
        var b = new ModelBuilder("empty", opset: 17);
        b.Input("x", ElementType.Float, 1);
        b.Output("x", ElementType.Float, 1);
        using var dir2 = new TempDir();
        var empty = Assert.Throws<InvalidInputException>(() => Reducer.Run(Options(b.BuildModel(), dir2, Condition.Build, "onnxrt"), new MemoryJobLog(), TestContext.Current.CancellationToken));
        Assert.Contains("the graph has no nodes", empty.Message);
    }
}
