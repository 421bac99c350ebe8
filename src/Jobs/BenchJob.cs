using System.Diagnostics;
using System.Text.Json.Serialization;
using PolyNet.Onnx;
using PolyNet.Runners;
using PolyNet.Runners.Native;
using PolyNet.Runners.Ort;
using PolyNet.Runners.Specs;

namespace PolyNet.Jobs;

/// <summary>Everything `polynet bench` needs.</summary>
public sealed class BenchOptions
{
    public required OnnxModel Model { get; init; }
    public required IReadOnlyList<RunnerSpec> Runners { get; init; }
    /// <summary>The inputs every run uses.</summary>
    public required ValueMap Feeds { get; init; }
    /// <summary>Untimed runs first, at least; warm-up also lasts <see cref="WarmupTime"/> and until the run time is stable.</summary>
    public int Warmup { get; init; } = 10;
    /// <summary>The shortest warm-up (trtexec's 200 ms): clocks ramp up, caches and allocators settle.</summary>
    public TimeSpan WarmupTime { get; init; } = TimeSpan.FromMilliseconds(200);
    /// <summary>Timed runs per round; with <see cref="Duration"/>, the minimum.</summary>
    public int Iterations { get; init; } = 100;
    /// <summary>Rounds of <see cref="Iterations"/> timed runs; their medians show how much the measurement itself moves.</summary>
    public int Rounds { get; init; } = 5;
    /// <summary>Keep running until this much time has been measured (spread over the rounds).</summary>
    public TimeSpan? Duration { get; init; }
    /// <summary>Time what `polynet run` does per inference: inputs handed over from host memory, outputs copied back into PolyNet's arrays.</summary>
    public bool WithCopies { get; init; }
    public RunnerFactory CreateRunner { get; init; } = RunnerRegistry.Create;
    /// <summary>Reads the GPUs' clocks, after a GPU runner's timed runs.</summary>
    public Func<(IReadOnlyList<GpuClock> Clocks, string? Unavailable)> ReadClocks { get; init; } = GpuClocks.Read;
}

/// <summary>Latency statistics in milliseconds over the timed runs.</summary>
public sealed record Latency(int Runs, double Min, double Median, double Mean, double Std, double P90, double P95, double P99, double Max)
{
    public static Latency Of(IReadOnlyList<double> ms)
    {
        var s = ms.Order().ToArray();
        double Q(double q) => s[Math.Clamp((int)Math.Ceiling(q * s.Length) - 1, 0, s.Length - 1)]; // nearest rank
        double mean = s.Average();
        double std = Math.Sqrt(s.Sum(x => (x - mean) * (x - mean)) / s.Length);
        return new Latency(s.Length, s[0], s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2, mean, std, Q(0.90), Q(0.95), Q(0.99), s[^1]);
    }
}

/// <summary>One runner's measurement.</summary>
/// <param name="Placement">Where inputs and outputs lived during the timed runs.</param>
/// <param name="Throughput">Runs per second over the whole timed loop (wall clock).</param>
/// <param name="Batch">The first dimension of the first input, when there is one: samples per run.</param>
/// <param name="OwnWork">With copies: per run, the time spent outside ORT's Run (handing inputs over and copying outputs into PolyNet's arrays; with a CUDA graph, the copies to and from its device buffers), in ms.</param>
/// <param name="RoundMedians">Each round's median, ms, in order.</param>
/// <param name="MedianCi">95% confidence interval of the median over every timed run, ms.</param>
/// <param name="Spread">(max − min) / median of the round medians: the noise of the measurement itself.</param>
/// <param name="UpperOutliers">Timed runs above Tukey's upper fence (kept in every statistic).</param>
/// <param name="Samples">Every timed run, ms, in order (what a later `--baseline` tests against).</param>
public sealed record BenchRunnerResult(string Runner, IReadOnlyList<string> Notes, [property: JsonPropertyName("activation_ms")] TimeSpan Activation, string Placement,
    [property: JsonPropertyName("latency_ms")] Latency Latency, [property: JsonPropertyName("throughput_per_s")] double Throughput, long? Batch,
    [property: JsonPropertyName("measured_ms")] TimeSpan Measured, [property: JsonPropertyName("own_work_ms")] Latency? OwnWork = null)
{
    public string Spec { get; init; } = Runner;
    public WarmupSummary? Warmup { get; init; }
    [JsonPropertyName("round_medians_ms")] public IReadOnlyList<double> RoundMedians { get; init; } = [];
    [JsonPropertyName("median_ci_ms")] public Bench.MedianInterval? MedianCi { get; init; }
    public double Spread { get; init; }
    public int UpperOutliers { get; init; }
    [JsonPropertyName("samples_ms")] public IReadOnlyList<double> Samples { get; init; } = [];
    /// <summary>A GPU runner's GPU clocks right after its timed runs (null for runners on the CPU).</summary>
    [JsonPropertyName("gpu_clocks")] public IReadOnlyList<GpuClock>? Clocks { get; init; }
    /// <summary>Why a GPU runner's clocks could not be read.</summary>
    [JsonPropertyName("gpu_clocks_unavailable")] public string? ClocksUnavailable { get; init; }

    public int Rounds() => RoundMedians.Count;
}

/// <summary>How warm-up went: runs, time, and whether the run time had settled (two windows of 10 runs within 5%).</summary>
public sealed record WarmupSummary(int Runs, [property: JsonPropertyName("elapsed_ms")] TimeSpan Elapsed, bool Stable);

/// <summary>
/// Latency like trtexec measures it: build the session, warm up, then time each run separately (a wall clock around
/// ORT's Run, which returns after the providers' streams are synchronized) until enough runs or enough time are
/// measured; percentiles by nearest rank. By default inputs and outputs stay where the session wants them (device
/// memory on a GPU, through ORT's I/O binding), so host-device copies are not timed; with copies, each run is a
/// `polynet run` inference (inputs from host memory, outputs copied back into PolyNet's arrays).
/// </summary>
public static class BenchJob
{
    public static IReadOnlyList<BenchRunnerResult> Execute(BenchOptions o, IJobLog log)
    {
        if (o.Warmup < 0) throw new InvalidInputException($"--warmup {o.Warmup}: must be at least 0");
        if (o.Iterations < 1) throw new InvalidInputException($"--iterations {o.Iterations}: must be at least 1");
        if (o.Rounds < 1) throw new InvalidInputException($"--rounds {o.Rounds}: must be at least 1");
        if (o.WarmupTime < TimeSpan.Zero) throw new InvalidInputException("--warmup-time must not be negative");
        if (o.Duration is { } d && d <= TimeSpan.Zero) throw new InvalidInputException("--duration must be positive");
        var results = new List<BenchRunnerResult>();
        long? batch = o.Feeds.Count > 0 && o.Feeds[0].Value is TensorData t && t.Shape.Rank > 0 ? t.Shape[0] : null;
        foreach (var given in o.Runners)
        {
            // Device-resident on the CUDA provider, a CUDA graph replays the whole inference in one launch, so the CPU's
            // launch jitter leaves the measurement (on an H200, ResNet-50's round medians moved 6-33% without one and under
            // 1% with one). Used unless the spec says cuda_graph=. The graph is captured by the first run on the bound
            // buffers it will replay on; a model that cannot be captured is measured without one. With copies, the
            // inputs are copied into those buffers and the outputs out of them around each replay (trtexec's host
            // latency with --useCudaGraph).
            bool graph = given.Kind == CudaRunner.Kind && given.Options.All(kv => kv.Key != "cuda_graph");
            var spec = graph
                ? RunnerSpec.Parse($"{given.Text}{(given.Text.Contains(':') ? "," : ":")}cuda_graph=1{(given.Options.Any(kv => kv.Key == "name") ? "" : $",name={given.Name}")}")
                : given;
            IRunner runner;
            BoundRun? bound;
            try
            {
                (runner, bound) = Open(spec, o, log, firstRun: graph);
                if (graph) log.Info($"{runner.Name}: CUDA graph on (captured once, replayed each run; cuda_graph=0 turns it off)");
            }
            catch (RunnerException e) when (graph)
            {
                log.Warning($"{given.Name}: no CUDA graph for this model ({e.Message}); measuring without one");
                spec = given;
                (runner, bound) = Open(spec, o, log, firstRun: false);
            }
            using var owned = runner;
            try
            {
                Func<double> once;
                string placement;
                var own = new List<double>();
                if (bound is not null)
                {
                    once = () =>
                    {
                        try
                        {
                            double ms = bound.Run().TotalMilliseconds;
                            if (bound.CopiesEachRun) own.Add(ms - bound.LastEngineTime.TotalMilliseconds);
                            return ms;
                        }
                        catch (TimeoutException e) { throw new RunnerException($"{runner.Name}: {e.Message}", e); }
                    };
                    placement = bound.Placement;
                }
                else
                {
                    once = () =>
                    {
                        long start = Stopwatch.GetTimestamp();
                        runner.Infer(o.Feeds);
                        double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                        if (runner is OrtRunner ort) own.Add(ms - ort.LastNativeRunTime.TotalMilliseconds);
                        return ms;
                    };
                    placement = "inputs from host memory and outputs copied back each run (--with-copies)";
                }
                log.Info($"{runner.Name}: {placement}; warming up (at least {o.Warmup} run(s) and {Format.Duration(o.WarmupTime)}, until the run time is stable) ...");
                var warm = Warm(once, o);
                if (!warm.Stable && warm.Runs >= 20) log.Warning($"{runner.Name}: the run time was still changing after {warm.Runs} warm-up run(s) in {Format.Duration(warm.Elapsed)}; the rounds' spread says how much it moved");
                own.Clear();
                var times = new List<double>(o.Iterations * o.Rounds);
                var roundMedians = new List<double>();
                var loop = Stopwatch.StartNew();
                var nextReport = TimeSpan.FromSeconds(5);
                for (int round = 0; round < o.Rounds; round++)
                {
                    int start = times.Count;
                    var roundWatch = Stopwatch.StartNew();
                    while (times.Count - start < o.Iterations || (o.Duration is { } dur && roundWatch.Elapsed < dur / o.Rounds))
                    {
                        times.Add(once());
                        if (loop.Elapsed >= nextReport)
                        {
                            log.Progress($"{runner.Name}: round {round + 1} of {o.Rounds}, {times.Count} run(s) in {loop.Elapsed.TotalSeconds:0} s, median so far {Format.Number(Latency.Of(times).Median)} ms");
                            nextReport += TimeSpan.FromSeconds(5);
                        }
                    }
                    roundMedians.Add(Bench.LatencyStatistics.Median(times.GetRange(start, times.Count - start)));
                }
                var measured = loop.Elapsed;
                var (clocks, noClocks) = given.Kind is CudaRunner.Kind or TensorRtRunner.Kind ? o.ReadClocks() : ([], null);
                foreach (var c in clocks.Where(c => c.MaxSmMhz > 0 && c.SmMhz < 0.9 * c.MaxSmMhz))
                    log.Warning($"{runner.Name}: {c.Name}'s SM clock was {c.SmMhz} MHz of {c.MaxSmMhz} after the timed runs (power or thermal limits, or a clock cap): the latency is that clock's");
                results.Add(new BenchRunnerResult(runner.Name, runner.Notes.ToList(), runner.ActivationTime, placement, Latency.Of(times), times.Count / measured.TotalSeconds, batch, measured,
                    own.Count > 0 ? Latency.Of(own) : null)
                {
                    Spec = spec.Text, Warmup = warm, RoundMedians = roundMedians, MedianCi = Bench.LatencyStatistics.MedianCi(times),
                    Spread = Bench.LatencyStatistics.Spread(roundMedians), UpperOutliers = Bench.LatencyStatistics.UpperOutliers(times), Samples = times,
                    Clocks = clocks.Count > 0 ? clocks : null, ClocksUnavailable = noClocks,
                });
            }
            finally
            {
                bound?.Dispose();
            }
        }
        return results;
    }

    /// <summary>
    /// The runner built and activated; device-resident (not --with-copies) or with a CUDA graph (<paramref name="firstRun"/>),
    /// its inputs and outputs bound, and with <paramref name="firstRun"/> run once on them (where the graph is captured).
    /// Disposed again when that fails.
    /// </summary>
    private static (IRunner Runner, BoundRun? Bound) Open(RunnerSpec spec, BenchOptions o, IJobLog log, bool firstRun)
    {
        var runner = o.CreateRunner(spec, new RunnerContext { Model = o.Model, Log = log.ForRunner(spec) });
        BoundRun? bound = null;
        try
        {
            log.Progress($"{runner.Name}: activating ...");
            runner.Activate();
            foreach (var w in runner.Warnings) log.Warning(w);
            log.Progress($"{runner.Name}: ready in {Format.Duration(runner.ActivationTime)}{(runner.Notes.Count > 0 ? " (" + string.Join("; ", runner.Notes) + ")" : "")}");
            // With copies and no CUDA graph, each run is what `polynet run` does; with a graph, the bound buffers stay.
            if ((!o.WithCopies || firstRun) && runner is IBindableRunner b) bound = b.Bind(o.Feeds, copyEachRun: o.WithCopies);
            if (firstRun)
            {
                if (bound is not null) bound.Run();
                else runner.Infer(o.Feeds);
            }
            return (runner, bound);
        }
        catch
        {
            bound?.Dispose();
            runner.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Warm-up runs until at least <see cref="BenchOptions.Warmup"/> runs and <see cref="BenchOptions.WarmupTime"/> have
    /// passed and the median of the last 10 runs is within 5% of the 10 before; at most 20 times the warm-up time
    /// (and 10 s) when it never settles.
    /// </summary>
    private static WarmupSummary Warm(Func<double> once, BenchOptions o)
    {
        const int window = 10;
        var recent = new List<double>();
        var watch = Stopwatch.StartNew();
        var cap = TimeSpan.FromTicks(Math.Min(o.WarmupTime.Ticks * 20, TimeSpan.FromSeconds(10).Ticks));
        bool Stable() => recent.Count >= 2 * window && Math.Abs(Bench.LatencyStatistics.Median(recent[^window..]) / Bench.LatencyStatistics.Median(recent[^(2 * window)..^window]) - 1) <= 0.05;
        while (true)
        {
            bool enough = recent.Count >= o.Warmup && watch.Elapsed >= o.WarmupTime;
            if (enough && (o.WarmupTime == TimeSpan.Zero || Stable())) return new(recent.Count, watch.Elapsed, true);
            if (enough && watch.Elapsed >= cap) return new(recent.Count, watch.Elapsed, false);
            recent.Add(once());
        }
    }
}
