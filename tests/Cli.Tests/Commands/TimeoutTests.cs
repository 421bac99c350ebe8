using System.Diagnostics;
using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using PolyNet.Tests;
using Xunit;
using static PolyNet.Cli.Tests.CliHarness;

namespace PolyNet.Cli.Tests.Commands;

/// <summary>--timeout: an inference that never ends is stopped, named and exits 3.</summary>
public class TimeoutTests
{
    [Fact]
    public void A_loop_that_never_ends_is_stopped_by_timeout_with_exit_3_naming_the_runner()
    {
        using var dir = new TempDir();
        var model = dir.File("endless.onnx");
        Graphs.EndlessLoop().Save(model);
        var clock = Stopwatch.StartNew();
        var r = Run("run", model, "--runner", "onnxrt", "--save-outputs", dir.File("y.npz"), "--timeout", "1");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"took {clock.Elapsed}");
        AssertOneLineError(r, ExitCodes.RunnerFailed, "onnxrt", "did not finish within 1 s", "--timeout");
        Assert.False(File.Exists(dir.File("y.npz")));
    }

    [Fact]
    public void Bench_stops_an_endless_model_too()
    {
        using var dir = new TempDir();
        var model = dir.File("endless.onnx");
        Graphs.EndlessLoop().Save(model);
        var r = Run("bench", model, "--runner", "onnxrt", "--warmup", "0", "--iterations", "1", "--timeout", "1");
        AssertOneLineError(r, ExitCodes.RunnerFailed, "onnxrt", "did not finish within 1 s");
    }

    [Fact]
    public void Reduce_and_suite_stop_an_endless_model_with_exit_3()
    {
        using var dir = new TempDir();
        var model = dir.File("endless.onnx");
        Graphs.EndlessLoop().Save(model);
        var r = Run("reduce", model, "--runner", "onnxrt", "--runner", "onnxrt:opt=disable", "--artifacts", dir.File("a"), "--timeout", "1");
        Assert.Equal(ExitCodes.RunnerFailed, r.Code);
        Assert.Contains("did not finish within 1 s", r.Err);
        File.WriteAllText(dir.File("s.suite.yaml"), "cases:\n  - name: endless\n    model: endless.onnx\n    runners: [onnxrt]\n");
        var s = Run("suite", "run", dir.File("s.suite.yaml"), "--update-golden", "--timeout", "1");
        Assert.Equal(ExitCodes.RunnerFailed, s.Code);
        Assert.Contains("did not finish within 1 s", s.Out + s.Err);
    }

    [Fact]
    public void A_timeout_given_to_a_command_that_runs_no_inference_says_it_changes_nothing()
    {
        var r = Run("inspect", "model", TestPaths.Model("mlp.onnx"), "--timeout", "5");
        Assert.Equal(0, r.Code);
        Assert.Contains("[W] --timeout limits how long one inference may take; 'polynet inspect model' runs none, so it changes nothing", r.Err);
        var run = Run("run", TestPaths.Model("mlp.onnx"), "--runner", "onnxrt", "--runner", "onnxrt:opt=disable", "--timeout", "5");
        Assert.Equal(0, run.Code);
        Assert.DoesNotContain("changes nothing", run.Err);
    }

    [Fact]
    public void A_timeout_that_is_not_a_positive_number_is_bad_input()
        => AssertOneLineError(Run("run", TestPaths.Model("mlp.onnx"), "--runner", "onnxrt", "onnxrt:opt=disable", "--timeout", "0"), ExitCodes.BadInput, "--timeout");
}
