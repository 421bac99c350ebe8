using System.Text.Json;
using PolyNet.Compare;
using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using PolyNet.Onnx.Transforms;
using PolyNet.Reduce.Steps;
using PolyNet.Runners;
using PolyNet.Runners.Inputs;
using PolyNet.Runners.Specs;
using PolyNet.Tests;
using Xunit;

namespace PolyNet.Reduce.Tests.Steps;

/// <summary>The worker protocol of isolated reductions: requests and answers as data, crashes seen as crashes.</summary>
public class WorkerTests
{
    private static Subject SubjectOf(OnnxModel model)
    {
        var inputs = new InputGenerator(1).Generate(model.Inputs, 0);
        return new Subject(new Extracted(model, model.Inputs.Select(i => i.Name).ToList(), model.Outputs.Select(o => o.Name).ToList(), []), [inputs], null);
    }

    [Fact]
    public void A_check_served_as_json_gives_the_in_process_verdict()
    {
        using var dir = new TempDir();
        var model = Graphs.Chain(6, Graphs.Culprit.Unbuildable);
        model.Save(dir.File("m.onnx"));
        var s = SubjectOf(model);
        DataFiles.Save(dir.File("in.npz"), s.Inputs, DataRole.Inputs);
        var tolerances = new ToleranceSet();
        tolerances.AddAtol("out:0.5");
        var request = new CheckRequest(Condition.Build, dir.File("m.onnx"), dir.File("in.npz"), null, "onnxrt", tolerances, new CompareOptions { TopK = 3 });
        var output = new StringWriter();
        Assert.Equal(0, ReduceWorker.Serve(new StringReader(JsonSerializer.Serialize<StepRequest>(request, WorkerJson.Default.StepRequest)), output, new Jobs.MemoryJobLog()));
        var answer = Assert.IsType<CheckAnswer>(JsonSerializer.Deserialize(output.ToString(), WorkerJson.Default.StepAnswer));
        var here = new InProcessSteps(tolerances, new CompareOptions(), RunnerRegistry.Create).Check(Condition.Build, s, RunnerSpec.Parse("onnxrt"));
        Assert.True(answer.Fails);
        Assert.Equal(here.Fails, answer.Fails);
        // The same ONNX Runtime error (the worker loads the model from its file, this process from bytes).
        Assert.Contains("polynet.test:Fail(-1) is not a registered function/op", answer.Cause);
        Assert.Contains("polynet.test:Fail(-1) is not a registered function/op", here.Cause);
    }

    [Fact]
    public void Tolerances_cross_the_process_boundary_as_data()
    {
        var t = new ToleranceSet();
        t.AddAtol("1e-4");
        t.AddRtol("probs:1e-2");
        t.AddStat("logits:max");
        t.Quantile = 0.9;
        var back = JsonSerializer.Deserialize(JsonSerializer.Serialize(t, WorkerJson.Default.ToleranceSet), WorkerJson.Default.ToleranceSet)!;
        foreach (var name in new[] { "probs", "logits", "other" })
            Assert.Equal(t.For(name, ComputePrecision.Fp16), back.For(name, ComputePrecision.Fp16));
    }

    [Fact]
    public void A_worker_killed_by_a_signal_is_a_crash_and_the_check_fails()
    {
        using var dir = new TempDir();
        var steps = new IsolatedSteps(dir.File("work"), ["/bin/sh", "-c", "cat > /dev/null; kill -SEGV $$"], new ToleranceSet(), new CompareOptions(), null, TimeSpan.FromMinutes(1));
        var o = steps.Check(Condition.Build, SubjectOf(Graphs.Chain(4)), RunnerSpec.Parse("onnxrt"));
        Assert.True(o.Fails);
        Assert.True(o.Crashed);
        Assert.Contains("signal 11", o.Cause);
        // Any other step that crashes is the runner failing, not a PolyNet bug.
        Assert.Throws<RunnerException>(() => steps.Types(Graphs.Chain(4)));
    }

    [Fact]
    public void A_worker_that_answers_nothing_is_a_runner_failure_naming_its_last_words()
    {
        using var dir = new TempDir();
        var steps = new IsolatedSteps(dir.File("work"), ["/bin/sh", "-c", "cat > /dev/null; echo 'no such thing' >&2; exit 4"], new ToleranceSet(), new CompareOptions(), null, TimeSpan.FromMinutes(1));
        var e = Assert.Throws<RunnerException>(() => steps.Types(Graphs.Chain(4)));
        Assert.Contains("exit 4", e.Message);
        Assert.Contains("no such thing", e.Message);
    }
}
