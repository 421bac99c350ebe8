using System.CommandLine;
using PolyNet.Runners.Native;
using System.Globalization;
using PolyNet.Compare;
using PolyNet.Jobs;
using PolyNet.Reports;
using PolyNet.Reports.Json;
using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using PolyNet.Runners.Inputs;
using PolyNet.Runners;
using PolyNet.Runners.Specs;

namespace PolyNet.Cli.Commands;

internal sealed record BenchSettings(string Model, IReadOnlyList<string> Runners, int Warmup, int Iterations, double? Duration, bool WithCopies,
    long Seed, IReadOnlyList<string> ValRanges, IReadOnlyList<string> InputShapes, string? LoadInputs, IReadOnlyList<ReportRequest<BenchReport>> Reports, string? OrtLibrary, bool Verbose, bool Quiet)
{
    public int Rounds { get; init; } = 5;
    public double WarmupTime { get; init; } = 0.2;
    public string? Baseline { get; init; }
    public string? MaxSlowdown { get; init; }
}

/// <summary>`polynet bench MODEL --runner ...`: latency percentiles and throughput, like trtexec.</summary>
internal static class BenchCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var model = new Argument<string>("model") { Description = "The ONNX model" };
        var runners = MultiValue.Create("--runner", "A runner configuration, KIND[:key=value,...]; each is measured in turn", "SPEC", RunnerSpecs.LooksLikeSpec);
        var warmup = new Option<int>("--warmup") { Description = "Untimed runs first, at least (default 10)", DefaultValueFactory = _ => 10, HelpName = "N" };
        var warmupTime = new Option<double>("--warmup-time") { Description = "Warm up for at least this long, and until the run time is stable (default 0.2, trtexec's 200 ms)", DefaultValueFactory = _ => 0.2, HelpName = "SECONDS" };
        var iterations = new Option<int>("--iterations") { Description = "Timed runs per round (default 100; with --duration, the minimum)", DefaultValueFactory = _ => 100, HelpName = "N" };
        var rounds = new Option<int>("--rounds") { Description = "Rounds of timed runs; the spread of their medians is the measurement's own noise (default 5)", DefaultValueFactory = _ => 5, HelpName = "N" };
        var duration = new Option<double?>("--duration") { Description = "Keep timing until this many seconds are measured (over all rounds)", HelpName = "SECONDS" };
        var baseline = new Option<string?>("--baseline") { Description = "Compare with an earlier bench's --json: exit 1 when a runner is significantly slower by more than --max-slowdown (one-sided Mann-Whitney U with the threshold, p < 0.01; effect: Hodges-Lehmann shift with its 95% interval)", HelpName = "FILE" };
        var maxSlowdown = new Option<string?>("--max-slowdown") { Description = "With --baseline: the slowdown of the median that still passes (default 5%)", HelpName = "PERCENT" };
        var copies = new Option<bool>("--with-copies") { Description = "Time host-device copies too: inputs from host memory, outputs copied back each run (default: they stay on the device through ORT's I/O binding)" };
        var seed = new Option<long>("--seed") { Description = "Seed for generated inputs (default 1)", DefaultValueFactory = _ => 1 };
        var valRange = MultiValue.Create("--val-range", "Range of generated values, [LO,HI] or INPUT:[LO,HI] (default [0,1])", "[INPUT:][LO,HI]", MultiValue.LooksLikeRange);
        var shapes = MultiValue.Create("--input-shapes", "Shapes for dynamic inputs, INPUT:1x3x224x224 (one per input)", "INPUT:DIMS", MultiValue.LooksLikeShape);
        var loadInputs = new Option<string?>("--load-inputs") { Description = "Inputs from a data file (its first sample)", HelpName = "PATH" };
        var reports = new ReportOptions<BenchReport>(ReportFormats.Bench);
        var cmd = new Command("bench", "Measure inference latency (min, median, mean, p90, p95, p99, max) and throughput of each runner configuration.");
        cmd.Arguments.Add(model);
        foreach (var o in new Option[] { runners, warmup, warmupTime, iterations, rounds, duration, copies, seed, valRange, shapes, loadInputs, baseline, maxSlowdown }) cmd.Options.Add(o);
        reports.AddTo(cmd);
        cmd.SetAction(p => Execute(new BenchSettings(p.GetValue(model)!, p.GetValue(runners) ?? [], p.GetValue(warmup), p.GetValue(iterations), p.GetValue(duration),
            p.GetValue(copies), p.GetValue(seed), p.GetValue(valRange) ?? [], p.GetValue(shapes) ?? [], p.GetValue(loadInputs), reports.Read(p),
            GlobalOptions.OrtLibrary(p), GlobalOptions.Verbose(p), GlobalOptions.Quiet(p))
        {
            Rounds = p.GetValue(rounds), WarmupTime = p.GetValue(warmupTime), Baseline = p.GetValue(baseline), MaxSlowdown = p.GetValue(maxSlowdown),
        }, output, error));
        return cmd;
    }

    public static int Execute(BenchSettings s, TextWriter output, TextWriter error)
    {
        var specs = s.Runners.Count == 0 ? [RunnerRegistry.Reference()] : s.Runners.Select(RunnerSpec.Parse).ToList();
        RunnerSpec.MakeNamesUnique(specs);
        foreach (var spec in specs) RunnerRegistry.Check(spec);
        AtomicFile.CheckTargets(s.Reports.Select(r => r.Path).ToList(), [s.Model, s.LoadInputs, s.Baseline]);
        var log = new WriterLog(output, error, s.Verbose, s.Quiet);
        double maxSlowdown = s.MaxSlowdown is { } ms ? Jobs.Bench.Baseline.ParseSlowdown("--max-slowdown", ms) : 0.05;
        if (s.MaxSlowdown is not null && s.Baseline is null) log.Warning("--max-slowdown applies to --baseline; without one it changes nothing");
        var baseline = s.Baseline is { } b ? Jobs.Bench.Baseline.Read(b) : null;
        OrtRuntime.Initialize(s.OrtLibrary);
        var model = OnnxModel.Load(s.Model);
        // One sample: the first of the file, or one generated.
        var feeds = InputSamples.LoadOrGenerate(s.LoadInputs is { } path ? [path] : [], model.Inputs, s.Seed, 1, ValueRanges.Parse(s.ValRanges), InputShapes.Parse(s.InputShapes).RequireSingle("polynet bench"), log)[0];
        log.Info($"model: {s.Model}; inputs: {string.Join(", ", feeds.Select(kv => $"{kv.Key} {kv.Value.Describe()}"))}");
        var sha = Jobs.Bench.Baseline.ModelSha256(s.Model);
        var device = Runners.MachineDescription.Describe();
        var shapes = feeds.ToDictionary(kv => kv.Key, kv => kv.Value is TensorData t ? t.Shape.ToString() : kv.Value.Describe());
        if (baseline is not null)
        {
            foreach (var spec in specs) Jobs.Bench.Baseline.For(s.Baseline!, baseline, spec.Name);
            // Another model or other shapes make the comparison meaningless: refused. Another machine or runtime is said.
            if (baseline.ModelSha256 is { } was && was != sha)
                throw InvalidInputException.ForFile(s.Baseline!, $"was measured on another model (SHA-256 {was[..Math.Min(12, was.Length)]}…, {s.Model} is {sha[..12]}…)");
            if (baseline.Device is { } dev && dev != device) log.Warning($"{s.Baseline} was measured on another machine ({dev}; this one: {device}): the comparison says as much about the machines");
            if (baseline.OrtVersion is { } v && v != OrtRuntime.Current.Version) log.Warning($"{s.Baseline} was measured with ONNX Runtime {v}; this is {OrtRuntime.Current.Version}");
            if (baseline.InputShapes is { } bs && !bs.OrderBy(kv => kv.Key).SequenceEqual(shapes.OrderBy(kv => kv.Key)))
                throw InvalidInputException.ForFile(s.Baseline!, $"was measured at other input shapes ({string.Join(", ", bs.Select(kv => $"{kv.Key} {kv.Value}"))}; now {string.Join(", ", shapes.Select(kv => $"{kv.Key} {kv.Value}"))})");
        }
        var results = BenchJob.Execute(new BenchOptions
        {
            Model = model, Runners = specs, Feeds = feeds, Warmup = s.Warmup, Iterations = s.Iterations, Rounds = s.Rounds,
            WarmupTime = TimeSpan.FromSeconds(s.WarmupTime), Duration = s.Duration is { } d ? TimeSpan.FromSeconds(d) : null, WithCopies = s.WithCopies,
        }, log);
        var inv = CultureInfo.InvariantCulture;
        var verdicts = new List<Jobs.Bench.BaselineVerdict>();
        foreach (var r in results)
        {
            var l = r.Latency;
            output.WriteLine(string.Create(inv, $"[I] {r.Runner}: {l.Runs} run(s) in {r.Rounds()} round(s), {r.Measured.TotalSeconds:0.00} s ({r.Placement})"));
            output.WriteLine(string.Create(inv, $"      latency (ms): min {l.Min:0.000}  median {l.Median:0.000}  mean {l.Mean:0.000}  p90 {l.P90:0.000}  p95 {l.P95:0.000}  p99 {l.P99:0.000}  max {l.Max:0.000}  (std {l.Std:0.000})"));
            if (r.MedianCi is { } ci)
                output.WriteLine(string.Create(inv, $"      median {l.Median:0.000} ms, 95% CI [{ci.Low:0.000}, {ci.High:0.000}]; round medians {string.Join(" ", r.RoundMedians.Select(m => m.ToString("0.000", inv)))} (spread {100 * r.Spread:0.0}%); {r.UpperOutliers} upper outlier(s) (Tukey); warm-up {r.Warmup?.Runs} run(s) in {Format.Duration(r.Warmup?.Elapsed ?? TimeSpan.Zero)}{(r.Warmup?.Stable == false ? ", not settled" : "")}"));
            output.WriteLine(string.Create(inv, $"      throughput: {r.Throughput:0.0} inferences/s{(r.Batch is { } bt ? $" ({r.Throughput * bt:0.0} samples/s at batch {bt})" : "")}; session built in {Format.Duration(r.Activation)}"));
            if (r.Clocks is { } clocks) output.WriteLine($"      GPU clocks after the timed runs: {string.Join("; ", clocks)}");
            else if (r.ClocksUnavailable is { } why) output.WriteLine($"      GPU clocks: not recorded ({why})");
            if (r.OwnWork is { } own)
                output.WriteLine(string.Create(inv, $"      of which PolyNet's own work (outside ORT's Run: {(r.Placement.Contains("each run") ? "the copies to and from the device" : "inputs handed over, outputs copied into its arrays")}): median {own.Median * 1000:0.0} us, p99 {own.P99 * 1000:0.0} us"));
            if (baseline is not null)
            {
                var v = Jobs.Bench.Baseline.Compare(r.Runner, Jobs.Bench.Baseline.For(s.Baseline!, baseline, r.Runner).Samples!, r.Samples, maxSlowdown);
                verdicts.Add(v);
                output.WriteLine(string.Create(inv, $"[{(v.Fails ? "E" : "I")}] {r.Runner} against {s.Baseline}: median {v.Median:0.000} ms, was {v.BaselineMedian:0.000} ms: {v.Describe(maxSlowdown)}"));
            }
        }
        var report = new BenchReport(s.Model, s.WithCopies, s.Warmup, results)
        {
            ModelSha256 = sha, OrtVersion = OrtRuntime.Current.Version, Device = device, InputShapes = shapes, Rounds = s.Rounds, Iterations = s.Iterations,
            Baseline = baseline is null ? null : verdicts,
        };
        foreach (var f in ReportRequest<BenchReport>.WriteAll(s.Reports, report)) output.WriteLine($"[I] wrote {f}");
        return verdicts.Any(v => v.Fails) ? ExitCodes.Mismatch : ExitCodes.Success;
    }
}
