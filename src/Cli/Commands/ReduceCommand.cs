using System.CommandLine;
using PolyNet.Runners.Native;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using PolyNet.Compare;
using PolyNet.Jobs;
using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using PolyNet.Reduce;
using PolyNet.Reduce.Steps;
using PolyNet.Runners.Inputs;
using PolyNet.Runners;
using PolyNet.Runners.Specs;

namespace PolyNet.Cli.Commands;

internal sealed record ReduceSettings(
    string Model,
    IReadOnlyList<string> Runners,
    bool FailsToBuild,
    string? Check,
    IReadOnlyList<int> FailCodes,
    IReadOnlyList<string> FailRegex,
    double CheckTimeout,
    string Mode,
    string Artifacts,
    bool Isolate,
    long Seed,
    int Iterations,
    IReadOnlyList<string> ValRanges,
    IReadOnlyList<string> InputShapes,
    string? LoadInputs,
    ToleranceSet Tolerances,
    CompareOptions Options,
    string? OrtLibrary,
    bool Verbose,
    bool Quiet,
    string? Output = null)
{
    public long? UpgradeOpset { get; init; }
}

/// <summary>`polynet reduce MODEL ...`: shrink a failing model to a minimal subgraph that still fails.</summary>
internal static class ReduceCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var model = new Argument<string>("model") { Description = "The failing ONNX model" };
        var runners = MultiValue.Create("--runner",
            "Accuracy: the reference, then the runner under test. --fails-to-build: the runner under test (after an optional reference). --check: the reference that gives cut tensors their values (default onnxrt)",
            "SPEC", RunnerSpecs.LooksLikeSpec);
        var build = new Option<bool>("--fails-to-build") { Description = "The failure: the runner under test cannot build or run the model (with cuda:fallback=0, also: cannot take every node)" };
        var check = new Option<string?>("--check") { Description = "The failure: this shell command fails on the model; {model} and {inputs} become the subgraph's files (without them the model's path is appended)", HelpName = "CMD" };
        var failCode = new Option<int[]>("--fail-code") { Description = "With --check: exit codes that mean failure (default: any non-zero)", HelpName = "N", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = true };
        var failRegex = MultiValue.Create("--fail-regex", "With --check: the check fails only when its output matches one of these", "REGEX", MultiValue.NotAModel);
        var timeout = new Option<double>("--check-timeout") { Description = "With --check: seconds before a check counts as failing (default 600)", DefaultValueFactory = _ => 600, HelpName = "SECONDS" };
        var mode = new Option<string>("--mode") { Description = "auto (accuracy: localization, else bisect then ddmin; otherwise ddmin), ddmin, bisect or linear (Polygraphy's modes)", DefaultValueFactory = _ => "auto", HelpName = "MODE" };
        var artifacts = new Option<string>("--artifacts") { Description = "Folder for reduced.onnx, reduced_inputs.npz, min_good.onnx and checks.jsonl; running again with it resumes (default polynet_reduce)", DefaultValueFactory = _ => "polynet_reduce", HelpName = "DIR" };
        var only = new Option<string?>("--output") { Description = "Accuracy: reduce the failure seen on this output (default: the culprit adding most of the worst output's error)", HelpName = "NAME" };
        var isolate = new Option<bool>("--isolate") { Description = "Run each check in a child process, so a runner's native crash fails the check instead of ending the reduction" };
        var seed = new Option<long>("--seed") { Description = "Seed for generated inputs, and for cut tensors the reference cannot compute (default 1)", DefaultValueFactory = _ => 1 };
        var iterations = new Option<int>("--iterations") { Description = "Generated input samples; every check runs every sample (default 1)", DefaultValueFactory = _ => 1 };
        var valRange = MultiValue.Create("--val-range", "Range of generated values, [LO,HI] or INPUT:[LO,HI] (default [0,1])", "[INPUT:][LO,HI]", MultiValue.LooksLikeRange);
        var shapes = MultiValue.Create("--input-shapes", "Shapes for dynamic inputs, INPUT:1x3x224x224 (one per input)", "INPUT:DIMS", MultiValue.LooksLikeShape);
        var loadInputs = new Option<string?>("--load-inputs") { Description = "Read inputs from .npz, .npy, .pb, Polygraphy .json or a backend test folder", HelpName = "PATH" };
        var tolerances = new ToleranceOptions();
        var upgrade = UpgradeOpsetOption.Create();

        var cmd = new Command("reduce", "Shrink a failing model to a minimal subgraph that still fails: runners disagree (default), --fails-to-build, or --check CMD.");
        cmd.Arguments.Add(model);
        foreach (var o in new Option[] { runners, build, check, failCode, failRegex, timeout, mode, only, artifacts, isolate, seed, iterations, valRange, shapes, loadInputs, upgrade }) cmd.Options.Add(o);
        tolerances.AddTo(cmd);
        cmd.SetAction(p => Execute(new ReduceSettings(
            p.GetValue(model)!, p.GetValue(runners) ?? [], p.GetValue(build), p.GetValue(check), p.GetValue(failCode) ?? [], p.GetValue(failRegex) ?? [], p.GetValue(timeout),
            p.GetValue(mode)!, p.GetValue(artifacts)!, p.GetValue(isolate), p.GetValue(seed), p.GetValue(iterations), p.GetValue(valRange) ?? [], p.GetValue(shapes) ?? [],
            p.GetValue(loadInputs), tolerances.Read(p), tolerances.ReadOptions(p), GlobalOptions.OrtLibrary(p), GlobalOptions.Verbose(p), GlobalOptions.Quiet(p), p.GetValue(only)) { UpgradeOpset = p.GetValue(upgrade) }, output, error));
        return cmd;
    }

    public static int Execute(ReduceSettings s, TextWriter output, TextWriter error)
    {
        ModelUpgrade.Validate(s.UpgradeOpset);
        var specs = s.Runners.Select(RunnerSpec.Parse).ToList();
        RunnerSpec.MakeNamesUnique(specs);
        foreach (var spec in specs) RunnerRegistry.Check(spec);
        if (s.FailsToBuild && s.Check is not null) throw new InvalidInputException("--fails-to-build and --check are two different failures; give one");
        if (s.Check is null && (s.FailCodes.Count > 0 || s.FailRegex.Count > 0)) throw new InvalidInputException("--fail-code and --fail-regex apply to --check");
        if (!(s.CheckTimeout > 0)) throw new InvalidInputException($"--check-timeout {s.CheckTimeout}: must be positive");
        if (s.Iterations < 1) throw new InvalidInputException($"--iterations {s.Iterations}: must be at least 1");
        var condition = s.Check is not null ? Condition.External : s.FailsToBuild ? Condition.Build : Condition.Accuracy;
        var strategy = s.Mode.ToLowerInvariant() switch
        {
            "auto" => Strategy.Auto,
            "ddmin" => Strategy.Ddmin,
            "bisect" => Strategy.Bisect,
            "linear" => Strategy.Linear,
            _ => throw new InvalidInputException($"--mode {s.Mode}: expected auto, ddmin, bisect or linear"),
        };
        var (reference, candidate) = (condition, specs.Count) switch
        {
            (Condition.Accuracy, 2) => (specs[0], specs[1]),
            (Condition.Accuracy, _) => throw new InvalidInputException("an accuracy reduction needs two runners: --runner REFERENCE --runner CANDIDATE (or --fails-to-build, or --check CMD)"),
            (Condition.Build, 1) => (RunnerRegistry.Reference(), specs[0]),
            (Condition.Build, 2) => (specs[0], specs[1]),
            (Condition.Build, _) => throw new InvalidInputException("--fails-to-build needs the runner under test: --runner SPEC (after an optional reference runner)"),
            (_, 0) => (RunnerRegistry.Reference(), (RunnerSpec?)null),
            (_, 1) => (specs[0], (RunnerSpec?)null),
            _ => throw new InvalidInputException("with --check, give at most one --runner (the reference that gives cut tensors their values)"),
        };
        var regexes = new List<Regex>();
        foreach (var r in s.FailRegex)
        {
            try { regexes.Add(new Regex(r, RegexOptions.Multiline, TimeSpan.FromSeconds(5))); }
            catch (ArgumentException e) { throw new InvalidInputException($"--fail-regex '{r}': {e.Message}"); }
        }

        // What the reduction writes may not be what it reads (the model, the inputs), not even through a link.
        AtomicFile.CheckTargets([.. Reducer.ArtifactFiles(s.Artifacts), s.Output], [s.Model, s.LoadInputs], foldersMayBeMade: true);
        var log = new WriterLog(output, error, s.Verbose, s.Quiet);
        OrtRuntime.Initialize(s.OrtLibrary);
        var model = ModelUpgrade.Apply(OnnxModel.Load(s.Model), s.UpgradeOpset, log);
        log.Info($"model: {s.Model} ({model.Graph.Node.Count} nodes); failure: {condition switch { Condition.Accuracy => $"{candidate!.Text} differs from {reference.Text}", Condition.Build => $"{candidate!.Text} cannot build or run it", _ => $"'{s.Check}' fails" }}");
        var samples = Samples(s, model, log);

        using var cancel = new CancellationTokenSource();
        void OnSignal(PosixSignalContext context)
        {
            if (cancel.IsCancellationRequested) return;
            context.Cancel = true;
            cancel.Cancel();
            error.WriteLine($"[W] interrupted: stopping after the check under way; run the same command again to resume from {s.Artifacts}");
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

        var result = Reducer.Run(new ReduceOptions
        {
            Model = model,
            Reference = reference,
            Candidate = candidate,
            Condition = condition,
            Check = s.Check is null ? null : new ExternalCheck(s.Check, s.FailCodes, regexes, TimeSpan.FromSeconds(s.CheckTimeout)),
            Strategy = strategy,
            Samples = samples,
            Seed = s.Seed,
            Tolerances = s.Tolerances,
            Compare = s.Options,
            Artifacts = s.Artifacts,
            Isolate = s.Isolate,
            Output = s.Output,
            OrtLibrary = s.OrtLibrary,
        }, log, cancel.Token);

        foreach (var n in result.Notes) output.WriteLine($"[W] {n}");
        output.WriteLine($"[I] reduced {result.OriginalNodes} node(s) to {result.Reduced.Count} with {result.Checks} check(s){(result.ChecksResumed > 0 ? $" ({result.ChecksResumed} more taken from an earlier run)" : "")} and {result.ModelRuns} whole-model run(s); strategy {result.Strategy}{(result.WorkerProcesses > 0 ? $"; {result.WorkerProcesses} step(s) in worker processes" : "")}");
        output.WriteLine($"[I] the reduced subgraph: {string.Join(", ", result.ReducedNodeNames.Take(12))}{(result.Reduced.Count > 12 ? ", ..." : "")}");
        output.WriteLine($"[I] it fails: {result.Cause}");
        output.WriteLine($"[I] wrote {result.ReducedModel}, {result.ReducedInputs}{(result.MinGoodModel is null ? "" : $", {result.MinGoodModel} (the closest passing subgraph)")} and {Path.Combine(s.Artifacts, CheckLog.FileName)}");
        return ExitCodes.Success;
    }

    /// <summary>`polynet reduce-worker`: one step of an isolated reduction, as data on stdin, answered as data on stdout (not for people).</summary>
    public static Command Worker(TextReader input, TextWriter output, TextWriter error)
    {
        var cmd = new Command("reduce-worker", "Run one step of an isolated reduction: a JSON request on standard input, a JSON answer on standard output (used by reduce --isolate).") { Hidden = true };
        cmd.SetAction(p => PolyNet.Reduce.Steps.ReduceWorker.Serve(input, output, new WriterLog(error, error, GlobalOptions.Verbose(p), quiet: true)));
        return cmd;
    }

    private static IReadOnlyList<ValueMap> Samples(ReduceSettings s, OnnxModel model, IJobLog log)
        => InputSamples.LoadOrGenerate(s.LoadInputs is { } path ? [path] : [], model.Inputs, s.Seed, s.Iterations, ValueRanges.Parse(s.ValRanges), InputShapes.Parse(s.InputShapes).RequireSingle("polynet reduce"), log);
}
