using PolyNet.Jobs;
using PolyNet.Jobs.Layerwise;
using PolyNet.Jobs.Runs;
using PolyNet.Runners;
using PolyNet.Runners.Inspect;
using PolyNet.Runners.Specs;

namespace PolyNet.Reduce.Steps;

/// <summary>The steps run here, with runners from <paramref name="create"/>, judged by <paramref name="tolerances"/>.</summary>
public sealed class InProcessSteps(ToleranceSet tolerances, CompareOptions compare, RunnerFactory create, IJobLog? log = null) : IStepRunner
{
    public IReadOnlyDictionary<string, ValueSpec> Types(OnnxModel model) => OrtTypes.Infer(model);

    public IReadOnlyList<ValueMap> Values(OnnxModel model, RunnerSpec reference, IReadOnlyList<ValueMap> samples, IReadOnlyList<string> tensors)
    {
        var outputs = model.Graph.Output.Select(x => x.Name).ToHashSet(StringComparer.Ordinal);
        using var r = create(reference, new RunnerContext { Model = model, ExtraOutputs = tensors.Where(t => !outputs.Contains(t)).ToList(), Log = log?.ForRunner(reference) });
        r.Activate();
        return samples.Select(s => r.Infer(s)).ToList();
    }

    public LocalizeAnswer Localize(OnnxModel model, RunnerSpec reference, RunnerSpec candidate, ValueMap sample, IJobLog log)
    {
        var job = new RunJobOptions
        {
            Model = model,
            Runners = [reference, candidate],
            Samples = [sample],
            Tolerances = tolerances,
            Compare = compare,
            Marks = new MarkOptions { All = true },
            CreateRunner = create,
        };
        var layers = RunJob.Execute(job, log).Layerwise!;
        var cand = layers.Candidates[0];
        // The culprit adding most of the worst output's error first (attribution), so the reduction ends on the failure
        // that matters rather than on whichever culprit comes first.
        var order = (cand.Localization?.Attribution ?? []).Select((a, i) => (a.Node, i)).ToDictionary(x => x.Node, x => x.i, StringComparer.Ordinal);
        var culprits = (cand.Localization?.Culprits ?? []).OrderBy(c => order.TryGetValue(c.NodeLabel, out var r) ? r : int.MaxValue).ToList();
        return new LocalizeAnswer(culprits.Select(c => c.Node).ToList(), culprits.Select(c => c.NodeLabel).ToList(),
            cand.FirstDivergence is { } f ? $"'{f.Tensor}' from {f.NodeLabel}" : null,
            2 + layers.Runs, // the plain comparison, then the marked runs
            cand.Localization?.Runs ?? 0,
            cand.Localization is { Attribution: [var top, ..], WorstOutput: { } worst } && top.Share(worst) is { } share
                ? $"{top.Node} adds {Format.Number(100 * share)}% of {worst}'s error" : null);
    }

    public Outcome Check(Condition condition, Subject s, RunnerSpec candidate)
    {
        try
        {
            using var c = create(candidate, new RunnerContext { Model = s.Graph.Model, Log = log?.ForRunner(candidate) });
            c.Activate();
            for (int k = 0; k < s.Inputs.Count; k++)
            {
                var outs = c.Infer(s.Inputs[k]);
                if (condition != Condition.Accuracy) continue;
                var pair = PairComparer.Compare(k, "reference", s.ExpectedOutputs![k], c.Name, outs, tolerances, compare with { Explain = ExplainMode.None }, onlyShared: true, candPrecision: c.Precision);
                if (pair.Outputs.FirstOrDefault(x => !x.Passed) is { } bad)
                    return new Outcome(true, $"{bad.Output}: {bad.Reason}{(bad.Metrics is { } m ? $", max abs {Format.Number(m.AbsError.Max)}" : "")}{(s.Inputs.Count > 1 ? $" (sample {k})" : "")}");
            }
            return condition == Condition.Accuracy ? new Outcome(false, "outputs within tolerance") : new Outcome(false, "builds and runs");
        }
        catch (RunnerException e)
        {
            return condition == Condition.Accuracy
                ? new Outcome(false, $"the candidate failed otherwise ({e.Message}): not the accuracy failure being reduced", TimedOut: e.TimedOut)
                : new Outcome(true, e.Message, TimedOut: e.TimedOut);
        }
    }
}
