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

    public static Flattened ForSample(LayerwiseRequest o, ValueMap feeds, IJobLog log)
    {
        var model = o.Model;
        var inlined = new List<InlinedIf>();
        int runs = 0;
        for (int round = 0; round < MaxRounds; round++)
        {
            var conditions = IfInlining.Conditions(model);
            if (conditions.Count == 0) break;
            var values = new Dictionary<string, OnnxValue>(StringComparer.Ordinal);
            var view = new GraphView(model.Graph);
            foreach (var c in conditions)
            {
                if (feeds.TryGetValue(c, out var f)) values[c] = f;
                else if (view.Initializers.TryGetValue(c, out var init)) values[c] = model.ReadTensor(init);
            }
            var fetch = conditions.Where(c => !values.ContainsKey(c)).ToList();
            if (fetch.Count > 0)
            {
                using var r = o.CreateRunner(o.Runners[0], new RunnerContext { Model = model, ExtraOutputs = fetch, Log = log.ForRunner(o.Runners[0]) });
                r.Activate();
                foreach (var (k, v) in r.Infer(feeds)) values[k] = v;
                runs++;
            }
            var taken = new Dictionary<string, bool>(StringComparer.Ordinal);
            foreach (var (k, v) in values)
                if (v is TensorData { ElementType: ElementType.Bool, ElementCount: 1 } t) taken[k] = t.Span<bool>()[0];
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
