using PolyNet.Compare;
using PolyNet.Jobs.Runs;
using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using PolyNet.Tests;
using Xunit;

namespace PolyNet.Jobs.Tests.Runs;

public class CompareJobTests
{
    private static ValueMap Map(params (string Name, float[] Values)[] outputs)
    {
        var m = new ValueMap();
        foreach (var (name, v) in outputs) m.Add(name, TensorData.Create<float>([v.Length], v));
        return m;
    }

    [Fact]
    public void The_first_file_is_the_reference_and_every_other_run_a_candidate()
    {
        using var dir = new TempDir();
        Npz.Write(dir.File("a.npz"), Map(("y", [1, 2, 3])));
        Npz.Write(dir.File("b.npz"), Map(("y", [1, 2, 3])));
        Npz.Write(dir.File("c.npz"), Map(("y", [1, 2, 3.5f])));
        var r = CompareJob.Execute([dir.File("a.npz"), dir.File("b.npz"), dir.File("c.npz")], new ToleranceSet(), new CompareOptions(), new MemoryJobLog());
        Assert.Empty(r.InputProblems);
        Assert.Equal(["b.npz", "c.npz"], r.Result.Pairs.Select(p => p.Candidate));
        Assert.All(r.Result.Pairs, p => Assert.Equal("a.npz", p.Reference));
        Assert.Equal([true, false], r.Result.Pairs.Select(p => p.Passed));
        Assert.Equal(0.5, r.Result.Pairs[1].Outputs[0].Metrics!.AbsError.Max, 6);
    }

    [Fact]
    public void Outputs_on_one_side_only_and_differing_shapes_are_problems_while_the_rest_is_compared()
    {
        using var dir = new TempDir();
        Npz.Write(dir.File("a.npz"), Map(("y", [1, 2]), ("z", [1]), ("w", [1, 2])));
        Npz.Write(dir.File("b.npz"), Map(("y", [1, 2]), ("v", [1]), ("w", [1, 2, 3])));
        var r = CompareJob.Execute([dir.File("a.npz"), dir.File("b.npz")], new ToleranceSet(), new CompareOptions(), new MemoryJobLog());
        Assert.Equal(3, r.InputProblems.Count);
        Assert.Contains("a.npz has output 'z' but b.npz does not", r.InputProblems);
        Assert.Contains("b.npz has output 'v' but a.npz does not", r.InputProblems);
        Assert.Contains(r.InputProblems, p => p.StartsWith("w: shapes differ", StringComparison.Ordinal));
        Assert.True(Assert.Single(r.Result.Pairs[0].Outputs, o => o.Output == "y").Passed);
    }
}
