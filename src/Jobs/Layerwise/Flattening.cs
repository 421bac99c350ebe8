using PolyNet.Onnx.Transforms;
using PolyNet.Runners;

namespace PolyNet.Jobs.Layerwise;

/// <summary>The model as one sample runs it: If nodes replaced by the branch taken, and what stays out of reach.</summary>
/// <param name="Unreachable">Tensors computed inside bodies that were not inlined (Loop, Scan, nested too deep), which no layerwise pass can expose.</param>
/// <param name="Runs">Reference runs made to learn the conditions.</param>
public sealed record Flattened(OnnxModel Model, IReadOnlyList<InlinedIf> Inlined, IReadOnlyList<string> Unreachable, int Runs)
{
    /// <summary>What a user should know, one line each.</summary>
    public IReadOnlyList<string> Notes => new[]
    {
        Inlined.Count == 0 ? null : $"{Inlined.Count} If node(s) compared inside, as this sample takes them: {string.Join(", ", Inlined.Take(6).Select(i => $"{i.Node} ({i.Branch} branch, {i.Nodes} node(s))"))}{(Inlined.Count > 6 ? ", ..." : "")}",
        Unreachable.Count == 0 ? null : $"{Unreachable.Count} tensor(s) inside Loop or Scan bodies cannot be exposed and are not compared: {string.Join(", ", Unreachable.Take(8))}{(Unreachable.Count > 8 ? ", ..." : "")}",
    }.OfType<string>().ToList();
}

/// <summary>
/// Makes a model's control flow visible to the layerwise pass: the reference runs the model once exposing the main
/// graph's If conditions, each If is replaced by the branch taken (<see cref="IfInlining"/>), and so on for If nodes
/// those branches held, up to <see cref="MaxRounds"/> levels. Loop and Scan bodies run many times per inference, so
/// their tensors have no single value to compare: they are listed as unreachable.
/// </summary>
public static class Flattening
{
    public const int MaxRounds = 16;

    public static Flattened ForSample(LayerwiseRequest o, ValueMap feeds, IJobLog log) => ForSamples(o, [feeds], log);

    /// <summary>As <see cref="ForSample"/>, inlining only the If nodes that every sample takes the same way.</summary>
    public static Flattened ForSamples(LayerwiseRequest o, IReadOnlyList<ValueMap> samples, IJobLog log)
        => ForSamples(o.Model, samples, (model, tensors) =>
        {
            using var r = o.CreateRunner(o.Runners[0], new RunnerContext { Model = model, ExtraOutputs = tensors, Log = log.ForRunner(o.Runners[0]) });
            r.Activate();
            return samples.Select(r.Infer).ToList();
        }, log);

    /// <param name="fetch">The reference's values of the given tensors of a model, per sample (one run per sample).</param>
    public static Flattened ForSamples(OnnxModel model, IReadOnlyList<ValueMap> samples, Func<OnnxModel, IReadOnlyList<string>, IReadOnlyList<ValueMap>> fetch, IJobLog log)
    {
        var inlined = new List<InlinedIf>();
        int runs = 0;
        for (int round = 0; round < MaxRounds; round++)
        {
            var conditions = IfInlining.Conditions(model);
            if (conditions.Count == 0) break;
            var view = new GraphView(model.Graph);
            var outputs = model.Graph.Output.Select(x => x.Name).ToHashSet(StringComparer.Ordinal);
            var wanted = conditions.Where(c => !view.Initializers.ContainsKey(c) && !view.GraphInputNames.Contains(c)).ToList();
            var fetched = wanted.Count > 0 ? fetch(model, wanted.Where(w => !outputs.Contains(w)).ToList()) : samples.Select(_ => new ValueMap()).ToList();
            if (wanted.Count > 0) runs += samples.Count;
            var perSample = new List<Dictionary<string, bool>>();
            for (int s = 0; s < samples.Count; s++)
            {
                var values = new Dictionary<string, OnnxValue>(StringComparer.Ordinal);
                foreach (var c in conditions)
                {
                    if (samples[s].TryGetValue(c, out var f)) values[c] = f;
                    else if (view.Initializers.TryGetValue(c, out var init)) values[c] = model.ReadTensor(init);
                    else if (fetched[s].TryGetValue(c, out var v)) values[c] = v;
                }
                perSample.Add(values.Where(kv => kv.Value is TensorData { ElementType: ElementType.Bool, ElementCount: 1 })
                    .ToDictionary(kv => kv.Key, kv => ((TensorData)kv.Value).Span<bool>()[0], StringComparer.Ordinal));
            }
            var taken = perSample[0].Where(kv => perSample.All(p => p.TryGetValue(kv.Key, out var b) && b == kv.Value)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
            var (next, done) = IfInlining.Inline(model, taken);
            if (done.Count == 0) break;
            model = next;
            inlined.AddRange(done);
        }
        var unreachable = model.Graph.Node.SelectMany(ModelWalker.Subgraphs).SelectMany(ModelWalker.GraphAndSubgraphs)
            .SelectMany(g => g.Node).SelectMany(n => n.Output).Where(t => t.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        if (inlined.Count > 0) log.Verbose($"layerwise: {inlined.Count} If node(s) inlined in {runs} reference run(s)");
        return new Flattened(model, inlined, unreachable, runs);
    }
}
