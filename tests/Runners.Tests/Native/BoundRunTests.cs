using PolyNet.Onnx;
using PolyNet.Runners.Ort;
using PolyNet.Runners.Specs;
using PolyNet.Tests;
using Xunit;

namespace PolyNet.Runners.Tests.Native;

public class BoundRunTests
{
    private static RunnerContext Ctx => new() { Model = OnnxModel.Load(TestPaths.Model("mlp.onnx")) };
    private static ValueMap Feed => new() { { "x", TensorData.Create<float>([1, 16], Enumerable.Range(0, 16).Select(i => i / 16f).ToArray()) } };

    [Fact]
    public void On_the_cpu_nothing_is_copied_each_run_and_the_engine_time_is_the_run()
    {
        using var r = (IBindableRunner)RunnerRegistry.Create(RunnerSpec.Parse("onnxrt"), Ctx);
        r.Activate();
        foreach (var copies in new[] { false, true })
        {
            using var bound = r.Bind(Feed, copyEachRun: copies);
            Assert.False(bound.CopiesEachRun);  // every input and output already lives in host memory
            Assert.Equal("x in host memory, logits in host memory, probs in host memory", bound.Placement.Replace("on Cpu", "in host memory"));
            var total = bound.Run();
            Assert.True(bound.LastEngineTime > TimeSpan.Zero && bound.LastEngineTime <= total);
        }
    }

    [Fact]
    public void On_a_real_gpu_copies_go_around_a_replayed_cuda_graph()
    {
        if (GpuChecks.NoNvidiaDriver(SystemProbe.Default) is { } why) Assert.Skip($"needs a GPU: {why}");
        using var r = (IBindableRunner)RunnerRegistry.Create(RunnerSpec.Parse("cuda:cuda_graph=1,tf32=0"), Ctx);
        r.Activate();
        using var bound = r.Bind(Feed, copyEachRun: true);
        Assert.True(bound.CopiesEachRun);
        Assert.Contains("x copied from host memory to", bound.Placement);
        Assert.Contains("copied back from", bound.Placement);
        for (int i = 0; i < 3; i++)
        {
            var total = bound.Run();
            Assert.True(bound.LastEngineTime < total);
        }
    }
}
