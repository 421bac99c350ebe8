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
    long Seed, IReadOnlyList<string> ValRanges, IReadOnlyList<string> InputShapes, string? LoadInputs, IReadOnlyList<ReportRequest<BenchReport>> Reports, string? OrtLibrary, bool Verbose, bool Quiet);

/// <summary>`polynet bench MODEL --runner ...`: latency percentiles and throughput, like trtexec.</summary>
internal static class BenchCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var model = new Argument<string>("model") { Description = "The ONNX model" };
        var runners = MultiValue.Create("--runner", "A runner configuration, KIND[:key=value,...]; each is measured in turn", "SPEC", RunnerSpecs.LooksLikeSpec);
        var warmup = new Option<int>("--warmup") { Description = "Untimed runs first (default 10)", DefaultValueFactory = _ => 10, HelpName = "N" };
        var iterations = new Option<int>("--iterations") { Description = "Timed runs (default 100; with --duration, the minimum)", DefaultValueFactory = _ => 100, HelpName = "N" };
        var duration = new Option<double?>("--duration") { Description = "Keep timing until this many seconds are measured", HelpName = "SECONDS" };
        var copies = new Option<bool>("--with-copies") { Description = "Time host-device copies too: inputs from host memory, outputs copied back each run (default: they stay on the device through ORT's I/O binding)" };
        var seed = new Option<long>("--seed") { Description = "Seed for generated inputs (default 1)", DefaultValueFactory = _ => 1 };
        var valRange = MultiValue.Create("--val-range", "Range of generated values, [LO,HI] or INPUT:[LO,HI] (default [0,1])", "[INPUT:][LO,HI]", MultiValue.LooksLikeRange);
        var shapes = MultiValue.Create("--input-shapes", "Shapes for dynamic inputs, INPUT:1x3x224x224 (one per input)", "INPUT:DIMS", MultiValue.LooksLikeShape);
        var loadInputs = new Option<string?>("--load-inputs") { Description = "Inputs from a data file (its first sample)", HelpName = "PATH" };
        var reports = new ReportOptions<BenchReport>(ReportFormats.Bench);
        var cmd = new Command("bench", "Measure inference latency (min, median, mean, p90, p95, p99, max) and throughput of each runner configuration.");
        cmd.Arguments.Add(model);
        foreach (var o in new Option[] { runners, warmup, iterations, duration, copies, seed, valRange, shapes, loadInputs }) cmd.Options.Add(o);
        reports.AddTo(cmd);
        cmd.SetAction(p => Execute(new BenchSettings(p.GetValue(model)!, p.GetValue(runners) ?? [], p.GetValue(warmup), p.GetValue(iterations), p.GetValue(duration),
            p.GetValue(copies), p.GetValue(seed), p.GetValue(valRange) ?? [], p.GetValue(shapes) ?? [], p.GetValue(loadInputs), reports.Read(p),
            GlobalOptions.OrtLibrary(p), GlobalOptions.Verbose(p), GlobalOptions.Quiet(p)), output, error));
        return cmd;
    }

    public static int Execute(BenchSettings s, TextWriter output, TextWriter error)
    {
        var specs = s.Runners.Count == 0 ? [RunnerRegistry.Reference()] : s.Runners.Select(RunnerSpec.Parse).ToList();
        RunnerSpec.MakeNamesUnique(specs);
        foreach (var spec in specs) RunnerRegistry.Check(spec);
        AtomicFile.CheckTargets(s.Reports.Select(r => r.Path).ToList(), [s.Model, s.LoadInputs]);
        var log = new WriterLog(output, error, s.Verbose, s.Quiet);
        OrtRuntime.Initialize(s.OrtLibrary);
        var model = OnnxModel.Load(s.Model);
        // One sample: the first of the file, or one generated.
        var feeds = InputSamples.LoadOrGenerate(s.LoadInputs is { } path ? [path] : [], model.Inputs, s.Seed, 1, ValueRanges.Parse(s.ValRanges), InputShapes.Parse(s.InputShapes).RequireSingle("polynet bench"), log)[0];
        log.Info($"model: {s.Model}; inputs: {string.Join(", ", feeds.Select(kv => $"{kv.Key} {kv.Value.Describe()}"))}");
        var results = BenchJob.Execute(new BenchOptions
        {
            Model = model, Runners = specs, Feeds = feeds, Warmup = s.Warmup, Iterations = s.Iterations,
            Duration = s.Duration is { } d ? TimeSpan.FromSeconds(d) : null, WithCopies = s.WithCopies,
        }, log);
        var inv = CultureInfo.InvariantCulture;
        foreach (var r in results)
        {
            var l = r.Latency;
            output.WriteLine(string.Create(inv, $"[I] {r.Runner}: {l.Runs} run(s) in {r.Measured.TotalSeconds:0.00} s ({r.Placement})"));
            output.WriteLine(string.Create(inv, $"      latency (ms): min {l.Min:0.000}  median {l.Median:0.000}  mean {l.Mean:0.000}  p90 {l.P90:0.000}  p95 {l.P95:0.000}  p99 {l.P99:0.000}  max {l.Max:0.000}  (std {l.Std:0.000})"));
            output.WriteLine(string.Create(inv, $"      throughput: {r.Throughput:0.0} inferences/s{(r.Batch is { } b ? $" ({r.Throughput * b:0.0} samples/s at batch {b})" : "")}; session built in {Format.Duration(r.Activation)}"));
            if (r.OwnWork is { } own)
                output.WriteLine(string.Create(inv, $"      of which PolyNet's own work (inputs handed over, outputs copied into its arrays, outside ORT's Run): median {own.Median * 1000:0.0} us, p99 {own.P99 * 1000:0.0} us"));
        }
        foreach (var f in ReportRequest<BenchReport>.WriteAll(s.Reports, new BenchReport(s.Model, s.WithCopies, s.Warmup, results))) output.WriteLine($"[I] wrote {f}");
        return ExitCodes.Success;
    }
}
