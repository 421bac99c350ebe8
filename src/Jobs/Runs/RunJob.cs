using System.Text.Json.Serialization;
using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using PolyNet.Runners;
using PolyNet.Runners.Inputs;
using PolyNet.Runners.Ort;
using PolyNet.Runners.Specs;

using PolyNet.Jobs.Layerwise;

namespace PolyNet.Jobs.Runs;

/// <summary>Everything `polynet run` needs, parsed and checked.</summary>
public sealed record RunJobOptions
{
    public required OnnxModel Model { get; init; }
    public required IReadOnlyList<RunnerSpec> Runners { get; init; }
    /// <summary>The inputs, already in hand (the reducer's); when set, nothing is loaded or generated.</summary>
    public IReadOnlyList<ValueMap>? Samples { get; init; }
    /// <summary>Data files or folders to read inputs from, their samples in order; empty: generate them.</summary>
    public IReadOnlyList<string> LoadInputs { get; init; } = [];
    public long Seed { get; init; } = 1;
    /// <summary>Generated samples (ignored when inputs are loaded).</summary>
    public int Iterations { get; init; } = 1;
    public ValueRanges ValueRanges { get; init; } = new();
    public InputShapes InputShapes { get; init; } = new();
    public string? SaveInputs { get; init; }
    public string? SaveOutputs { get; init; }
    /// <summary>Stored outputs every runner is also compared with (they are the reference for that comparison).</summary>
    public string? LoadOutputs { get; init; }
    /// <summary>
    /// The stored outputs must hold exactly the model's outputs with the shapes and types the runners produce (suites'
    /// golden files); anything else is bad input rather than a comparison failure.
    /// </summary>
    public bool LoadOutputsMustMatch { get; init; }
    /// <summary>How reports name the stored outputs (default: "expected (FILE)").</summary>
    public string? LoadOutputsLabel { get; init; }
    public ToleranceSet Tolerances { get; init; } = new();
    public CompareOptions Compare { get; init; } = new();
    /// <summary>Keep every runner's outputs in <see cref="RunJobResult.Outputs"/> (suites write the golden files from them).</summary>
    public bool KeepOutputs { get; init; }
    /// <summary>Creates runners; tests replace it. Default: <see cref="RunnerRegistry.Create"/>.</summary>
    public RunnerFactory CreateRunner { get; init; } = RunnerRegistry.Create;
    /// <summary>Compare intermediate tensors too (--mark-all, --mark, --mark-file), and localize divergences.</summary>
    public MarkOptions? Marks { get; init; }
}

/// <summary>What one runner did in a job.</summary>
public sealed record RunnerSummary(string Name, IReadOnlyList<string> Notes, [property: JsonPropertyName("activation_ms")] TimeSpan Activation,
    [property: JsonPropertyName("inference_ms")] IReadOnlyList<TimeSpan> Inferences)
{
    [JsonPropertyName("mean_inference_ms")]
    public TimeSpan MeanInference => Inferences.Count == 0 ? TimeSpan.Zero : TimeSpan.FromTicks((long)Inferences.Average(t => t.Ticks));
}

/// <summary>What a run (or an offline comparison) found: every runner, every comparison, what was written.</summary>
/// <summary>One shape set of a sweep (repeated --input-shapes): its shapes, the samples generated at them, and whether every comparison on them passed.</summary>
public sealed record ShapeSetResult(int Index, string Shapes, IReadOnlyList<int> Samples, bool Passed, int FailedComparisons);

public sealed record RunJobResult
{
    public required IReadOnlyList<RunnerSummary> Runners { get; init; }
    public required IReadOnlyList<PairResult> Pairs { get; init; }
    public required int Samples { get; init; }
    public IReadOnlyList<string> FilesWritten { get; init; } = [];
    /// <summary>Per shape set, when the run swept several; null otherwise.</summary>
    public IReadOnlyList<ShapeSetResult>? ShapeSets { get; init; }
    /// <summary>Per runner, per sample, when <see cref="RunJobOptions.KeepOutputs"/> was set.</summary>
    [JsonIgnore]
    public IReadOnlyList<IReadOnlyList<ValueMap>>? Outputs { get; init; }
    /// <summary>The layerwise comparison, when tensors were marked.</summary>
    public LayerwiseResult? Layerwise { get; init; }
    /// <summary>Why the layerwise pass could not run, when it was asked for and could not (the comparison itself stands).</summary>
    public string? LayerwiseProblem { get; init; }
    /// <summary>The most memory the process held resident by the end of the job (all runners, the layerwise pass, localization).</summary>
    [JsonPropertyName("peak_memory_bytes")]
    public long PeakMemory { get; init; }
    public bool Passed => Pairs.All(p => p.Passed);
}

/// <summary>
/// The main job: run the same inputs through every runner configuration and compare each candidate's outputs with
/// the first runner's (and every runner's with stored outputs, when given). Outputs are compared as they arrive,
/// sample by sample, and dropped unless they are to be saved.
/// Errors: <see cref="InvalidInputException"/> (bad input, exit 2), <see cref="RunnerException"/> (exit 3).
/// </summary>
public static class RunJob
{
    public static RunJobResult Execute(RunJobOptions o, IJobLog log, Action<PairResult>? onPair = null)
        => ExecuteAll(o, log, onPair) with { PeakMemory = PeakMemory() };

    /// <summary>The most memory this process has held resident so far (Linux's VmHWM; elsewhere the peak working set).</summary>
    public static long PeakMemory()
    {
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        return self.PeakWorkingSet64;
    }

    private static RunJobResult ExecuteAll(RunJobOptions o, IJobLog log, Action<PairResult>? onPair)
    {
        if (o.Marks is not null)
        {
            if (o.Runners.Count < 2)
                throw new InvalidInputException("layerwise comparison needs two runners: the reference and a runner to compare with it");
            LayerwiseJob.Validate(o.Model, o.Marks);
        }
        var result = ExecuteMain(o, log, onPair, out var chosen);
        if (o.Marks is null || chosen is null) return result;
        var (sample, feeds, finals, _) = chosen.Value;
        // The comparison above stands whatever happens below: a runner that fails on the marked or inlined model
        // costs the layerwise pass (said in the result), never the verdict or the reports.
        try
        {
            var request = new LayerwiseRequest(o.Model, o.Runners, o.Tolerances, o.Compare, o.CreateRunner);
            var flat = Flattening.ForSample(request, feeds, log);
            request = request with { Model = flat.Model };
            var layers = LayerwiseJob.Execute(request, o.Marks, sample, feeds, finals, log, out var referenceValues);
            var notes = new List<string>(flat.Notes);
            notes.AddRange(layers.Notes);
            var localized = layers.Candidates.ToList();
            if (o.Marks.Localize)
                for (int k = 0; k < localized.Count; k++)
                {
                    var cand = localized[k];
                    if (cand.FirstDivergence is null) continue;
                    try
                    {
                        var loc = Localizer.Execute(request, o.Runners[k + 1], cand, feeds, finals[layers.Reference], finals[cand.Candidate], referenceValues, log, o.Marks.MaxMemory);
                        localized[k] = cand with { Localization = loc };
                        notes.AddRange(loc.Notes);
                    }
                    catch (RunnerException e)
                    {
                        notes.Add($"localization of {cand.Candidate} failed: {e.Message}");
                        log.Warning(notes[^1]);
                    }
                }
            return result with { Layerwise = layers with { Candidates = localized, Notes = notes, Runs = layers.Runs + flat.Runs } };
        }
        catch (RunnerException e)
        {
            log.Warning($"layerwise comparison failed: {e.Message}");
            return result with { LayerwiseProblem = e.Message };
        }
    }

    /// <summary>
    /// When generated integer inputs took the default range [0, 1] (ids, indices, lengths, a sample rate rarely live
    /// there), what to try: the runner's error is often the model refusing such values.
    /// </summary>
    private static string? GeneratedIntegerHint(RunJobOptions o, IReadOnlyList<ValueSpec> inputs)
    {
        if (o.Samples is not null || o.LoadInputs.Count > 0) return null;
        var defaulted = inputs.Where(i => i.ElementType.IsInteger() && !o.ValueRanges.Named.ContainsKey(i.Name)).Select(i => i.Name).ToList();
        if (defaulted.Count == 0 || o.ValueRanges.Default != (0, 1)) return null;
        return $"the generated integer input(s) {string.Join(", ", defaulted.Select(n => $"'{n}'"))} hold values in [0, 1]; if the model needs others (ids, indices, lengths, a sample rate), give them with --val-range {defaulted[0]}:[LO,HI] or load real inputs with --load-inputs";
    }

    /// <summary>The comparison proper; with marks, also picks the sample to go layerwise on (the first that fails, else 0).</summary>
    private static RunJobResult ExecuteMain(RunJobOptions o, IJobLog log, Action<PairResult>? onPair, out (int Sample, ValueMap Feeds, Dictionary<string, ValueMap> Finals, bool Failed)? chosen)
    {
        chosen = null;
        if (o.Runners.Count == 0 && o.LoadOutputs is null)
            throw new InvalidInputException("nothing to compare: give at least one --runner (and a second one, or --load-outputs)");
        // What can be checked against the model is checked before any session is built (seconds, for a large model).
        if (o.Samples is null && o.LoadInputs.Count == 0)
        {
            o.InputShapes.Validate(o.Model.Inputs);
            o.ValueRanges.Validate(o.Model.Inputs.Select(i => i.Name));
        }
        var unknown = o.Tolerances.UnknownNames(o.Model.Outputs.Select(x => x.Name).Concat(o.Marks is null ? [] : o.Model.Graph.Node.SelectMany(n => n.Output)));
        if (unknown.Count > 0)
            throw new InvalidInputException($"tolerance given for '{unknown[0]}', which is not an output of {o.Model.DisplayName} (outputs: {string.Join(", ", o.Model.Outputs.Select(x => x.Name))})");
        var runners = new List<IRunner>();
        try
        {
            bool sweep = o.Samples is null && o.LoadInputs.Count == 0 && o.InputShapes.IsSweep;
            var shapeSets = sweep ? o.InputShapes.Sets : [];
            foreach (var spec in o.Runners) runners.Add(o.CreateRunner(spec, new RunnerContext { Model = o.Model, Log = log.ForRunner(spec), ShapeSets = shapeSets }));
            foreach (var r in runners)
            {
                log.Progress($"{r.Name}: activating ...");
                r.Activate();
                foreach (var w in r.Warnings) log.Warning(w);
                log.Progress($"{r.Name}: ready in {Format.Duration(r.ActivationTime)}{(r.Notes.Count > 0 ? " (" + string.Join("; ", r.Notes) + ")" : "")}");
            }
            var inputs = runners.Count > 0 ? runners[0].Inputs : o.Model.Inputs;
            var outputs = runners.Count > 0 ? runners[0].Outputs : o.Model.Outputs;

            // A sweep generates --iterations samples at each shape set, set after set; setOf[s] is sample s's set.
            var setOf = new List<int>();
            List<ValueMap> samples;
            if (sweep)
            {
                log.Info($"shape sweep: {shapeSets.Count} shape sets, {o.Iterations} sample(s) each");
                samples = [];
                for (int k = 0; k < shapeSets.Count; k++)
                {
                    log.Info($"shape set {k + 1} of {shapeSets.Count}: {InputShapes.Describe(shapeSets[k])}");
                    var made = InputSamples.Generate(inputs, o.Seed, o.Iterations, o.ValueRanges, o.InputShapes.Set(k), log);
                    samples.AddRange(made);
                    setOf.AddRange(made.Select(_ => k));
                }
            }
            else samples = o.Samples?.ToList() ?? InputSamples.LoadOrGenerate(o.LoadInputs, inputs, o.Seed, o.Iterations, o.ValueRanges, o.InputShapes, log);
            var expected = o.LoadOutputs is null ? null : DataFiles.Load(o.LoadOutputs, DataRole.Outputs, outputs);
            if (expected is not null && expected.Samples.Count != samples.Count)
                throw new InvalidInputException($"{o.LoadOutputs}: holds {expected.Samples.Count} samples of outputs but there are {samples.Count} samples of inputs");
            if (expected is not null && o.LoadOutputsMustMatch) CheckNames(o.LoadOutputs!, expected.Samples, outputs);

            var timings = runners.Select(_ => new List<TimeSpan>()).ToList();
            var saved = runners.Select(_ => new List<ValueMap>()).ToList();
            var pairs = new List<PairResult>();
            for (int s = 0; s < samples.Count; s++)
            {
                if (sweep && (s == 0 || setOf[s] != setOf[s - 1]))
                    log.Progress($"shape set {setOf[s] + 1} of {shapeSets.Count} ({InputShapes.Describe(shapeSets[setOf[s]])}): running");
                var results = new List<ValueMap>();
                for (int k = 0; k < runners.Count; k++)
                {
                    ValueMap outs;
                    try { outs = runners[k].Infer(samples[s]); }
                    catch (RunnerException e) when (GeneratedIntegerHint(o, inputs) is { } hint) { throw new RunnerException($"{e.Message} ({hint})", e); }
                    catch (RunnerException e) when (sweep) { throw new RunnerException($"at shape set {setOf[s] + 1} of {shapeSets.Count} ({InputShapes.Describe(shapeSets[setOf[s]])}): {e.Message}", e); }
                    timings[k].Add(runners[k].LastInferenceTime);
                    log.Verbose($"{runners[k].Name}: sample {s}: inference in {Format.Duration(runners[k].LastInferenceTime)}");
                    results.Add(outs);
                    if (o.SaveOutputs is not null || o.KeepOutputs) saved[k].Add(outs);
                }
                if (expected is not null)
                {
                    if (o.LoadOutputsMustMatch && runners.Count > 0) CheckStructure(o.LoadOutputs!, expected.Samples[s], results[0], runners[0].Name, s);
                    var reference = InputValidation.ConformBFloat16(outputs, expected.Samples[s]);
                    var label = o.LoadOutputsLabel ?? $"expected ({Path.GetFileName(o.LoadOutputs!.TrimEnd('/'))})";
                    for (int k = 0; k < runners.Count; k++)
                        Add(pairs, onPair, PairComparer.Compare(s, label, reference, runners[k].Name, results[k], o.Tolerances, o.Compare, onlyShared: true, candPrecision: runners[k].Precision));
                }
                bool sampleFailed = false;
                for (int k = 1; k < runners.Count; k++)
                {
                    var p = PairComparer.Compare(s, runners[0].Name, results[0], runners[k].Name, results[k], o.Tolerances, o.Compare, onlyShared: false, runners[0].Precision, runners[k].Precision);
                    sampleFailed |= !p.Passed;
                    Add(pairs, onPair, p);
                }
                if (o.Marks is not null && (s == 0 || (sampleFailed && chosen is { Sample: 0 } c0 && !c0.Failed)))
                    chosen = (s, samples[s], runners.Select((r, k) => (r.Name, results[k])).ToDictionary(x => x.Name, x => x.Item2), sampleFailed);
            }

            var written = new List<string>();
            if (o.SaveInputs is not null)
            {
                DataFiles.Save(o.SaveInputs, samples, DataRole.Inputs);
                written.Add(o.SaveInputs);
            }
            if (o.SaveOutputs is not null && Path.GetExtension(o.SaveOutputs).Equals(".json", StringComparison.OrdinalIgnoreCase))
            {
                // Polygraphy's RunResults holds every runner in one file.
                PolygraphyJson.WriteRunResults(o.SaveOutputs, runners.Select((r, k) => new RunnerResults(r.Name, saved[k], timings[k].Select(t => (double?)t.TotalSeconds).ToList())).ToList());
                written.Add(o.SaveOutputs);
            }
            else if (o.SaveOutputs is not null)
                for (int k = 0; k < runners.Count; k++)
                {
                    var path = runners.Count == 1 ? o.SaveOutputs : PathFor(o.SaveOutputs, runners[k].Name);
                    DataFiles.Save(path, saved[k], DataRole.Outputs, runners[k].Name);
                    written.Add(path);
                }
            return new RunJobResult
            {
                Runners = runners.Select((r, k) => new RunnerSummary(r.Name, r.Notes, r.ActivationTime, timings[k])).ToList(),
                Pairs = pairs,
                Samples = samples.Count,
                FilesWritten = written,
                ShapeSets = sweep ? shapeSets.Select((set, k) =>
                {
                    var mine = Enumerable.Range(0, samples.Count).Where(x => setOf[x] == k).ToList();
                    int failed = pairs.Count(p => setOf[p.Sample] == k && !p.Passed);
                    return new ShapeSetResult(k, InputShapes.Describe(set), mine, failed == 0, failed);
                }).ToList() : null,
                Outputs = o.KeepOutputs ? saved.Select(x => (IReadOnlyList<ValueMap>)x).ToList() : null,
            };
        }
        finally
        {
            foreach (var r in runners) r.Dispose();
        }
    }

    private static void CheckNames(string path, IReadOnlyList<ValueMap> samples, IReadOnlyList<ValueSpec> outputs)
    {
        var want = outputs.Select(x => x.Name).ToList();
        for (int s = 0; s < samples.Count; s++)
        {
            var extra = samples[s].Keys.Where(k => !want.Contains(k)).ToList();
            var missing = want.Where(k => !samples[s].ContainsKey(k)).ToList();
            if (extra.Count > 0 || missing.Count > 0)
                throw InvalidInputException.ForFile(path, $"does not match the model{(samples.Count > 1 ? $" (sample {s})" : "")}: "
                    + string.Join("; ", new[] { missing.Count > 0 ? $"lacks output {string.Join(", ", missing.Select(m => $"'{m}'"))}" : null, extra.Count > 0 ? $"holds {string.Join(", ", extra.Select(m => $"'{m}'"))}, which the model does not output" : null }.Where(x => x is not null))
                    + $" (model outputs: {string.Join(", ", want)})");
        }
    }

    private static void CheckStructure(string path, ValueMap expected, ValueMap actual, string runner, int sample)
    {
        foreach (var (name, ev) in expected)
        {
            if (!actual.TryGetValue(name, out var av)) continue;
            string? problem = (ev, av) switch
            {
                (TensorData e, TensorData a) when !e.Shape.Equals(a.Shape) => $"shape {e.Shape}, but {runner} gives {a.Shape}",
                (TensorData e, TensorData a) when e.ElementType != a.ElementType => $"type {e.ElementType.DisplayName()}, but {runner} gives {a.ElementType.DisplayName()}",
                _ when ev.GetType() != av.GetType() => $"a {ev.Describe()}, but {runner} gives a {av.Describe()}",
                _ => null,
            };
            if (problem is not null)
                throw InvalidInputException.ForFile(path, $"output '{name}'{(sample > 0 ? $" (sample {sample})" : "")} has {problem}");
        }
    }

    private static void Add(List<PairResult> pairs, Action<PairResult>? onPair, PairResult p)
    {
        pairs.Add(p);
        onPair?.Invoke(p);
    }

    /// <summary>"out.npz" with runner "cuda:tf32=0" becomes "out.cuda_tf32=0.npz".</summary>
    public static string PathFor(string path, string runner)
    {
        var safe = new string(runner.Select(ch => char.IsLetterOrDigit(ch) || ch is '.' or '_' or '-' or '=' ? ch : '_').ToArray());
        var ext = Path.GetExtension(path);
        return ext.Length == 0 ? Path.Combine(path, safe) : path[..^ext.Length] + "." + safe + ext;
    }
}
