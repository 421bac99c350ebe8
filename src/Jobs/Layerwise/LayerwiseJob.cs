using System.Text.Json.Serialization;
using PolyNet.Onnx;
using PolyNet.Onnx.Transforms;
using PolyNet.Runners;
using PolyNet.Runners.Inspect;
using PolyNet.Runners.Ort;
using PolyNet.Runners.Specs;

namespace PolyNet.Jobs.Layerwise;

/// <summary>Which intermediate tensors to compare, and how much memory their values may take at once.</summary>
public sealed class MarkOptions
{
    /// <summary>Every tensor a node produces (Constant nodes' excepted).</summary>
    public bool All { get; init; }
    /// <summary>Tensors by name (--mark, --mark-file), compared in topological order whatever order they are given in.</summary>
    public IReadOnlyList<string> Names { get; init; } = [];
    /// <summary>Bound on marked tensor values held at once, all runners together (--max-memory).</summary>
    public long MaxMemory { get; init; } = DefaultMaxMemory;
    /// <summary>Decide for each diverging tensor whether its node introduces the error (a few more model runs).</summary>
    public bool Localize { get; init; } = true;

    /// <summary>2 GiB, or a quarter of the memory this process may use when that is less.</summary>
    public static long DefaultMaxMemory => Math.Min(2L << 30, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4);
}

/// <summary>What a layerwise pass and localization need of the run they belong to.</summary>
/// <param name="Runners">The reference first, then every candidate.</param>
public sealed record LayerwiseRequest(OnnxModel Model, IReadOnlyList<RunnerSpec> Runners, ToleranceSet Tolerances, CompareOptions Compare, RunnerFactory CreateRunner);

/// <summary>One intermediate tensor of one candidate, compared with the reference's.</summary>
/// <param name="Position">Index of the producing node in topological order.</param>
public sealed record TensorResult(int Position, string Tensor, int Node, string NodeName, string OpType, OutputComparison Comparison)
{
    public bool Passed => Comparison.Passed;
    public string NodeLabel => string.IsNullOrEmpty(NodeName) ? $"#{Node} ({OpType})" : $"{NodeName} ({OpType})";
}

/// <summary>Every marked tensor of one candidate, in topological order, with what localization found.</summary>
public sealed record CandidateLayers
{
    public required string Candidate { get; init; }
    /// <summary>The precision the reference runner computes in (localization judges isolated nodes by it).</summary>
    public ComputePrecision ReferencePrecision { get; init; } = ComputePrecision.Fp32;
    public required IReadOnlyList<TensorResult> Tensors { get; init; }
    [JsonIgnore]
    public TensorResult? FirstDivergence => Tensors.FirstOrDefault(t => !t.Passed);
    /// <summary>The first diverging tensor's name (reports of record).</summary>
    [JsonPropertyName("first_divergence")]
    public string? FirstDivergenceTensor => FirstDivergence?.Tensor;
    [JsonIgnore]
    public IEnumerable<TensorResult> Diverging => Tensors.Where(t => !t.Passed);
    public LocalizationResult? Localization { get; init; }
}

/// <summary>The layerwise pass: what was compared, on which sample, at what cost.</summary>
public sealed record LayerwiseResult
{
    public required int Sample { get; init; }
    public required string Reference { get; init; }
    public required int Marked { get; init; }
    /// <summary>Groups of tensors marked together (more than one when their values would exceed the memory bound).</summary>
    public required int Chunks { get; init; }
    /// <summary>Model runs of the pass (every runner, every chunk).</summary>
    public required int Runs { get; init; }
    public required IReadOnlyList<CandidateLayers> Candidates { get; init; }
    /// <summary>Things the user should know: marking changed a runner's outputs, tensors a runner did not return.</summary>
    public required IReadOnlyList<string> Notes { get; init; }
}

/// <summary>
/// Compares intermediate tensors of the first runner (the reference) and each other runner, on one sample. Tensors are
/// exposed as extra outputs of fresh sessions, in chunks whose estimated size (ONNX Runtime's inferred shapes, symbolic
/// dimensions resolved from the sample's inputs) stays under <see cref="MarkOptions.MaxMemory"/> for all runners
/// together; each chunk's values are compared as they arrive and dropped. Exposing tensors can stop an optimizing
/// runtime from fusing the nodes around them, so the final outputs of the marked sessions are checked against the
/// unmarked run's and any difference is reported.
/// </summary>
public static class LayerwiseJob
{
    /// <param name="finalOutputs">Each runner's outputs for this sample from the unmarked run, by runner name.</param>
    public static LayerwiseResult Execute(LayerwiseRequest o, MarkOptions marks, int sample, ValueMap feeds,
        IReadOnlyDictionary<string, ValueMap> finalOutputs, IJobLog log, out ValueMap? referenceValues)
    {
        var model = o.Model;
        var view = new GraphView(model.Graph);
        var order = view.TopologicalOrder();
        var position = Positions(view, order);
        var outputs = model.Graph.Output.Select(x => x.Name).ToHashSet(StringComparer.Ordinal);
        var notes = new List<string>();
        var tensors = Select(model, view, order, marks, position, outputs, notes);
        if (tensors.Count == 0) throw new InvalidInputException($"{model.DisplayName}: no intermediate tensor to compare (the graph's node outputs are all graph outputs or constants)");

        var sizes = Sizes(tensors, model, feeds);
        long perRunner = Math.Max(1, marks.MaxMemory / Math.Max(1, o.Runners.Count));
        log.Info($"layerwise: {tensors.Count} tensor(s) on sample {sample}, {Format.Bytes(sizes.Values.Sum())} of values per runner, compared in chunks of at most {Format.Bytes(marks.MaxMemory)} for all runners together");

        var results = o.Runners.Skip(1).Select(_ => new List<TensorResult>()).ToList();
        var candidates = o.Runners.Select(r => r.Name).ToArray();
        var missing = new List<string>();
        var precisions = new ComputePrecision[o.Runners.Count];
        var keptReference = new ValueMap();
        bool keep = true;
        int runs = 0, chunks = 0, next = 0;
        while (next < tensors.Count)
        {
            // The next chunk from the sizes as now known; values that come back larger than estimated correct the
            // estimates of every tensor still to come, so the bound holds even where inference guessed low.
            int start = next;
            long used = 0;
            while (next < tensors.Count && (next == start || used + sizes[tensors[next]] <= perRunner)) used += sizes[tensors[next++]];
            var chunk = tensors.GetRange(start, next - start);
            chunks++;
            RunChunk(chunk);
            if (used > 64L << 20) ValueMemory.Reclaim();
        }
        if (missing.Count > 0)
            notes.Add($"{missing.Count} tensor(s) not returned and not compared: {string.Join(", ", missing.Take(8))}{(missing.Count > 8 ? ", ..." : "")}");
        referenceValues = keep && chunks == 1 ? keptReference : null;
        return new LayerwiseResult
        {
            Sample = sample,
            Reference = candidates[0],
            Marked = tensors.Count,
            Chunks = chunks,
            Runs = runs,
            Candidates = results.Select((r, i) => new CandidateLayers { Candidate = candidates[i + 1], ReferencePrecision = precisions[0], Tensors = r }).ToList(),
            Notes = notes,
        };

        // One chunk: every runner's values of its tensors, compared and dropped. Its values live only while it runs
        // (a method of its own, so that no local of the loop keeps the last chunk's values alive into the next).
        void RunChunk(List<string> chunk)
        {
            var values = new ValueMap?[o.Runners.Count];
            for (int k = 0; k < o.Runners.Count; k++)
            {
                try
                {
                    using var runner = o.CreateRunner(o.Runners[k], new RunnerContext { Model = model, ExtraOutputs = chunk, Log = log.ForRunner(o.Runners[k]) });
                    runner.Activate();
                    values[k] = runner.Infer(feeds);
                    runs++;
                    candidates[k] = runner.Name;
                    precisions[k] = runner.Precision;
                    foreach (var (t, why) in runner.Unreadable) missing.Add($"{runner.Name}: {t} ({why})");
                    if (chunks == 1 && finalOutputs.TryGetValue(runner.Name, out var unmarked))
                        if (MarkingEffect(runner.Name, unmarked, values[k]!, tensors.Count) is { } note) notes.Add(note);
                }
                catch (RunnerException e)
                {
                    notes.Add($"{o.Runners[k].Name} failed with {chunk.Count} tensor(s) exposed ({chunk[0]}{(chunk.Count > 1 ? $" ... {chunk[^1]}" : "")}), which are not compared: {e.Message}");
                    log.Warning(notes[^1]);
                }
            }
            double scale = 1;
            foreach (var t in chunk)
            {
                long actual = values.Max(v => v is not null && v.TryGetValue(t, out var x) ? Bytes(x) : 0);
                if (actual > sizes[t]) scale = Math.Max(scale, (double)actual / sizes[t]);
                if (actual > 0) sizes[t] = actual;
            }
            if (scale > 1)
            {
                foreach (var t in tensors.Skip(next)) sizes[t] = (long)Math.Min(long.MaxValue / 2, sizes[t] * scale);
                log.Verbose($"layerwise: values came back up to {scale:0.#}x their estimated size; the remaining tensors are chunked for that");
            }
            log.Verbose($"layerwise: chunk {chunks} ({chunk.Count} tensor(s)) done");
            foreach (var t in chunk)
            {
                if (values[0] is not { } rvals) break;
                if (!rvals.TryGetValue(t, out var rv)) { missing.Add($"{candidates[0]}: {t}"); continue; }
                var (p, node) = position[t];
                for (int k = 1; k < o.Runners.Count; k++)
                {
                    if (values[k] is not { } cvals) continue;
                    if (!cvals.TryGetValue(t, out var cv)) { missing.Add($"{candidates[k]}: {t}"); continue; }
                    var pair = PairComparer.Compare(sample, candidates[0], new ValueMap { { t, rv } }, candidates[k], new ValueMap { { t, cv } },
                        o.Tolerances, o.Compare.ForIntermediates(), onlyShared: true, precisions[0], precisions[k]);
                    foreach (var oc in pair.Outputs)
                        results[k - 1].Add(new TensorResult(p, t, node, view.Nodes[node].Name, view.Nodes[node].OpType, oc));
                }
            }
            // The reference's values are kept for localization while they fit the bound (one chunk); else dropped.
            if (keep && next >= tensors.Count && chunks == 1 && values[0] is { } all)
            {
                foreach (var t in chunk)
                    if (all.TryGetValue(t, out var v)) keptReference.Add(t, v);
            }
            else keep = false;
        }
    }

    private static long Bytes(OnnxValue v) => v switch
    {
        TensorData t => t.ElementType == ElementType.String ? t.ElementCount * 16 : t.ElementType.StorageBytes(t.ElementCount),
        SequenceData q => q.Items.Sum(i => Bytes(i)),
        OptionalData { Value: { } inner } => Bytes(inner),
        _ => 0,
    };

    /// <summary>Each node output's topological position and producing node.</summary>
    private static Dictionary<string, (int Position, int Node)> Positions(GraphView view, IReadOnlyList<int> order)
    {
        var position = new Dictionary<string, (int Position, int Node)>(StringComparer.Ordinal);
        for (int p = 0; p < order.Count; p++)
            foreach (var t in view.Nodes[order[p]].Output)
                if (t.Length > 0) position.TryAdd(t, (p, order[p]));
        return position;
    }

    /// <summary>
    /// Checks the marked names before anything runs: every name must be a tensor some node computes, in the main graph
    /// or inside a body (body tensors are reached by inlining the If branch a sample takes).
    /// </summary>
    public static void Validate(OnnxModel model, MarkOptions marks)
    {
        var view = new GraphView(model.Graph);
        var computed = ModelWalker.GraphAndSubgraphs(model.Graph).SelectMany(g => g.Node).SelectMany(n => n.Output).Where(t => t.Length > 0).ToHashSet(StringComparer.Ordinal);
        foreach (var name in marks.Names)
            if (!computed.Contains(name))
                throw new InvalidInputException(view.GraphInputNames.Contains(name) || view.Initializers.ContainsKey(name)
                    ? $"{model.DisplayName}: '{name}' is a graph input or an initializer, not a tensor a node computes; nothing to compare"
                    : $"{model.DisplayName}: no node produces a tensor named '{name}'{Names.Suggest(name, computed)}");
    }

    /// <summary>The marked tensors in topological order; names that are not node outputs are errors naming the closest.</summary>
    private static List<string> Select(OnnxModel model, GraphView view, IReadOnlyList<int> order, MarkOptions marks,
        Dictionary<string, (int Position, int Node)> position, HashSet<string> outputs, List<string> notes)
    {
        if (marks.All)
            return order.Where(n => view.Nodes[n].OpType != "Constant")
                .SelectMany(n => view.Nodes[n].Output).Where(t => t.Length > 0 && !outputs.Contains(t)).Distinct(StringComparer.Ordinal).ToList();
        // Names were checked against the whole model (Validate, before anything ran); here, the model as this sample runs it.
        var unreachable = marks.Names.Where(t => !position.ContainsKey(t)).Distinct(StringComparer.Ordinal).ToList();
        if (unreachable.Count > 0)
            notes.Add($"{unreachable.Count} marked tensor(s) are computed inside a Loop or Scan body, or a branch this sample does not take, and are not compared: {string.Join(", ", unreachable.Take(8))}");
        return marks.Names.Where(t => position.ContainsKey(t) && !outputs.Contains(t)).Distinct(StringComparer.Ordinal).OrderBy(t => position[t].Position).ToList();
    }

    /// <summary>Estimated bytes per tensor; unknown dimensions count as the largest fully known tensor.</summary>
    private static Dictionary<string, long> Sizes(List<string> tensors, OnnxModel model, ValueMap feeds)
    {
        // Shapes as ONNX Runtime infers them for these very inputs: the model with its inputs' shapes set to the feeds'.
        var shapes = feeds.Where(kv => kv.Value is TensorData && model.Graph.Input.Any(i => i.Name == kv.Key && i.Type?.TensorType is not null))
            .ToDictionary(kv => kv.Key, kv => ((TensorData)kv.Value).Shape, StringComparer.Ordinal);
        IReadOnlyDictionary<string, ValueSpec> types;
        try { types = OrtTypes.Infer(Cleanup.OverrideInputShapes(model, shapes)); }
        catch (Exception e) when (e is RunnerException or InvalidInputException) { types = OrtTypes.Infer(model); }
        var dims = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var input in model.Inputs)
            if (input.Shape is { } s && feeds.TryGetValue(input.Name, out var v) && v is TensorData t && t.Shape.Rank == s.Dims.Count)
                for (int i = 0; i < s.Dims.Count; i++)
                    if (s.Dims[i].Param is { Length: > 0 } p) dims[p] = t.Shape[i];
        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        var unknown = new List<string>();
        foreach (var name in tensors)
        {
            long? bytes = null;
            if (types.TryGetValue(name, out var spec) && spec.Kind == ValueKind.Tensor && spec.Shape is { } shape && spec.ElementType != ElementType.String)
            {
                long n = 1;
                foreach (var d in shape.Dims)
                {
                    long? v = d.Value ?? (d.Param is { } p && dims.TryGetValue(p, out var r) ? r : null);
                    if (v is null) { n = -1; break; }
                    n *= v.Value;
                }
                if (n >= 0) bytes = Math.Max(1, spec.ElementType.StorageBytes(n));
            }
            if (bytes is { } b) sizes[name] = b;
            else unknown.Add(name);
        }
        // Unknown sizes count as the largest known one (or the largest input, or 1 MiB): values that come back larger
        // correct the estimate for the chunks after them.
        long fallback = sizes.Count > 0 ? sizes.Values.Max() : Math.Max(1 << 20, feeds.Values.Select(Bytes).DefaultIfEmpty(0).Max());
        foreach (var name in unknown) sizes[name] = fallback;
        return sizes;
    }

    /// <summary>A note when the marked session's final outputs are not bit-identical to the unmarked run's.</summary>
    private static string? MarkingEffect(string runner, ValueMap unmarked, ValueMap marked, int count)
    {
        double worst = 0;
        string? where = null;
        foreach (var (name, v) in unmarked)
        {
            if (v is not TensorData a || !marked.TryGetValue(name, out var w) || w is not TensorData b || a.ContentEquals(b)) continue;
            if (!a.Shape.Equals(b.Shape) || a.ElementType != b.ElementType) return $"{runner}: marking {count} tensor(s) changed output '{name}' itself ({a.Describe()} became {b.Describe()})";
            double d = 0;
            // ErrorMath's absolute error: NaN against a number is infinite (Math.Max would let a NaN hide the change).
            for (long i = 0; i < a.ElementCount; i++) d = Math.Max(d, PolyNet.Compare.Kernels.ErrorMath.AbsError(a.GetDouble(i), b.GetDouble(i)));
            if (d >= worst) (worst, where) = (d, name);
        }
        return where is null ? null
            : $"{runner}: with {count} tensor(s) marked as outputs its final outputs differ from the unmarked run (max abs {Format.Number(worst)} on '{where}'): exposing tensors (or inlining If nodes) changed how the runner computes (a fusion stopped, a cast moved), so the layerwise values are those of a slightly different execution";
    }
}
