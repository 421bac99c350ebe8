using System.Text.Json;
using PolyNet.Jobs;
using PolyNet.Onnx.Data;
using PolyNet.Runners;
using PolyNet.Runners.Inputs;
using PolyNet.Runners.Native;
using PolyNet.Runners.Specs;

namespace PolyNet.Reduce.Steps;

/// <summary>
/// The worker side of <see cref="IsolatedSteps"/>: reads one <see cref="StepRequest"/> as JSON, runs it with
/// <see cref="InProcessSteps"/>, and writes one <see cref="StepAnswer"/> as JSON. A step that fails with PolyNet's
/// own error answers <see cref="StepError"/>; anything else (a native crash) ends the process, which the parent sees.
/// What the step logs goes to <paramref name="log"/> (standard error), never into the answer.
/// </summary>
public static class ReduceWorker
{
    public static int Serve(TextReader input, TextWriter output, IJobLog log, RunnerFactory? create = null)
    {
        StepRequest request;
        try
        {
            request = JsonSerializer.Deserialize(input.ReadToEnd(), WorkerJson.Default.StepRequest) ?? throw new JsonException("empty request");
        }
        catch (JsonException e)
        {
            throw new InvalidInputException($"reduce-worker: the request on standard input is not a step of a reduction ({e.Message})");
        }
        StepAnswer answer;
        try
        {
            answer = Run(request, create ?? RunnerRegistry.Create, log);
        }
        catch (PolyNetException e)
        {
            answer = new StepError(e.ExitCode, e.Message);
        }
        output.Write(JsonSerializer.Serialize(answer, WorkerJson.Default.StepAnswer));
        output.Flush();
        return ExitCodes.Success;
    }

    private static StepAnswer Run(StepRequest request, RunnerFactory create, IJobLog log)
    {
        OrtRuntime.Initialize(request.OrtLibrary);
        OrtSession.RunTimeout = request.RunTimeoutSeconds is { } limit ? TimeSpan.FromSeconds(limit) : null;
        switch (request)
        {
            case CheckRequest c:
            {
                var model = OnnxModel.Load(c.Model);
                var inputs = DataFiles.Load(c.Inputs, DataRole.Inputs).Samples.Select(x => InputValidation.ConformBFloat16(model.Inputs, x)).ToList();
                var expected = c.Expected is null ? null : DataFiles.Load(c.Expected, DataRole.Outputs).Samples;
                var subject = new Subject(new Onnx.Transforms.Extracted(model, model.Inputs.Select(i => i.Name).ToList(), model.Outputs.Select(o => o.Name).ToList(), []), inputs, expected);
                var o = new InProcessSteps(c.Tolerances, c.Compare, create, log).Check(c.Condition, subject, RunnerSpec.Parse(c.Candidate));
                return new CheckAnswer(o.Fails, o.Cause, o.TimedOut);
            }
            case ValuesRequest v:
            {
                var model = OnnxModel.Load(v.Model);
                var samples = DataFiles.Load(v.Inputs, DataRole.Inputs).Samples.Select(x => InputValidation.ConformBFloat16(model.Inputs, x)).ToList();
                var values = new InProcessSteps(new ToleranceSet(), new CompareOptions(), create, log).Values(model, RunnerSpec.Parse(v.Reference), samples, v.Tensors);
                DataFiles.Save(v.Output, values, DataRole.Outputs);
                return new ValuesAnswer();
            }
            case TypesRequest t:
                return new TypesAnswer(new InProcessSteps(new ToleranceSet(), new CompareOptions(), create, log).Types(OnnxModel.Load(t.Model)).Values.ToList());
            case LocalizeRequest l:
            {
                var model = OnnxModel.Load(l.Model);
                var sample = InputValidation.ConformBFloat16(model.Inputs, DataFiles.Load(l.Inputs, DataRole.Inputs).Samples[0]);
                return new InProcessSteps(l.Tolerances, l.Compare, create, log).Localize(model, RunnerSpec.Parse(l.Reference), RunnerSpec.Parse(l.Candidate), sample, log);
            }
            default:
                throw new InvalidInputException($"reduce-worker: unknown step {request.GetType().Name}");
        }
    }
}
