using PolyNet.FixtureMaker;
using PolyNet.Jobs.Layerwise;
using PolyNet.Jobs.Runs;
using PolyNet.Onnx;
using PolyNet.Runners.Inputs;
using PolyNet.Runners.Specs;
using PolyNet.Tests;
using Xunit;

namespace PolyNet.Jobs.Tests.Layerwise;

/// <summary>The layerwise pass and localization, on exp_divergence (FP16 emulation diverges at its Exp).</summary>
public class LayerwiseJobTests
{
    private static readonly OnnxModel Exp = OnnxModel.FromProto(Fixtures.ExpDivergence());

    /// <summary>1e-5 absolute and relative: every float16 rounding is beyond it.</summary>
    private static PolyNet.Compare.ToleranceSet Tight()
    {
        var t = new PolyNet.Compare.ToleranceSet();
        t.AddAtol("1e-5");
        t.AddRtol("1e-5");
        return t;
    }

    private static RunJobResult Run(MarkOptions marks, OnnxModel? model = null, string candidate = "onnxrt:precision=fp16")
        => RunJob.Execute(new RunJobOptions { Model = model ?? Exp, Runners = [RunnerSpec.Parse("onnxrt"), RunnerSpec.Parse(candidate)], Marks = marks }, new MemoryJobLog());

    [Fact]
    public void Mark_all_names_the_first_divergence_and_localization_the_node_that_introduces_it()
    {
        var r = Run(new MarkOptions { All = true });
        var layers = r.Layerwise!;
        Assert.Equal(8, layers.Marked);
        var cand = Assert.Single(layers.Candidates);
        Assert.Equal("exp_out", cand.FirstDivergenceTensor);
        Assert.Equal(["exp_out", "scale_out", "mix_out"], cand.Diverging.Select(t => t.Tensor));
        var loc = cand.Localization!;
        Assert.Equal(["exp"], loc.Culprits.Select(c => c.NodeName));
        Assert.Equal([false, false], loc.Nodes.Where(n => n.NodeName != "exp").Select(n => n.Introduces));
        // After the layerwise pass, a single culprit takes at most 3 model runs (README).
        Assert.InRange(loc.Runs, 1, 3);
        var y = Assert.Single(loc.Explained, e => e.Output == "y");
        Assert.True(y.Explained > 0.5, $"fixing the Exp explains {y.Explained:P1} of y's error");
        Assert.True(y.After < y.Before);
    }

    [Fact]
    public void Among_dozens_of_rounding_culprits_the_late_overflow_is_named_first_with_its_share_in_few_runs()
    {
        var tight = Tight();
        var r = RunJob.Execute(new RunJobOptions
        {
            Model = Graphs.RoundingThenOverflow(), Runners = [RunnerSpec.Parse("onnxrt"), RunnerSpec.Parse("onnxrt:precision=fp16")],
            Samples = [Graphs.RoundingThenOverflowSample()], Tolerances = tight, Marks = new MarkOptions { All = true },
        }, new MemoryJobLog());
        var loc = r.Layerwise!.Candidates[0].Localization!;
        int k = loc.Culprits.Count();
        Assert.True(k > 20, $"{k} culprits");
        var top = loc.Attribution[0];
        Assert.True(top.Node == "overflow (Mul)", string.Join("; ", loc.Attribution.Select(a => $"{a.Node} own {a.OwnError} share {a.Share("y")} cascade {string.Join(",", a.Cascade ?? [])}")) + $" worst {loc.WorstOutput} runs {loc.AttributionRuns} joint " + string.Join(",", loc.Explained.Select(e => $"{e.Output} {e.Before}->{e.After}")));
        Assert.Equal(["back (Mul)"], top.Cascade);
        Assert.True(top.Share("y") > 0.9, $"the overflow adds {top.Share("y"):P1} of y's error");
        Assert.Equal("y", loc.WorstOutput);
        Assert.InRange(loc.AttributionRuns, 1, Localizer.AttributionBudget(k));
        Assert.Equal(2 * (int)Math.Ceiling(Math.Log2(k)) + 4, Localizer.AttributionBudget(k));
    }

    [Fact]
    public void Each_output_gets_its_own_culprit_when_different_nodes_wreck_different_outputs()
    {
        // The rounding chain of RoundingThenOverflow, and a second output branching off after the fourth rounding node
        // with an overflow of its own: y's error comes from "overflow", y2's from "overflow2".
        var b = new ModelBuilder("two_overflows", opset: 17);
        var t = b.Input("x", ElementType.Float, 1, 64);
        b.Initializer("up", TensorData.Scalar(4f / 3));
        b.Initializer("down", TensorData.Scalar(0.75f));
        b.Initializer("big", TensorData.Scalar(1e5f));
        b.Initializer("small", TensorData.Scalar(1e-5f));
        b.Initializer("zero", TensorData.Scalar(0f));
        string branch = "";
        for (int i = 0; i < 24; i++)
        {
            t = b.Node("Mul", [t, i % 2 == 0 ? "up" : "down"], name: $"round{i}");
            if (i == 3) branch = t;
        }
        t = b.Node("Mul", [t, "big"], name: "overflow");
        t = b.Node("Mul", [t, "small"], name: "back");
        b.Node("Add", [t, "zero"], name: "tail", output: "y");
        var u = b.Node("Mul", [branch, "big"], name: "overflow2");
        u = b.Node("Mul", [u, "small"], name: "back2");
        b.Node("Add", [u, "zero"], name: "tail2", output: "y2");
        b.Output("y", ElementType.Float, 1, 64);
        b.Output("y2", ElementType.Float, 1, 64);
        var tight = Tight();
        var r = RunJob.Execute(new RunJobOptions
        {
            Model = b.BuildModel(), Runners = [RunnerSpec.Parse("onnxrt"), RunnerSpec.Parse("onnxrt:precision=fp16")],
            Samples = [Graphs.RoundingThenOverflowSample()], Tolerances = tight, Marks = new MarkOptions { All = true },
        }, new MemoryJobLog());
        var loc = r.Layerwise!.Candidates[0].Localization!;
        int k = loc.Culprits.Count();
        Assert.True(k > 8, $"{k} culprits");
        Assert.True(loc.Attribution.Single(a => a.Node == "overflow (Mul)").Share("y") > 0.9);
        Assert.True(loc.Attribution.Single(a => a.Node == "overflow2 (Mul)").Share("y2") > 0.9);
        Assert.InRange(loc.AttributionRuns, 1, Localizer.AttributionBudget(k));
    }

    [Fact]
    public void A_small_memory_bound_compares_in_chunks_with_the_same_verdicts()
    {
        var whole = Run(new MarkOptions { All = true, Localize = false }).Layerwise!;
        // 300 bytes hold one 1x32 float tensor per runner (128 B each).
        var chunked = Run(new MarkOptions { All = true, Localize = false, MaxMemory = 300 }).Layerwise!;
        Assert.Equal(1, whole.Chunks);
        Assert.True(chunked.Chunks > 1, $"{chunked.Chunks} chunk(s)");
        Assert.Equal(2 * chunked.Chunks, chunked.Runs);
        Assert.Equal(whole.Candidates[0].Tensors.Select(t => (t.Tensor, t.Passed)), chunked.Candidates[0].Tensors.Select(t => (t.Tensor, t.Passed)));
    }

    [Fact]
    public void Under_a_small_memory_bound_localization_runs_the_diverging_nodes_in_groups_with_the_same_verdicts()
    {
        var whole = Run(new MarkOptions { All = true }).Layerwise!.Candidates[0].Localization!;
        // 600 bytes: a diverging node's input and output (128 B each) and its copy's output, one node at a time.
        var grouped = Run(new MarkOptions { All = true, MaxMemory = 600 }).Layerwise!.Candidates[0].Localization!;
        Assert.Equal(1, whole.Groups);
        Assert.True(grouped.Groups > 1, $"{grouped.Groups} group(s)");
        Assert.Equal(whole.Nodes.Select(n => (n.NodeName, n.Introduces)), grouped.Nodes.Select(n => (n.NodeName, n.Introduces)));
        Assert.Equal(whole.Explained.Select(e => (e.Output, e.After)), grouped.Explained.Select(e => (e.Output, e.After)));
        Assert.Empty(grouped.Notes);
    }

    [Fact]
    public void Culprit_values_beyond_half_the_bound_are_not_explained_and_that_is_said()
    {
        var r = Run(new MarkOptions { All = true, MaxMemory = 200 });
        var loc = r.Layerwise!.Candidates[0].Localization!;
        Assert.Equal(["exp"], loc.Culprits.Select(c => c.NodeName));
        Assert.Empty(loc.Explained);
        Assert.Contains(r.Layerwise.Notes, n => n.Contains("the culprits' outputs hold more than half of --max-memory", StringComparison.Ordinal));
    }

    [Fact]
    public void Marked_tensors_are_compared_in_topological_order_whatever_order_they_are_given_in()
    {
        var layers = Run(new MarkOptions { Names = ["mix_out", "relu_out"], Localize = false }).Layerwise!;
        Assert.Equal(["relu_out", "mix_out"], layers.Candidates[0].Tensors.Select(t => t.Tensor));
        Assert.Null(layers.Candidates[0].Localization);
    }

    [Fact]
    public void Marking_that_stops_a_fusion_is_noted()
    {
        // ORT folds each BatchNormalization into its Conv at the default level; exposing the Conv's output prevents it.
        var r = Run(new MarkOptions { Names = ["conv1_out", "conv2_out"] }, OnnxModel.FromProto(Fixtures.ConvNet()), "onnxrt:opt=disable");
        Assert.Contains(r.Layerwise!.Notes, n => n.StartsWith("onnxrt: with 2 tensor(s) marked as outputs its final outputs differ from the unmarked run", StringComparison.Ordinal));
    }

    [Fact]
    public void Inside_an_If_the_first_divergence_and_the_culprit_are_named_in_the_branch_the_sample_takes()
    {
        var r = RunJob.Execute(new RunJobOptions
        {
            Model = Graphs.WithIf(), Runners = [RunnerSpec.Parse("onnxrt"), RunnerSpec.Parse("onnxrt:precision=fp16")], ValueRanges = ValueRanges.Parse(["big:[1,1]"]),
            Marks = new MarkOptions { All = true },
        }, new MemoryJobLog());
        var layers = r.Layerwise!;
        Assert.Contains(layers.Notes, n => n.StartsWith("1 If node(s) compared inside, as this sample takes them: choose (then branch, 9 node(s))", StringComparison.Ordinal));
        var cand = layers.Candidates[0];
        Assert.Contains(cand.Tensors, t => t.Tensor == "then_shift_out");
        Assert.Equal("then_exp_out", cand.FirstDivergenceTensor);
        Assert.Equal("then_exp", cand.Localization!.Culprits.First().NodeName);
        // The else branch is not what this sample runs: its tensors are not there.
        Assert.DoesNotContain(cand.Tensors, t => t.Tensor.StartsWith("else_", StringComparison.Ordinal));
    }

    [Fact]
    public void A_marked_tensor_of_a_branch_the_sample_does_not_take_is_named_not_compared()
    {
        var r = RunJob.Execute(new RunJobOptions
        {
            Model = Graphs.WithIf(), Runners = [RunnerSpec.Parse("onnxrt"), RunnerSpec.Parse("onnxrt:precision=fp16")], ValueRanges = ValueRanges.Parse(["big:[1,1]"]),
            Marks = new MarkOptions { Names = ["then_exp_out", "else_neg_out"], Localize = false },
        }, new MemoryJobLog());
        Assert.Equal(["then_exp_out"], r.Layerwise!.Candidates[0].Tensors.Select(t => t.Tensor));
        Assert.Contains(r.Layerwise.Notes, n => n.Contains("not compared: else_neg_out", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("exp_ot", "no node produces a tensor named 'exp_ot' (did you mean 'exp_out'?)")]
    [InlineData("x", "'x' is a graph input or an initializer")]
    public void Names_that_are_no_node_output_are_refused_before_anything_runs(string name, string message)
    {
        var e = Assert.Throws<InvalidInputException>(() => LayerwiseJob.Validate(Exp, new MarkOptions { Names = [name] }));
        Assert.Contains(message, e.Message);
    }
}
