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
    public void A_timeout_that_is_not_a_positive_number_is_bad_input()
        => AssertOneLineError(Run("run", TestPaths.Model("mlp.onnx"), "--runner", "onnxrt", "onnxrt:opt=disable", "--timeout", "0"), ExitCodes.BadInput, "--timeout");
}
