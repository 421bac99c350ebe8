using System.Text.Json;
using PolyNet.Jobs;
using PolyNet.Onnx.Data;
using PolyNet.Runners;
using PolyNet.Runners.Specs;

namespace PolyNet.Reduce.Steps;

/// <summary>
/// Every step in a worker process (`polynet reduce-worker`): the request goes to its standard input as JSON, with
/// models and tensors as files in <paramref name="workDir"/>, and the answer comes back as JSON on its standard
/// output. A worker ended by a signal crashed: a check it was running fails ("the runner crashed"), any other step
/// counts as the runner failing. Nothing a worker prints for people is read.
/// </summary>
/// <param name="worker">The command that starts a worker (the polynet executable and "reduce-worker").</param>
public sealed class IsolatedSteps(string workDir, IReadOnlyList<string> worker, ToleranceSet tolerances, CompareOptions compare, string? ortLibrary, TimeSpan timeout) : IStepRunner
{
    /// <summary>The polynet beside this assembly, as a worker command.</summary>
    public static IReadOnlyList<string> DefaultWorker()
    {
        var dir = AppContext.BaseDirectory;
        var apphost = Path.Combine(dir, "polynet");
        return File.Exists(apphost) ? [apphost, "reduce-worker"] : ["dotnet", Path.Combine(dir, "polynet.dll"), "reduce-worker"];
    }

    public IReadOnlyDictionary<string, ValueSpec> Types(OnnxModel model)
    {
        var answer = Ask(new TypesRequest(ModelFile(model)), "infer the model's types");
        return ((TypesAnswer)answer).Types.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    public IReadOnlyList<ValueMap> Values(OnnxModel model, RunnerSpec reference, IReadOnlyList<ValueMap> samples, IReadOnlyList<string> tensors)
    {
        var inputs = Save("values_inputs.npz", samples);
        var output = Path.Combine(Directory.CreateDirectory(workDir).FullName, "values.npz");
        Ask(new ValuesRequest(ModelFile(model), inputs, reference.Text, tensors, output), "compute the reference's values");
        return DataFiles.Load(output, DataRole.Outputs).Samples;
    }

    public LocalizeAnswer Localize(OnnxModel model, RunnerSpec reference, RunnerSpec candidate, ValueMap sample, IJobLog log)
        => (LocalizeAnswer)Ask(new LocalizeRequest(ModelFile(model), Save("localize_inputs.npz", [sample]), reference.Text, candidate.Text, tolerances, compare), "localize");

    public Outcome Check(Condition condition, Subject s, RunnerSpec candidate)
    {
        Directory.CreateDirectory(workDir);
        var model = Path.Combine(workDir, "check.onnx");
        s.Graph.Model.Save(model);
        var expected = condition == Condition.Accuracy ? Save("expected.npz", s.ExpectedOutputs!) : null;
        var request = new CheckRequest(condition, model, Save("check_inputs.npz", s.Inputs), expected, candidate.Text, tolerances, compare) { OrtLibrary = ortLibrary };
        var r = Start(request);
        if (r.TimedOut) return new Outcome(true, $"the check's worker process hung ({timeout.TotalMinutes:0} min)");
        if (r.Signal is { } sig) return new Outcome(true, $"the runner crashed (worker process ended by signal {sig})", Crashed: true);
        return Read(r) switch
        {
            CheckAnswer a => new Outcome(a.Fails, a.Cause, TimedOut: a.TimedOut),
            StepError e => new Outcome(false, $"the check could not run ({e.Message})"),
            var other => throw new InvalidOperationException($"the worker answered a check with {other?.GetType().Name ?? "nothing"}"),
        };
    }

    /// <summary>Runs a step that is not a check; failures come back as the exceptions the step would throw here.</summary>
    private StepAnswer Ask(StepRequest request, string what)
    {
        var r = Start(request with { OrtLibrary = ortLibrary });
        if (r.TimedOut) throw new RunnerException($"the worker process hung ({timeout.TotalMinutes:0} min) trying to {what}");
        if (r.Signal is { } sig) throw new RunnerException($"the worker process crashed (signal {sig}) trying to {what}");
        return Read(r) switch
        {
            StepError { ExitCode: ExitCodes.RunnerFailed } e => throw new RunnerException(e.Message),
            StepError e => throw new InvalidInputException(e.Message),
            var a => a,
        };
    }

    /// <summary>Worker processes started so far.</summary>
    public int Started { get; private set; }

    private ChildResult Start(StepRequest request)
    {
        Started++;
        // The command's time limit for one inference travels with every step.
        request = request with { RunTimeoutSeconds = Runners.Native.OrtSession.RunTimeout?.TotalSeconds };
        return ChildProcess.Run(worker, JsonSerializer.Serialize(request, WorkerJson.Default.StepRequest), timeout);
    }

    private static StepAnswer Read(ChildResult r)
    {
        try
        {
            if (JsonSerializer.Deserialize(r.Output, WorkerJson.Default.StepAnswer) is { } answer) return answer;
        }
        catch (JsonException)
        {
        }
        var last = r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault()?.Trim() ?? "";
        throw new RunnerException($"the worker process gave no answer (exit {r.Code}){(last.Length > 0 ? $": {last}" : "")}");
    }

    /// <summary>The model's own file when it has one; else (a model made in memory) a copy in the work folder.</summary>
    private string ModelFile(OnnxModel model)
    {
        if (model.Path is { } path) return Path.GetFullPath(path);
        Directory.CreateDirectory(workDir);
        var file = Path.Combine(workDir, "model.onnx");
        model.Save(file);
        return file;
    }

    private string Save(string name, IReadOnlyList<ValueMap> samples)
    {
        var path = Path.Combine(Directory.CreateDirectory(workDir).FullName, name);
        DataFiles.Save(path, samples, DataRole.Inputs);
        return path;
    }
}
