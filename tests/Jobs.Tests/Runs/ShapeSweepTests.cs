using PolyNet.Jobs.Runs;
using PolyNet.Onnx;
using PolyNet.Runners;
using PolyNet.Runners.Inputs;
using PolyNet.Runners.Specs;
using Xunit;

namespace PolyNet.Jobs.Tests.Runs;

/// <summary>Repeated --input-shapes: one comparison per shape set, results per set.</summary>
public class ShapeSweepTests
{
    /// <summary>y = x for a [batch, 8] input.</summary>
    private static OnnxModel Dynamic()
    {
        var b = new ModelBuilder("dyn");
        var x = b.Input("x", ElementType.Float, "batch", 8);
        b.Node("Identity", [x], output: "y");
        b.Output("y", ElementType.Float, "batch", 8);
        return b.BuildModel();
    }

    private static ValueMap Copy(ValueMap feeds, float shift)
    {
        var x = (TensorData)feeds["x"];
        var v = x.ToArray<float>().Select(f => f + shift).ToArray();
        return new ValueMap { { "y", TensorData.Create<float>(x.Shape, v) } };
    }

    [Fact]
    public void Each_shape_set_is_compared_and_the_set_where_the_candidate_breaks_is_named()
    {
        var contexts = new List<RunnerContext>();
        RunnerFactory create = (spec, ctx) =>
        {
            contexts.Add(ctx);
            // The candidate is wrong only from batch 16 up.
            return new FakeRunner(spec, ctx.Model, f => Copy(f, spec.Name == "cand" && ((TensorData)f["x"]).Shape[0] >= 16 ? 0.5f : 0f));
        };
        var r = RunJob.Execute(new RunJobOptions
        {
            Model = Dynamic(), Runners = [RunnerSpec.Parse("ref"), RunnerSpec.Parse("cand")], Iterations = 2, CreateRunner = create,
            InputShapes = InputShapes.Parse(["x:1x8", "x:4x8", "x:16x8"]),
        }, new MemoryJobLog());
        Assert.Equal(6, r.Samples);
        var sets = r.ShapeSets!;
        Assert.Equal(["x:1x8", "x:4x8", "x:16x8"], sets.Select(s => s.Shapes));
        Assert.Equal([true, true, false], sets.Select(s => s.Passed));
        Assert.Equal([4, 5], sets[2].Samples);
        Assert.Equal(2, sets[2].FailedComparisons);
        Assert.Equal([1L, 1, 4, 4, 16, 16], r.Pairs.Select(p => p.Outputs[0].ReferenceShape!.Value[0]));
        // Every runner was told the sweep (a TensorRT runner builds its profile from it).
        Assert.All(contexts, c => Assert.Equal(3, c.ShapeSets.Count));
    }

    [Fact]
    public void One_shape_set_is_no_sweep()
    {
        var r = RunJob.Execute(new RunJobOptions
        {
            Model = Dynamic(), Runners = [RunnerSpec.Parse("ref"), RunnerSpec.Parse("cand")], CreateRunner = FakeRunner.Factory(new() { ["ref"] = f => Copy(f, 0), ["cand"] = f => Copy(f, 0) }),
            InputShapes = InputShapes.Parse(["x:3x8"]),
        }, new MemoryJobLog());
        Assert.Null(r.ShapeSets);
        Assert.Equal(1, r.Samples);
    }
}
