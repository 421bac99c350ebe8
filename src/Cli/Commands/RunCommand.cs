using System.CommandLine;
using PolyNet.Compare;
using PolyNet.Jobs;
using PolyNet.Jobs.Layerwise;
using PolyNet.Jobs.Runs;
using PolyNet.Reports;
using PolyNet.Onnx;
using PolyNet.Runners.Inputs;
using PolyNet.Runners.Native;
using PolyNet.Runners;
using PolyNet.Runners.Specs;

namespace PolyNet.Cli.Commands;

/// <summary>Typed values of `polynet run`.</summary>
internal sealed record RunSettings(
    string Model,
    IReadOnlyList<string> Runners,
    string? OrtLibrary,
    long Seed,
    int Iterations,
    IReadOnlyList<string> ValRanges,
    IReadOnlyList<string> InputShapes,
    string? LoadInputs,
    string? SaveInputs,
    string? LoadOutputs,
    string? SaveOutputs,
    ToleranceSet Tolerances,
    CompareOptions Options,
    IReadOnlyList<ReportRequest<RunReport>> Reports,
    bool Verbose,
    bool Quiet)
{
    public bool MarkAll { get; init; }
    public IReadOnlyList<string> Marks { get; init; } = [];
    public string? MarkFile { get; init; }
    public string? MaxMemory { get; init; }
    public bool Localize { get; init; } = true;
    public long? UpgradeOpset { get; init; }
}

/// <summary>`polynet run MODEL --runner KIND[:key=value,...] ...`: run every configuration on the same inputs and compare.</summary>
internal static class RunCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var model = new Argument<string>("model") { Description = "The ONNX model (.onnx; external data beside it is found)" };
        var runners = MultiValue.Create("--runner",
            "A runner configuration, KIND[:key=value,...]; repeat for several. The first is the reference. Kinds and keys: 'polynet runners'",
            "SPEC", RunnerSpecs.LooksLikeSpec);
        var seed = new Option<long>("--seed") { Description = "Seed for generated inputs (default 1)", DefaultValueFactory = _ => 1 };
        var iterations = new Option<int>("--iterations") { Description = "Number of generated input samples (default 1)", DefaultValueFactory = _ => 1 };
        var valRange = MultiValue.Create("--val-range", "Range of generated values, [LO,HI] or INPUT:[LO,HI] (default [0,1])", "[INPUT:][LO,HI]", MultiValue.LooksLikeRange);
        var shapes = MultiValue.Create("--input-shapes", "Shapes for dynamic inputs, INPUT:1x3x224x224; an input given again starts another shape set and the comparison runs at each (a sweep)", "INPUT:DIMS", MultiValue.LooksLikeShape);
        var loadInputs = new Option<string?>("--load-inputs") { Description = "Read inputs from .npz, .npy, .pb or an ONNX backend test folder (test_data_set_N/input_K.pb)", HelpName = "PATH" };
        var saveInputs = new Option<string?>("--save-inputs") { Description = "Write the inputs used to .npz", HelpName = "FILE" };
        var loadOutputs = new Option<string?>("--load-outputs") { Description = "Also compare every runner with stored outputs (.npz, .npy, .pb, backend test folder); they are the reference", HelpName = "PATH" };
        var saveOutputs = new Option<string?>("--save-outputs") { Description = "Write each runner's outputs to .npz (FILE.RUNNER.npz when several runners)", HelpName = "FILE" };
        var reports = new ReportOptions<RunReport>(ReportFormats.Run);
        var tolerances = new ToleranceOptions();
        var markAll = new Option<bool>("--mark-all") { Description = "Also compare every intermediate tensor, in topological order, name the first that diverges, and find the nodes that introduce the error" };
        var mark = MultiValue.Create("--mark", "Also compare these intermediate tensors", "TENSOR", MultiValue.NotAModel);
        var markFile = new Option<string?>("--mark-file") { Description = "Also compare the tensors named in FILE (one per line; # starts a comment)", HelpName = "FILE" };
        var maxMemory = new Option<string?>("--max-memory") { Description = "Bound on marked tensor values held at once, all runners together (default: 2G, or a quarter of memory when less); more tensors are compared in chunks", HelpName = "SIZE" };
        var upgrade = UpgradeOpsetOption.Create();
        var noLocalize = new Option<bool>("--no-localize") { Description = "With marked tensors: do not run diverging nodes alone to find the ones that introduce the error" };

        var cmd = new Command("run", "Run the model through each runner configuration on the same inputs and compare every output with the first's.");
        cmd.Arguments.Add(model);
        foreach (var o in new Option[] { runners, seed, iterations, valRange, shapes, loadInputs, saveInputs, loadOutputs, saveOutputs, markAll, mark, markFile, maxMemory, noLocalize, upgrade }) cmd.Options.Add(o);
        tolerances.AddTo(cmd);
        reports.AddTo(cmd);
        cmd.SetAction(p => Execute(new RunSettings(
            p.GetValue(model)!, p.GetValue(runners) ?? [], GlobalOptions.OrtLibrary(p), p.GetValue(seed), p.GetValue(iterations),
            p.GetValue(valRange) ?? [], p.GetValue(shapes) ?? [], p.GetValue(loadInputs), p.GetValue(saveInputs),
            p.GetValue(loadOutputs), p.GetValue(saveOutputs), tolerances.Read(p), tolerances.ReadOptions(p, reports.Read(p).Any(r => r.Writer.ShowsPassingOutputs)), reports.Read(p),
            GlobalOptions.Verbose(p), GlobalOptions.Quiet(p))
        {
            MarkAll = p.GetValue(markAll), Marks = p.GetValue(mark) ?? [], MarkFile = p.GetValue(markFile), MaxMemory = p.GetValue(maxMemory), Localize = !p.GetValue(noLocalize), UpgradeOpset = p.GetValue(upgrade),
        }, output, error));
        return cmd;
    }

    /// <summary>The layerwise options, or null when nothing is marked.</summary>
    private static MarkOptions? Marks(RunSettings s)
    {
        var names = new List<string>(s.Marks);
        if (s.MarkFile is { } file)
        {
            if (!File.Exists(file)) throw InvalidInputException.ForFile(file, "no such file");
            foreach (var line in File.ReadLines(file))
            {
                var t = line.Split('#')[0].Trim();
                if (t.Length > 0) names.Add(t);
            }
            if (names.Count == s.Marks.Count) throw InvalidInputException.ForFile(file, "names no tensor (one name per line; # starts a comment)");
        }
        long maxMemory = s.MaxMemory is null ? MarkOptions.DefaultMaxMemory : Sizes.Parse("--max-memory", s.MaxMemory);
        if (!s.MarkAll && names.Count == 0)
        {
            if (s.MaxMemory is not null || !s.Localize) throw new InvalidInputException("--max-memory and --no-localize apply to layerwise comparison: add --mark-all, --mark or --mark-file");
            return null;
        }
        if (s.MarkAll && names.Count > 0) throw new InvalidInputException("--mark-all already marks every tensor; drop --mark/--mark-file, or --mark-all");
        return new MarkOptions { All = s.MarkAll, Names = names, MaxMemory = maxMemory, Localize = s.Localize };
    }

    public static int Execute(RunSettings s, TextWriter output, TextWriter error)
    {
        ModelUpgrade.Validate(s.UpgradeOpset);
        if (s.Iterations < 1) throw new InvalidInputException($"--iterations {s.Iterations}: must be at least 1");
        var specs = s.Runners.Select(RunnerSpec.Parse).ToList();
        if (specs.Count == 0)
        {
            if (s.LoadOutputs is null)
                throw new InvalidInputException("nothing to compare: give two or more --runner configurations (e.g. --runner onnxrt --runner onnxrt:opt=disable), or one with --load-outputs");
            specs.Add(RunnerRegistry.Reference());
        }
        if (specs.Count == 1 && s.LoadOutputs is null && s.SaveOutputs is null && s.SaveInputs is null)
            throw new InvalidInputException($"nothing to compare: one runner ({specs[0].Text}) and no --load-outputs; add a second --runner, compare with stored outputs, or --save-outputs (--save-inputs) to keep this runner's outputs (its inputs) for later");
        RunnerSpec.MakeNamesUnique(specs);
        // Every file this run will write, the per-runner names of --save-outputs included, checked against what it reads.
        var saved = s.SaveOutputs is null ? [] : specs.Count == 1 || Path.GetExtension(s.SaveOutputs).Equals(".json", StringComparison.OrdinalIgnoreCase)
            ? [s.SaveOutputs] : specs.Select(sp => RunJob.PathFor(s.SaveOutputs, sp.Name)).ToList();
        AtomicFile.CheckTargets([.. s.Reports.Select(r => r.Path), s.SaveInputs, .. saved], [s.Model, s.LoadInputs, s.LoadOutputs]);
        if (saved.Count != saved.Distinct().Count()) throw new InvalidInputException($"--save-outputs {s.SaveOutputs}: two runners would write the same file");
        var log = new WriterLog(output, error, s.Verbose, s.Quiet);
        // Settings that would change nothing are said, never silently ignored.
        if (s.LoadInputs is not null)
            foreach (var (given, option) in new[] { (s.ValRanges.Count > 0, "--val-range"), (s.InputShapes.Count > 0, "--input-shapes"), (s.Iterations != 1, "--iterations"), (s.Seed != 1, "--seed") })
                if (given) log.Warning($"{option} applies to generated inputs; with --load-inputs it changes nothing");
        foreach (var w in s.Tolerances.Ineffective()) log.Warning(w);
        OrtRuntime.Initialize(s.OrtLibrary);
        var model = ModelUpgrade.Apply(OnnxModel.Load(s.Model), s.UpgradeOpset, log);
        int inBodies = ModelWalker.GraphAndSubgraphs(model.Graph).Skip(1).Sum(g => g.Node.Count);
        log.Info($"model: {s.Model} (opset {model.OpsetVersion()?.ToString() ?? "?"}, {model.Graph.Node.Count} nodes{(inBodies > 0 ? $", {inBodies} more inside If/Loop/Scan bodies" : "")})");
        var options = new RunJobOptions
        {
            Model = model,
            Runners = specs,
            LoadInputs = s.LoadInputs is null ? [] : [s.LoadInputs],
            Seed = s.Seed,
            Iterations = s.Iterations,
            ValueRanges = ValueRanges.Parse(s.ValRanges),
            InputShapes = InputShapes.Parse(s.InputShapes),
            SaveInputs = s.SaveInputs,
            SaveOutputs = s.SaveOutputs,
            LoadOutputs = s.LoadOutputs,
            Tolerances = s.Tolerances,
            Compare = s.Options,
            Marks = Marks(s),
        };
        var report = new TextReport(output, s.Verbose);
        var result = RunJob.Execute(options, log, p =>
        {
            if (!s.Quiet || !p.Passed) report.Pair(p);
        });
        // With a TensorRT runner, the static answer to "which nodes will TensorRT take" goes with the result.
        var capability = specs.Any(sp => RunnerRegistry.KindOf(sp).Name == Runners.Ort.TensorRtRunner.Kind) ? CapabilityCommand.Analyze(model, null, error) : null;
        if (capability is not null)
            log.Info($"TensorRT {capability.TrtVersion}'s support table: {Reports.CapabilityHtml.Verdict(capability)} ('polynet inspect capability' for each node)");
        var written = ReportRequest<RunReport>.WriteAll(s.Reports, new RunReport(result, s.Model, $"polynet run {Path.GetFileName(s.Model)} " + string.Join(" ", specs.Select(r => "--runner " + r.Text))) { Capability = capability });
        if (result.Layerwise is { } layers)
            report.Layerwise(layers, shapeSet: result.ShapeSets?.FirstOrDefault(x => x.Samples.Contains(layers.Sample)) is { } set ? $"{set.Index + 1}, {set.Shapes}" : null);
        report.Summary(result);
        foreach (var f in written) output.WriteLine($"[I] wrote {f}");
        return result.Passed ? ExitCodes.Success : ExitCodes.Mismatch;
    }
}

/// <summary>Byte sizes on the command line (<see cref="ByteSize"/>), which must be positive.</summary>
internal static class Sizes
{
    public static long Parse(string option, string text) => ByteSize.TryParse(text, out var b) && b > 0
        ? b : throw new InvalidInputException($"{option} {text}: expected a size such as 512M, 4G or 1073741824");
}

/// <summary>The job log on the CLI's writers: progress to stdout, warnings to stderr.</summary>
internal sealed class WriterLog(TextWriter output, TextWriter error, bool verbose, bool quiet) : IJobLog
{
    private readonly Lock _gate = new();

    /// <summary>Thread-safe: runners' messages arrive from ONNX Runtime's threads.</summary>
    public void Write(LogLevel level, string message)
    {
        lock (_gate) WriteLine(level, message);
    }

    private void WriteLine(LogLevel level, string message)
    {
        switch (level)
        {
            case LogLevel.Warning: error.WriteLine($"[W] {message}"); break;
            case LogLevel.Verbose: if (verbose) output.WriteLine($"[V] {message}"); break;
            default: if (!quiet) output.WriteLine($"[I] {message}"); break;
        }
    }
}
