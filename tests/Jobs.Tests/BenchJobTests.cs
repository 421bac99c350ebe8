using PolyNet.FixtureMaker;
using PolyNet.Onnx;
using PolyNet.Runners;
using PolyNet.Runners.Specs;
using Xunit;

namespace PolyNet.Jobs.Tests;

public class BenchJobTests
{
    private static readonly OnnxModel Mlp = OnnxModel.FromProto(Fixtures.Mlp());

    [Fact]
    public void Warm_up_runs_are_not_timed_and_every_runner_is_measured_in_turn()
    {
        var made = new List<FakeRunner>();
        var create = FakeRunner.Factory(new() { ["a"] = _ => [], ["b"] = _ => [] }, made);
        var feeds = new ValueMap { { "x", TensorData.Create<float>([1, 16], new float[16]) } };
        var results = BenchJob.Execute(new BenchOptions { Model = Mlp, Runners = [RunnerSpec.Parse("a"), RunnerSpec.Parse("b")], Feeds = feeds, Warmup = 3, WarmupTime = TimeSpan.Zero, Iterations = 7, Rounds = 1, CreateRunner = create, WithCopies = true }, new MemoryJobLog());
        Assert.Equal(["a", "b"], results.Select(r => r.Runner));
        Assert.All(results, r => Assert.Equal(7, r.Latency.Runs));
        Assert.All(made, m => Assert.Equal(10, m.Runs));
        Assert.All(made, m => Assert.True(m.Disposed));
        Assert.All(results, r => Assert.True(r.Latency.Min <= r.Latency.Median && r.Latency.Median <= r.Latency.Max));
        Assert.Equal(1, results[0].Batch);
    }

    [Fact]
    public void Rounds_are_timed_after_a_warm_up_that_lasts_its_time_and_each_rounds_median_is_kept()
    {
        var made = new List<FakeRunner>();
        var create = FakeRunner.Factory(new() { ["a"] = _ => { Thread.SpinWait(2000); return []; } }, made);
        var feeds = new ValueMap { { "x", TensorData.Create<float>([1, 16], new float[16]) } };
        var r = BenchJob.Execute(new BenchOptions { Model = Mlp, Runners = [RunnerSpec.Parse("a")], Feeds = feeds, Warmup = 2, WarmupTime = TimeSpan.FromMilliseconds(50), Iterations = 20, Rounds = 4, CreateRunner = create, WithCopies = true }, new MemoryJobLog()).Single();
        Assert.Equal(80, r.Latency.Runs);
        Assert.Equal(80, r.Samples.Count);
        Assert.Equal(4, r.RoundMedians.Count);
        Assert.True(r.Warmup!.Elapsed >= TimeSpan.FromMilliseconds(50));
        Assert.True(r.Warmup.Runs >= 2);
        Assert.Equal(made[0].Runs, r.Warmup.Runs + 80);
        Assert.InRange(r.Latency.Median, r.MedianCi!.Low, r.MedianCi.High);
        Assert.Equal(r.RoundMedians.Max() / PolyNet.Jobs.Bench.LatencyStatistics.Median(r.RoundMedians) - r.RoundMedians.Min() / PolyNet.Jobs.Bench.LatencyStatistics.Median(r.RoundMedians), r.Spread, 9);
    }

    [Fact]
    public void A_device_resident_cuda_bench_uses_a_cuda_graph_and_measures_without_one_when_capture_fails()
    {
        var feeds = new ValueMap { { "x", TensorData.Create<float>([1, 16], new float[16]) } };
        foreach (var capturable in new[] { true, false })
        {
            var specs = new List<string>();
            RunnerFactory create = (s, c) =>
            {
                specs.Add(s.Text);
                bool graph = s.Options.Any(kv => kv.Key == "cuda_graph" && kv.Value == "1");
                return new FakeRunner(s, c.Model, _ => graph && !capturable ? throw new RunnerException("capture failed") : []);
            };
            var log = new MemoryJobLog();
            var r = BenchJob.Execute(new BenchOptions { Model = Mlp, Runners = [RunnerSpec.Parse("cuda:tf32=0")], Feeds = feeds, Warmup = 1, WarmupTime = TimeSpan.Zero, Iterations = 3, Rounds = 1, CreateRunner = create }, log).Single();
            Assert.Equal("cuda:tf32=0", r.Runner);  // the name stays the user's
            Assert.Equal("cuda:tf32=0,cuda_graph=1,name=cuda:tf32=0", specs[0]);
            if (capturable) Assert.Contains(log.Lines, l => l.Message.Contains("CUDA graph on"));
            else
            {
                Assert.Equal("cuda:tf32=0", specs[1]);
                Assert.Contains(log.Lines, l => l.Level == LogLevel.Warning && l.Message.Contains("no CUDA graph for this model (capture failed)"));
            }
        }
        // An explicit cuda_graph= is left as it is; --with-copies keeps the graph (copies go around its buffers).
        var seen = new List<string>();
        foreach (var (spec, copies) in new[] { ("cuda:cuda_graph=0", false), ("cuda", true) })
            BenchJob.Execute(new BenchOptions { Model = Mlp, Runners = [RunnerSpec.Parse(spec)], Feeds = feeds, Warmup = 0, WarmupTime = TimeSpan.Zero, Iterations = 1, Rounds = 1, WithCopies = copies,
                CreateRunner = (s, c) => { seen.Add(s.Text); return new FakeRunner(s, c.Model, _ => []); } }, new MemoryJobLog());
        Assert.Equal(["cuda:cuda_graph=0", "cuda:cuda_graph=1,name=cuda"], seen);
    }

    [Fact]
    public void A_gpu_runner_records_the_gpu_clocks_after_its_timed_runs_and_a_lowered_clock_is_warned_about()
    {
        var feeds = new ValueMap { { "x", TensorData.Create<float>([1, 16], new float[16]) } };
        int reads = 0;
        var log = new MemoryJobLog();
        var results = BenchJob.Execute(new BenchOptions
        {
            Model = Mlp, Runners = [RunnerSpec.Parse("cuda:cuda_graph=0"), RunnerSpec.Parse("onnxrt")], Feeds = feeds, Warmup = 0, WarmupTime = TimeSpan.Zero, Iterations = 2, Rounds = 1,
            CreateRunner = (s, c) => new FakeRunner(s, c.Model, _ => []),
            ReadClocks = () => { reads++; return ([new PolyNet.Runners.Native.GpuClock("NVIDIA H200", 1200, 1980, 3201, 3201, 40)], null); },
        }, log);
        Assert.Equal(1, reads);  // the CPU runner reads none
        Assert.Equal("NVIDIA H200: SM 1200 of 1980 MHz, memory 3201 of 3201 MHz, 40 °C", Assert.Single(results[0].Clocks!).ToString());
        Assert.Null(results[1].Clocks);
        Assert.Contains(log.Lines, l => l.Level == LogLevel.Warning && l.Message.Contains("SM clock was 1200 MHz of 1980"));
        var none = BenchJob.Execute(new BenchOptions
        {
            Model = Mlp, Runners = [RunnerSpec.Parse("cuda:cuda_graph=0")], Feeds = feeds, Warmup = 0, WarmupTime = TimeSpan.Zero, Iterations = 1, Rounds = 1,
            CreateRunner = (s, c) => new FakeRunner(s, c.Model, _ => []), ReadClocks = () => ([], "no NVIDIA driver library"),
        }, new MemoryJobLog()).Single();
        Assert.Equal((null, "no NVIDIA driver library"), (none.Clocks, none.ClocksUnavailable));
    }

    [Fact]
    public void Without_an_nvidia_driver_the_clocks_say_why_there_are_none()
    {
        var (clocks, why) = PolyNet.Runners.Native.GpuClocks.Read();
        if (File.Exists("/proc/driver/nvidia/version")) Assert.Skip("this machine has an NVIDIA driver");
        Assert.Empty(clocks);
        Assert.Contains("libnvidia-ml.so.1", why);
    }

    [Theory]
    [InlineData(0, 1, "--iterations 0: must be at least 1")]
    [InlineData(1, -1, "--warmup -1: must be at least 0")]
    public void Bad_counts_are_refused(int iterations, int warmup, string message)
    {
        var e = Assert.Throws<InvalidInputException>(() => BenchJob.Execute(new BenchOptions { Model = Mlp, Runners = [], Feeds = [], Iterations = iterations, Warmup = warmup }, new MemoryJobLog()));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Latency_percentiles_are_nearest_rank_and_the_median_interpolates()
    {
        var l = Latency.Of([5, 1, 4, 2, 3, 10]);
        Assert.Equal((6, 1.0, 3.5, 10.0), (l.Runs, l.Min, l.Median, l.Max));
        Assert.Equal(10, l.P90);
        Assert.Equal(25.0 / 6, l.Mean, 12);
    }
}
