using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using PolyNet.Jobs;
using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using PolyNet.Onnx.Proto;
using PolyNet.Jobs.Layerwise;
using PolyNet.Onnx.Transforms;
using PolyNet.Reduce.Steps;
using PolyNet.Runners;

namespace PolyNet.Reduce;

/// <summary>What a reduction found and what it cost.</summary>
public sealed class ReduceResult
{
    public required int OriginalNodes { get; init; }
    /// <summary>Node indices (into the original graph) of the smallest failing subgraph found.</summary>
    public required IReadOnlyList<int> Reduced { get; init; }
    public required IReadOnlyList<string> ReducedNodeNames { get; init; }
    /// <summary>Why the reduced subgraph fails (the last failing check's cause).</summary>
    public required string Cause { get; init; }
    public required string ReducedModel { get; init; }
    public required string ReducedInputs { get; init; }
    /// <summary>The passing subgraph closest in size to the reduced one, when one was checked.</summary>
    public string? MinGoodModel { get; init; }
    /// <summary>Checks run by this invocation, and checks taken from an earlier run's checks.jsonl.</summary>
    public required int Checks { get; init; }
    public required int ChecksResumed { get; init; }
    /// <summary>Whole-model runs besides checks: the reference's values, the layerwise pass and localization.</summary>
    public required int ModelRuns { get; init; }
    /// <summary>Of those, the layerwise pass (strategy auto, accuracy) and the localization after it.</summary>
    public int LayerwiseRuns { get; init; }
    public int LocalizationRuns { get; init; }
    public required string Strategy { get; init; }
    public required IReadOnlyList<string> Notes { get; init; }
    /// <summary>Steps run in worker processes (--isolate, or after a crash).</summary>
    public int WorkerProcesses { get; init; }
}

/// <summary>
/// Shrinks a model to a small subgraph that still fails, with few checks. Every check is a set of nodes of the original
/// graph: its subgraph is cut out, tensors entering it from outside are fed the reference's values for every sample,
/// and the condition decides. Verdicts are cached by node set (no subgraph is checked twice) and logged to
/// checks.jsonl, from which a killed reduction resumes (the check it died in runs again, in a child process from then
/// on, since the death may have been a native crash). The smallest failing subgraph so far is written to reduced.onnx
/// (with reduced_inputs.npz) each time it improves, so an interruption keeps the best found.
///
/// Strategy auto: for accuracy, one layerwise pass with localization names the nodes that introduce the error, and the
/// first of them that fails alone is the answer (one check); otherwise bisect, then ddmin inside what bisect kept. For
/// build failures and external checks: ddmin (a single culprit in ⌈log2 N⌉ + 1 checks; pairs and worse by classic ddmin).
///
/// Before searching, the whole model must fail (else there is nothing to reduce) and a one-node Identity model must
/// pass (else the check fails whatever it is given); both are one-line errors.
/// </summary>
public static class Reducer
{
    public const string ReducedModelFile = "reduced.onnx", ReducedInputsFile = "reduced_inputs.npz", MinGoodFile = "min_good.onnx";

    /// <summary>Every file a reduction writes into <paramref name="artifacts"/> (checked against its inputs before any work).</summary>
    public static IReadOnlyList<string> ArtifactFiles(string artifacts)
        => [.. new[] { ReducedModelFile, ReducedInputsFile, MinGoodFile, CheckLog.FileName }.Select(f => Path.Combine(artifacts, f))];

    public static ReduceResult Run(ReduceOptions o, IJobLog log, CancellationToken cancel = default)
    {
        var model = o.Model;
        if (model.Graph.Node.Count == 0) throw new InvalidInputException($"{model.DisplayName}: the graph has no nodes; nothing to reduce");
        if (o.Condition != Condition.External && o.Candidate is null) throw new InvalidInputException("reduce needs the runner under test (--runner)");
        var view = new GraphView(model.Graph);
        var order = view.TopologicalOrder().ToList();
        var notes = new List<string>();
        if (o.Output is { } only)
        {
            // The failure seen on one output: the model as that output needs it (the others and what only they need dropped).
            if (o.Condition != Condition.Accuracy) throw new InvalidInputException($"--output {only}: applies to an accuracy reduction (two runners), not to --fails-to-build or --check");
            if (model.Graph.Output.All(x => x.Name != only))
                throw new InvalidInputException($"--output {only}: {model.DisplayName} has no output named '{only}' (outputs: {string.Join(", ", model.Graph.Output.Select(x => x.Name))})");
            if (model.Graph.Output.Count > 1)
            {
                var proto = model.Proto.Clone();
                var kept = proto.Graph.Output.Where(x => x.Name == only).ToList();
                proto.Graph.Output.Clear();
                proto.Graph.Output.AddRange(kept);
                var pruned = Cleanup.Apply(model.WithProto(proto));
                model = pruned.Model;
                o = o with { Model = model };
                view = new GraphView(model.Graph);
                order = view.TopologicalOrder().ToList();
                notes.Add($"reducing the failure seen on output '{only}': the other outputs and the {pruned.NodesRemoved} node(s) only they need are left out");
                log.Info(notes[^1]);
            }
        }
        Directory.CreateDirectory(o.Artifacts);
        var workDir = Path.Combine(o.Artifacts, "check");
        var inProcess = new InProcessSteps(o.Tolerances, o.Compare, o.CreateRunner, log);
        var isolated = new IsolatedSteps(workDir, o.WorkerCommand ?? IsolatedSteps.DefaultWorker(), o.Tolerances, o.Compare, o.OrtLibrary, o.WorkerTimeout);
        IStepRunner steps = o.Isolate ? isolated : inProcess;
        // Control flow: If nodes the samples all take the same way are replaced by their branch, so the reduction can
        // end inside one (the reduced model then computes what the original does for inputs that take those branches).
        if (model.Graph.Node.Any(n => n.OpType == "If" && n.Domain is "" or "ai.onnx"))
        {
            try
            {
                var flat = Flattening.ForSamples(model, o.Samples, (m, tensors) => steps.Values(m, o.Reference, o.Samples, tensors), log);
                if (flat.Inlined.Count > 0)
                {
                    o = o with { Model = flat.Model };
                    model = flat.Model;
                    view = new GraphView(model.Graph);
                    order = view.TopologicalOrder().ToList();
                    notes.Add($"{flat.Inlined.Count} If node(s) replaced by the branch every sample takes, so the reduction can end inside one: {string.Join(", ", flat.Inlined.Take(4).Select(i => $"{i.Node} ({i.Branch})"))}{(flat.Inlined.Count > 4 ? ", ..." : "")}");
                    log.Info(notes[^1]);
                }
            }
            catch (RunnerException e)
            {
                notes.Add($"the If nodes stay whole: the reference could not tell which branches the samples take ({e.Message})");
                log.Warning(notes[^1]);
            }
        }
        var types = TypeTable.For(model, steps);
        var values = new ReferenceValues(o, types, () => steps);
        var checker = new Checker(o, types, values, steps);
        using var checks = CheckLog.Open(o.Artifacts, Fingerprint(o), Describe(o));
        var earlier = checks.Results.Keys.ToHashSet(StringComparer.Ordinal);
        var reused = new HashSet<string>(StringComparer.Ordinal);
        var died = checks.Interrupted;
        if (died is not null && o.Condition != Condition.External && !o.Isolate)
        {
            notes.Add($"an earlier run ended during the check of {CheckLog.Parse(died).Count} node(s) (killed, or a native crash): that check runs again in a worker process");
            log.Warning(notes[^1]);
        }
        if (earlier.Count > 0) log.Info($"resuming: {earlier.Count} check(s) already decided in {Path.Combine(o.Artifacts, CheckLog.FileName)}");

        int run = 0;
        List<int>? best = null;
        string bestCause = "";
        var reducedPath = Path.Combine(o.Artifacts, ReducedModelFile);
        var inputsPath = Path.Combine(o.Artifacts, ReducedInputsFile);

        Outcome Test(IReadOnlyList<int> nodes)
        {
            cancel.ThrowIfCancellationRequested();
            var key = CheckLog.Key(nodes);
            Outcome outcome;
            if (checks.Results.TryGetValue(key, out var known))
            {
                outcome = new Outcome(known.Fails, known.Cause);
                if (earlier.Contains(key)) reused.Add(key);
            }
            else
            {
                int number = checks.Count + 1;
                checks.Started(number, key, nodes.Count);
                var watch = Stopwatch.StartNew();
                // The check an earlier run died in runs in a worker: if it crashes there, the crash was native and
                // every later step runs isolated; if not, the earlier run was killed and the reduction goes on here.
                bool retry = key == died && checker.Steps == inProcess;
                if (retry) checker.Steps = isolated;
                outcome = checker.Run(nodes, workDir);
                if (retry && outcome.Crashed)
                {
                    steps = isolated;
                    notes.Add("that check crashed its worker: the remaining steps run in worker processes too");
                    log.Warning(notes[^1]);
                }
                else if (retry) checker.Steps = inProcess;
                checks.Finished(new CheckRecord(number, key, nodes.Count, outcome.Fails, outcome.Cause, watch.Elapsed.TotalMilliseconds));
                run++;
                log.Info($"check {number}: {nodes.Count} node(s): {(outcome.Fails ? "FAILS" : "passes")} ({outcome.Cause}) in {Checker.Ms(watch.Elapsed)} ms");
            }
            if (outcome.Fails && (best is null || nodes.Count < best.Count))
            {
                best = nodes.ToList();
                bestCause = outcome.Cause;
                WriteReduced(checker, best, reducedPath, inputsPath);
                if (best.Count < order.Count)
                    log.Info($"smallest failing subgraph so far: {best.Count} of {order.Count} node(s){(best.Count > 1 ? $" (about {Math.Ceiling(Math.Log2(best.Count)) + 1} more check(s) if one node is to blame)" : "")}; wrote {reducedPath}");
            }
            return outcome;
        }
        bool Fails(IReadOnlyList<int> nodes) => Test(nodes).Fails;

        // Sanity: the whole model fails, a trivial model passes.
        var whole = Test(order);
        // A check stopped by --timeout on the whole model is the runner's failure (exit 3), not a model that passes.
        if (!whole.Fails && whole.TimedOut) throw new RunnerException($"nothing to reduce: the whole model's check did not finish ({whole.Cause})");
        if (!whole.Fails) throw new InvalidInputException($"nothing to reduce: the whole model does not fail ({whole.Cause})");
        var control = checker.Control(workDir);
        if (control.Fails)
            throw new InvalidInputException($"the check fails even on a one-node Identity model ({control.Cause}): it fails whatever it is given, so it cannot tell a smaller model from a bigger one");

        string strategy = o.Strategy.ToString().ToLowerInvariant();
        int modelRuns = 0, layerwiseRuns = 0, localizationRuns = 0;
        switch (o.Strategy)
        {
            case Strategy.Ddmin: Search.Ddmin(order, Fails); break;
            case Strategy.Bisect: Search.Bisect(order, Fails); break;
            case Strategy.Linear: Search.Linear(order, Fails); break;
            default:
                if (o.Condition == Condition.Accuracy)
                {
                    var (culprits, layerRuns, locRuns) = Localize(o, steps, log, notes);
                    modelRuns += layerRuns + locRuns;
                    (layerwiseRuns, localizationRuns) = (layerRuns, locRuns);
                    var single = culprits.Select(c => (IReadOnlyList<int>)[c]).FirstOrDefault(Fails);
                    if (single is not null)
                    {
                        strategy = "auto (localization)";
                        break;
                    }
                    notes.Add(culprits.Count == 0 ? "localization found no single node that introduces the error; bisecting" : "no introducing node fails alone; bisecting");
                    log.Info(notes[^1]);
                    var range = Search.Bisect(order, Fails);
                    Search.Ddmin(range, Fails);
                    strategy = "auto (bisect, then ddmin)";
                }
                else
                {
                    Search.Ddmin(order, Fails);
                    strategy = "auto (ddmin)";
                }
                break;
        }
        if (values.Degraded is { } d) notes.Add(d);
        var reduced = best!;
        var minGood = MinGood(checks, reduced) is { } good ? WriteMinGood(model, good, view, types, Path.Combine(o.Artifacts, MinGoodFile)) : null;
        if (Directory.Exists(workDir)) Directory.Delete(workDir, recursive: true);
        return new ReduceResult
        {
            OriginalNodes = order.Count,
            Reduced = reduced,
            ReducedNodeNames = reduced.Select(view.Describe).ToList(),
            Cause = bestCause,
            ReducedModel = reducedPath,
            ReducedInputs = inputsPath,
            MinGoodModel = minGood,
            Checks = run,
            ChecksResumed = reused.Count,
            ModelRuns = modelRuns + values.Runs,
            LayerwiseRuns = layerwiseRuns,
            LocalizationRuns = localizationRuns,
            Strategy = strategy,
            Notes = notes,
            WorkerProcesses = isolated.Started,
        };
    }

    /// <summary>The layerwise pass and localization on the first sample: the introducing nodes in topological order.</summary>
    /// <returns>The culprits; the runs of the comparison and layerwise pass; the runs of localization after it.</returns>
    private static (IReadOnlyList<int> Culprits, int LayerwiseRuns, int LocalizationRuns) Localize(ReduceOptions o, IStepRunner steps, IJobLog log, List<string> notes)
    {
        LocalizeAnswer a;
        try
        {
            a = steps.Localize(o.Model, o.Reference, o.Candidate!, o.Samples[0], log);
        }
        catch (RunnerException e)
        {
            notes.Add($"localization failed ({e.Message}); searching without it");
            log.Warning(notes[^1]);
            return ([], 0, 0);
        }
        log.Info(a.FirstDivergence is { } f
            ? $"localization: first divergence {f}; introducing node(s), the one adding most error first: {(a.Culprits.Count == 0 ? "none" : string.Join(", ", a.CulpritLabels.Take(8)) + (a.CulpritLabels.Count > 8 ? ", ..." : ""))}"
            : "localization: no intermediate tensor diverges on the first sample");
        if (a.Cause is { } cause)
        {
            notes.Add($"the failure reduced is that of the culprit adding most of the error: {cause}");
            log.Info(notes[^1]);
        }
        return (a.Culprits, a.LayerwiseRuns, a.LocalizationRuns);
    }

    private static void WriteReduced(Checker checker, IReadOnlyList<int> nodes, string modelPath, string inputsPath)
    {
        var subject = checker.Prepare(nodes);
        subject.Graph.Model.Save(modelPath);
        DataFiles.Save(inputsPath, subject.Inputs, DataRole.Inputs);
    }

    /// <summary>Among passing checks, the one closest in size to the reduced set (more shared nodes first on ties).</summary>
    private static List<int>? MinGood(CheckLog checks, IReadOnlyList<int> reduced)
    {
        var set = reduced.ToHashSet();
        return checks.Results.Values.Where(r => !r.Fails && !r.Cause.StartsWith("cannot be checked", StringComparison.Ordinal))
            .Select(r => CheckLog.Parse(r.Nodes))
            .OrderBy(n => Math.Abs(n.Count - reduced.Count)).ThenByDescending(n => n.Count(set.Contains))
            .FirstOrDefault();
    }

    private static string? WriteMinGood(OnnxModel model, List<int> nodes, GraphView view, IReadOnlyDictionary<string, ValueSpec> types, string path)
    {
        Subgraph.OfNodes(model, nodes, types, view).Model.Save(path);
        return path;
    }

    private static string Describe(ReduceOptions o) => o.Condition switch
    {
        Condition.Accuracy => $"{o.Model.DisplayName}: {o.Candidate!.Text} against {o.Reference.Text}",
        Condition.Build => $"{o.Model.DisplayName}: {o.Candidate!.Text} fails to build or run",
        _ => $"{o.Model.DisplayName}: check '{o.Check!.Command}'",
    };

    /// <summary>What makes two reductions the same: the model's bytes, the condition and everything that decides a verdict.</summary>
    private static string Fingerprint(ReduceOptions o)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        h.AppendData(Google.Protobuf.MessageExtensions.ToByteArray(o.Model.Proto));
        var text = string.Join("\n", o.Condition, o.Reference.Text, o.Candidate?.Text, o.Check?.Command, string.Join(",", o.Check?.FailCodes ?? []),
            string.Join(",", o.Check?.FailRegex.Select(r => r.ToString()) ?? []), System.Text.Json.JsonSerializer.Serialize(o.Tolerances, Steps.WorkerJson.Default.ToleranceSet), o.Compare.TopK);
        h.AppendData(Encoding.UTF8.GetBytes(text));
        foreach (var sample in o.Samples)
            foreach (var (name, t) in Npz.Flatten(sample))
            {
                h.AppendData(Encoding.UTF8.GetBytes(name));
                if (t.ElementType != ElementType.String) h.AppendData(t.Bytes);
            }
        return Convert.ToHexString(h.GetHashAndReset());
    }
}
