using PolyNet.Compare;
using PolyNet.FixtureMaker;
using PolyNet.Jobs.Runs;
using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using PolyNet.Runners;
using PolyNet.Runners.Inputs;
using PolyNet.Runners.Specs;
using PolyNet.Tests;
using Xunit;

namespace PolyNet.Jobs.Tests.Runs;

public class RunJobTests
{
    private static readonly OnnxModel Mlp = OnnxModel.FromProto(Fixtures.Mlp());

    /// <summary>logits = x[:10] + shift, probs = 0.1 everywhere: enough for the comparison to have something to say.</summary>
    private static Func<ValueMap, ValueMap> Outputs(Func<int, float> shift) => feeds =>
    {
        var x = ((TensorData)feeds["x"]).Span<float>();
        var logits = new float[10];
        for (int i = 0; i < 10; i++) logits[i] = x[i] + shift(i);
        return new ValueMap { { "logits", TensorData.Create<float>([1, 10], logits) }, { "probs", TensorData.Create<float>([1, 10], Enumerable.Repeat(0.1f, 10).ToArray()) } };
    };

    private static RunJobOptions Options(RunnerFactory create, int samples = 3, params string[] runners) => new()
    {
        Model = Mlp,
        Runners = runners.Select(RunnerSpec.Parse).ToList(),
        Iterations = samples,
        CreateRunner = create,
    };

    private static OnnxModel Lookup()
    {
        var b = new ModelBuilder("lookup");
        var ids = b.Input("ids", ElementType.Int64, 4);
        b.Node("Identity", [ids], output: "y");
        b.Output("y", ElementType.Int64, 4);
        return b.BuildModel();
    }

    [Fact]
    public void A_runner_failing_on_generated_integer_inputs_at_the_default_range_says_to_give_their_range()
    {
        var create = FakeRunner.Factory(new() { ["ref"] = _ => throw new RunnerException("ref: index 1 is out of bounds for axis 0 of size 1") });
        var e = Assert.Throws<RunnerException>(() => RunJob.Execute(new RunJobOptions { Model = Lookup(), Runners = [RunnerSpec.Parse("ref")], CreateRunner = create }, new MemoryJobLog()));
        Assert.StartsWith("ref: index 1 is out of bounds", e.Message);
        Assert.Contains("the generated integer input(s) 'ids' hold values in [0, 1]", e.Message);
        Assert.Contains("--val-range ids:[LO,HI]", e.Message);
        // Given a range (or real inputs), the runner's error stands alone.
        var given = Assert.Throws<RunnerException>(() => RunJob.Execute(new RunJobOptions
        {
            Model = Lookup(), Runners = [RunnerSpec.Parse("ref")], CreateRunner = create, ValueRanges = ValueRanges.Parse(["ids:[0,0]"]),
        }, new MemoryJobLog()));
        Assert.DoesNotContain("--val-range", given.Message);
    }

    [Fact]
    public void Input_shapes_and_ranges_naming_no_input_are_refused_before_any_runner_is_made()
    {
        var made = new List<FakeRunner>();
        var create = FakeRunner.Factory(new() { ["ref"] = Outputs(_ => 0) }, made);
        var e = Assert.Throws<InvalidInputException>(() => RunJob.Execute(Options(create, 1, "ref") with { InputShapes = InputShapes.Parse(["nope:1x3"]) }, new MemoryJobLog()));
        Assert.Contains("--input-shapes: the model has no input 'nope'", e.Message);
        Assert.Throws<InvalidInputException>(() => RunJob.Execute(Options(create, 1, "ref") with { ValueRanges = ValueRanges.Parse(["nope:[0,1]"]) }, new MemoryJobLog()));
        Assert.Empty(made);
    }

    [Fact]
    public void Every_candidate_is_compared_with_the_reference_on_every_sample_as_the_outputs_arrive()
    {
        var made = new List<FakeRunner>();
        int sample = 0;
        var create = FakeRunner.Factory(new()
        {
            ["ref"] = Outputs(_ => 0),
            ["same"] = Outputs(_ => 0),
            // The third logit is off by 0.01 on the second sample only.
            ["off"] = feeds => Outputs(i => i == 2 && sample++ == 1 ? 0.01f : 0)(feeds),
        }, made);
        var seen = new List<PairResult>();
        var log = new MemoryJobLog();
        var r = RunJob.Execute(Options(create, 3, "ref", "same", "off"), log, seen.Add);

        Assert.Equal(6, r.Pairs.Count);
        Assert.Equal(r.Pairs, seen);
        Assert.Equal([0, 0, 1, 1, 2, 2], r.Pairs.Select(p => p.Sample));
        var failed = Assert.Single(r.Pairs, p => !p.Passed);
        Assert.Equal(("off", "ref", 1), (failed.Candidate, failed.Reference, failed.Sample));
        var logits = Assert.Single(failed.Outputs, o => !o.Passed);
        Assert.Equal("logits", logits.Output);
        Assert.Equal("[0, 2]", logits.Metrics!.WorstAbs!.Index);
        Assert.False(r.Passed);
        Assert.All(made, m => Assert.True(m.Disposed && m.Activations == 1 && m.Runs == 3));
        Assert.Equal(3, r.Runners[2].Inferences.Count);
        // Progress lines are told apart from facts by their level, not their text.
        Assert.Contains(log.Lines, l => l.Level == LogLevel.Progress && l.Message == "ref: activating ...");
        Assert.Contains(log.Lines, l => l.Level == LogLevel.Info && l.Message.StartsWith("inputs: 3 sample(s) generated with seed 1: x float32 1x16", StringComparison.Ordinal));
    }

    [Fact]
    public void Stored_outputs_are_one_more_reference_for_every_runner_and_saved_outputs_get_a_file_per_runner()
    {
        using var dir = new TempDir();
        var create = FakeRunner.Factory(new() { ["a"] = Outputs(_ => 0), ["b"] = Outputs(_ => 0.5f) });
        var first = RunJob.Execute(Options(create, 2, "a", "b"), new MemoryJobLog());
        Assert.False(first.Passed);
        var saved = RunJob.Execute(new RunJobOptions { Model = Mlp, Runners = [RunnerSpec.Parse("a"), RunnerSpec.Parse("b")], Iterations = 2, CreateRunner = create, SaveOutputs = dir.File("o.npz") }, new MemoryJobLog());
        Assert.Equal([dir.File("o.a.npz"), dir.File("o.b.npz")], saved.FilesWritten);

        var check = RunJob.Execute(new RunJobOptions { Model = Mlp, Runners = [RunnerSpec.Parse("a"), RunnerSpec.Parse("b")], Iterations = 2, CreateRunner = create, LoadOutputs = dir.File("o.a.npz") }, new MemoryJobLog());
        var vsStored = check.Pairs.Where(p => p.Reference == "expected (o.a.npz)").ToList();
        Assert.Equal(4, vsStored.Count);
        Assert.All(vsStored.Where(p => p.Candidate == "a"), p => Assert.True(p.Passed));
        Assert.All(vsStored.Where(p => p.Candidate == "b"), p => Assert.False(p.Passed));
    }

    [Fact]
    public void A_tolerance_for_an_output_the_model_lacks_is_an_error_before_any_inference()
    {
        var made = new List<FakeRunner>();
        var t = new ToleranceSet();
        t.AddAtol("logitz:1e-3");
        var e = Assert.Throws<InvalidInputException>(() => RunJob.Execute(Options(FakeRunner.Factory(new() { ["a"] = Outputs(_ => 0), ["b"] = Outputs(_ => 0) }, made), 1, "a", "b") with { Tolerances = t }, new MemoryJobLog()));
        Assert.Contains("'logitz', which is not an output", e.Message);
        Assert.All(made, m => Assert.Equal(0, m.Runs));
    }

    [Fact]
    public void Dynamic_dimensions_come_from_input_shapes_and_are_otherwise_taken_as_1_with_a_warning()
    {
        var model = OnnxModel.FromProto(Fixtures.DynamicBatch());
        var log = new MemoryJobLog();
        var r = RunJob.Execute(new RunJobOptions { Model = model, Runners = [RunnerSpec.Parse("onnxrt"), RunnerSpec.Parse("onnxrt:opt=disable")], InputShapes = InputShapes.Parse(["x:4x8"]), KeepOutputs = true }, log);
        Assert.True(r.Passed);
        Assert.Equal(new TensorShape(4, 4), ((TensorData)r.Outputs![0][0]["y"]).Shape);
        Assert.DoesNotContain(log.Lines, l => l.Level == LogLevel.Warning);

        var unset = new MemoryJobLog();
        RunJob.Execute(new RunJobOptions { Model = model, Runners = [RunnerSpec.Parse("onnxrt"), RunnerSpec.Parse("onnxrt:opt=disable")] }, unset);
        Assert.Contains(new LogEntry(LogLevel.Warning, "input 'x' [batch, 8] has dynamic dimension(s) 0 (batch): using 1; set them with --input-shapes x:1x8"), unset.Lines);
    }

    [Fact]
    public void Integer_and_bool_outputs_are_compared_exactly()
    {
        var r = RunJob.Execute(new RunJobOptions
        {
            Model = OnnxModel.FromProto(Fixtures.MixedTypes()), Runners = [RunnerSpec.Parse("onnxrt"), RunnerSpec.Parse("onnxrt:opt=disable")], ValueRanges = ValueRanges.Parse(["indices:[0,1]"]),
        }, new MemoryJobLog());
        var count = Assert.Single(r.Pairs[0].Outputs, o => o.Output == "count");
        Assert.True(count.Exact && count.Passed);
        Assert.Equal("every element equal", count.Reason);
    }
}
