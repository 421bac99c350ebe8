using PolyNet.Onnx;
using PolyNet.Runners.Ort;
using PolyNet.Runners.Specs;
using Xunit;

namespace PolyNet.Runners.Tests.Ort;

/// <summary>The trt runner's optimization profile defaults to the extremes of a shape sweep.</summary>
public class TensorRtProfileTests
{
    private static RunnerContext Sweep(params (string Name, long[] Shape)[][] sets)
    {
        var b = new ModelBuilder();
        var x = b.Input("x", ElementType.Float, "n", 3, "h", "w");
        b.Node("Relu", [x], output: "y");
        b.OutputUnknownShape("y", ElementType.Float);
        return new RunnerContext
        {
            Model = b.BuildModel(),
            ShapeSets = sets.Select(s => (IReadOnlyDictionary<string, TensorShape>)s.ToDictionary(p => p.Name, p => new TensorShape(p.Shape))).ToList(),
        };
    }

    private static Dictionary<string, string> Options(string spec, RunnerContext ctx)
    {
        using var r = new TensorRtRunner(RunnerSpec.Parse(spec), ctx);
        return r.ProviderOptions().ToDictionary(kv => kv.Key, kv => kv.Value);
    }

    [Fact]
    public void Min_and_max_are_the_sweeps_extremes_per_dimension_and_opt_its_first_set()
    {
        var ctx = Sweep([("x", [1, 3, 224, 224])], [("x", [8, 3, 160, 320])], [("x", [4, 3, 256, 200])]);
        var o = Options("trt", ctx);
        Assert.Equal("x:1x3x160x200", o["trt_profile_min_shapes"]);
        Assert.Equal("x:1x3x224x224", o["trt_profile_opt_shapes"]);
        Assert.Equal("x:8x3x256x320", o["trt_profile_max_shapes"]);
    }

    [Fact]
    public void Profile_keys_given_by_hand_win_and_no_sweep_sets_no_profile()
    {
        var ctx = Sweep([("x", [1, 3, 224, 224])], [("x", [8, 3, 224, 224])]);
        var o = Options("trt:min_shapes=x:1x3x224x224,opt_shapes=x:2x3x224x224,max_shapes=x:2x3x224x224", ctx);
        Assert.Equal("x:2x3x224x224", o["trt_profile_max_shapes"]);
        Assert.DoesNotContain("trt_profile_min_shapes", Options("trt", Sweep([("x", [1, 3, 224, 224])])).Keys);
    }
}
