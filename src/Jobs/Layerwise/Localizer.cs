using System.Text.Json.Serialization;
using PolyNet.Onnx;
using PolyNet.Onnx.Proto;
using PolyNet.Onnx.Transforms;
using PolyNet.Runners;
using PolyNet.Runners.Inspect;
using PolyNet.Runners.Ort;
using PolyNet.Runners.Specs;

namespace PolyNet.Jobs.Layerwise;

/// <summary>A diverging tensor's node run alone on the candidate, fed the reference's values for its inputs.</summary>
/// <param name="Introduces">The node's output differs beyond tolerance even from exact inputs: the node introduces error. Null when it could not be isolated.</param>
public sealed record NodeVerdict(int Position, int Node, string NodeName, string OpType, string Tensor, bool? Introduces, OutputComparison? Isolated, string? Note = null)
{
    public string NodeLabel => string.IsNullOrEmpty(NodeName) ? $"#{Node} ({OpType})" : $"{NodeName} ({OpType})";
}

/// <summary>How much of a final output's error goes away when the culprits' outputs are replaced by the reference's.</summary>
/// <param name="Before">Relative L2 error of the output in the candidate's full run.</param>
/// <param name="After">The same with the culprits fixed.</param>
public sealed record OutputExplanation(string Output, double Before, double After, double MaxAbsBefore, double MaxAbsAfter)
{
    /// <summary>Share of the error explained, in [0, 1] (NaN when there was no error).</summary>
    public double Explained => Before > 0 && double.IsFinite(Before) ? Math.Clamp(1 - After / Before, 0, 1) : Before > 0 ? (double.IsFinite(After) ? 1 : 0) : double.NaN;
}

/// <summary>
/// One culprit's part in the error: the share of each output's error that fixing it removes once the culprits before
/// it (in topological order) are fixed, which is the error it adds rather than inherits; null where not measured.
/// The shares of all culprits add up to what fixing them all removes.
/// </summary>
/// <param name="OwnError">Relative L2 error of its output when it runs alone on the reference's inputs.</param>
/// <param name="Cascade">
/// Culprits right after it whose own error is infinite too, each fed by the one before: values beyond the candidate's
/// range (float16 overflow) that each of them overflows again even from exact inputs. Fixing the first alone leaves the
/// others to overflow; the share is theirs together, named by the first.
/// </param>
public sealed record Attribution(string Node, string Tensor, double OwnError, IReadOnlyDictionary<string, double>? Shares, IReadOnlyList<string>? Cascade = null)
{
    /// <summary>Its share of <paramref name="output"/>'s error, or null when not measured.</summary>
    public double? Share(string? output) => output is not null && Shares?.TryGetValue(output, out var v) == true ? v : null;
}

/// <summary>The culprits among a candidate's diverging tensors, with what fixing them does to the final outputs.</summary>
public sealed record LocalizationResult
{
    public required IReadOnlyList<NodeVerdict> Nodes { get; init; }
    [JsonIgnore]
    public IEnumerable<NodeVerdict> Culprits => Nodes.Where(n => n.Introduces == true);
    /// <summary>With every culprit fixed at once.</summary>
    public required IReadOnlyList<OutputExplanation> Explained { get; init; }
    /// <summary>
    /// The culprits, the one adding most of the worst output's error first (those whose share was measured by it, the
    /// others after them by their own error), each with its share of every output's error where measured.
    /// </summary>
    public IReadOnlyList<Attribution> Attribution { get; init; } = [];
    /// <summary>The output with the largest relative error before any fix: the one the ranking is for.</summary>
    public string? WorstOutput { get; init; }
    /// <summary>Model runs attribution took beyond the joint explanation.</summary>
    public int AttributionRuns { get; init; }
    /// <summary>Model runs localization took after the layerwise pass.</summary>
    public required int Runs { get; init; }
    /// <summary>Groups the diverging nodes were run in, to keep their values within --max-memory.</summary>
    public int Groups { get; init; } = 1;
    /// <summary>What localization could not do (said, never silently skipped).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}

/// <summary>
/// Decides, for each diverging tensor, whether its node introduces the error or inherits it. All diverging nodes are
/// copied side by side into one model whose inputs are theirs, renamed; the candidate runs it once, fed the reference's
/// values, and each copy's output is compared with the reference's (one run, whatever the count). Then the candidate
/// runs the model with the culprits' outputs cut and fed the reference's values, to measure how much of each final
/// output's error they explain, and attribution says which culprit adds how much (<see cref="AttributionBudget"/> runs
/// more). Runs after the layerwise pass: 0 or 1 to get the reference's values (none when the pass kept them), 1 for
/// the isolated nodes, 1 for the joint explanation: at most 3 for a single culprit. When the values involved exceed --max-memory, the nodes are run in groups that
/// fit it (2 runs per group), and only the culprits' outputs are kept for the explanation.
/// </summary>
public static class Localizer
{
    public static LocalizationResult Execute(LayerwiseRequest o, RunnerSpec candidate, CandidateLayers layers, ValueMap feeds,
        ValueMap referenceOutputs, ValueMap candidateOutputs, ValueMap? referenceValues, IJobLog log, long maxMemory = long.MaxValue)
    {
        var model = o.Model;
        var view = new GraphView(model.Graph);
        int runs = 0;
        var diverging = layers.Diverging.GroupBy(t => t.Node).Select(g => g.First()).OrderBy(t => t.Position).ToList();
        var types = OrtTypes.Infer(model);
        var notes = new List<string>();

        // Sizes of the values involved, from what the layerwise pass saw (exact for every marked tensor).
        var bytes = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var t in layers.Tensors)
            if (t.Comparison.ReferenceShape is { } shape && t.Comparison.ReferenceType is not (ElementType.Undefined or ElementType.String))
                bytes[t.Tensor] = t.Comparison.ReferenceType.StorageBytes(shape.ElementCount);
        long Size(string x) => bytes.GetValueOrDefault(x);
        List<string> Needed(TensorResult t) => view.AllInputs(t.Node).Concat(view.Nodes[t.Node].Output.Where(x => x.Length > 0))
            .Where(x => !view.Initializers.ContainsKey(x) && !feeds.ContainsKey(x) && !referenceOutputs.ContainsKey(x)).Distinct(StringComparer.Ordinal).ToList();

        // The diverging nodes in groups whose values fit --max-memory: the reference's inputs and outputs of the
        // group's nodes, and the candidate's outputs of their copies. One group (two runs) unless the values are large.
        var verdicts = new List<NodeVerdict>();
        var culpritValues = new ValueMap();
        long culpritBytes = 0;
        bool explainable = true;
        ComputePrecision refPrecision = layers.ReferencePrecision, candPrecision = ComputePrecision.Fp32;
        int next = 0, groups = 0;
        while (next < diverging.Count)
        {
            var group = new List<TensorResult>();
            var held = new HashSet<string>(StringComparer.Ordinal);
            long used = 0;
            while (next < diverging.Count)
            {
                var t = diverging[next];
                var extra = Needed(t).Where(x => !held.Contains(x)).ToList();
                long cost = extra.Sum(Size) + view.Nodes[t.Node].Output.Sum(Size);
                if (group.Count > 0 && used + cost > maxMemory) break;
                group.Add(t);
                held.UnionWith(extra);
                used += cost;
                next++;
            }
            groups++;
            RunGroup(group, held);
            if (used > 64L << 20) ValueMemory.Reclaim();
        }
        if (groups > 1) log.Verbose($"localization ({candidate.Name}): {diverging.Count} diverging node(s) run in {groups} group(s) to stay within --max-memory");

        // The reference's and the candidate's values of a group live only while it runs.
        void RunGroup(List<TensorResult> group, HashSet<string> held)
        {
            var reference = new ValueMap();
            foreach (var (k, v) in feeds) reference.Set(k, v);
            foreach (var (k, v) in referenceOutputs) reference.Set(k, v);
            foreach (var x in held)
                if (referenceValues?.TryGetValue(x, out var v) == true) reference.Set(x, v);
            var fetch = held.Where(x => !reference.ContainsKey(x)).ToList();
            if (fetch.Count > 0)
            {
                using var r = o.CreateRunner(o.Runners[0], new RunnerContext { Model = model, ExtraOutputs = fetch, Log = log.ForRunner(o.Runners[0]) });
                r.Activate();
                foreach (var (k, v) in r.Infer(feeds)) reference.Set(k, v);
                runs++;
            }

            // One model holding a copy of each node of the group, fed the reference's values.
            var (isolated, isoFeeds, outputsOf, skipped) = Isolate(model, view, group, reference, types);
            ValueMap isoOut = new();
            if (outputsOf.Count > 0)
            {
                using var c = o.CreateRunner(candidate, new RunnerContext { Model = isolated, Log = log.ForRunner(candidate) });
                c.Activate();
                isoOut = c.Infer(isoFeeds);
                candPrecision = c.Precision;
                runs++;
            }
            foreach (var t in group)
            {
                if (skipped.TryGetValue(t.Node, out var why))
                {
                    verdicts.Add(new NodeVerdict(t.Position, t.Node, t.NodeName, t.OpType, t.Tensor, null, null, why));
                    continue;
                }
                OutputComparison? worst = null;
                bool introduces = false;
                foreach (var (orig, iso) in outputsOf[t.Node])
                {
                    if (!reference.TryGetValue(orig, out var rv) || !isoOut.TryGetValue(iso, out var cv)) continue;
                    var pair = PairComparer.Compare(0, "reference", new ValueMap { { orig, rv } }, candidate.Name, new ValueMap { { orig, cv } }, o.Tolerances, o.Compare.ForIntermediates(), onlyShared: true, refPrecision, candPrecision);
                    foreach (var oc in pair.Outputs)
                    {
                        if (!oc.Passed) introduces = true;
                        if (worst is null || (!oc.Passed && worst.Passed)) worst = oc;
                    }
                }
                verdicts.Add(new NodeVerdict(t.Position, t.Node, t.NodeName, t.OpType, t.Tensor, worst is null ? null : introduces, worst));
                // A culprit's outputs are kept for the explanation below, while they fit half the bound.
                if (introduces && explainable)
                    foreach (var x in view.Nodes[t.Node].Output.Where(x => x.Length > 0 && reference.ContainsKey(x) && !culpritValues.ContainsKey(x)))
                    {
                        culpritBytes += Size(x);
                        culpritValues.Set(x, reference[x]);
                    }
                if (explainable && culpritBytes > maxMemory / 2)
                {
                    explainable = false;
                    culpritValues = new ValueMap();
                    notes.Add($"localization ({candidate.Name}): the culprits' outputs hold more than half of --max-memory ({Format.Bytes(maxMemory)}): how much of the final error they explain was not measured");
                    log.Warning(notes[^1]);
                }
            }
        }
        var culprits = verdicts.Where(v => v.Introduces == true).ToList();
        log.Info($"localization ({candidate.Name}): {culprits.Count} of {verdicts.Count} diverging node(s) introduce error");

        // How much of the final error goes away with the culprits fixed: all at once, then attribution (which of them).
        IReadOnlyList<OutputExplanation> joint = [];
        IReadOnlyList<Attribution> ranking = [];
        string? worst = null;
        int attributionRuns = 0;
        if (culprits.Count > 0 && explainable)
        {
            foreach (var (k, v) in referenceOutputs) culpritValues.Set(k, v);
            IReadOnlyList<OutputExplanation> Fix(IReadOnlyList<NodeVerdict> set) => Explain(o, candidate, set.Select(c => c.Node).ToList(), view, feeds, culpritValues, referenceOutputs, candidateOutputs, types, log, ref runs);
            joint = Fix(culprits);
            int before = runs;
            (ranking, worst) = Attribute(culprits, joint, Fix, view);
            attributionRuns = runs - before;
            if (ranking.Count > 0 && ranking[0].Share(worst) is { } top)
                log.Info($"localization ({candidate.Name}): {ranking[0].Node} adds {100 * top:0.#}% of {worst}'s error ({attributionRuns} attribution run(s) for {culprits.Count} culprit(s))");
        }
        return new LocalizationResult
        {
            Nodes = verdicts, Explained = joint, Runs = runs, Groups = groups, Notes = notes,
            Attribution = ranking, WorstOutput = worst, AttributionRuns = attributionRuns,
        };
    }

    /// <summary>Most runs attribution takes for <paramref name="k"/> culprits: k − 1 up to 8, else 2·⌈log2 k⌉ + 4.</summary>
    public static int AttributionBudget(int k) => k <= 8 ? Math.Max(0, k - 1) : 2 * (int)Math.Ceiling(Math.Log2(k)) + 4;

    /// <summary>
    /// How much of each output's error each culprit adds: E(k) is what fixing the first k culprits (topological order)
    /// removes, so culprit k adds E(k) − E(k−1); E(0) = 0 and E(K) is the joint fix, already measured. A node late in
    /// the graph that every path to the output crosses removes all of the error when fixed alone, though it inherits
    /// it; fixed after the culprits before it, it removes only what it adds. Up to 8 culprits, every E(k) is measured
    /// (K − 1 runs). Beyond, by bisection on k (E is close to monotone): where the worst output's E first reaches half of
    /// its joint share, then the same for the other outputs the culprits explain, then nine tenths for the worst, each
    /// with the prefix just before it, while the budget of 2·⌈log2 K⌉ + 4 runs lasts.
    /// Each run measures every output at once.
    /// </summary>
    private static (IReadOnlyList<Attribution> Ranking, string? Worst) Attribute(IReadOnlyList<NodeVerdict> culprits, IReadOnlyList<OutputExplanation> joint,
        Func<IReadOnlyList<NodeVerdict>, IReadOnlyList<OutputExplanation>> fix, GraphView view)
    {
        var worst = joint.Where(e => e.Before > 0).OrderByDescending(e => double.IsNaN(e.Before) ? double.PositiveInfinity : e.Before).FirstOrDefault()?.Output;
        // Its own error: infinite where it makes values no number measures (an overflow), else its relative L2 error.
        static double Own(NodeVerdict v) => v.Isolated?.Metrics is not { } m ? 0 : m.InfiniteAbsErrors > 0 || double.IsNaN(m.RelativeL2) ? double.PositiveInfinity : m.RelativeL2;
        var ordered = culprits.OrderBy(c => c.Position).ToList();
        int K = ordered.Count;
        var prefix = new Dictionary<int, Dictionary<string, double>>
        {
            [0] = joint.ToDictionary(e => e.Output, _ => 0.0, StringComparer.Ordinal),
            [K] = joint.ToDictionary(e => e.Output, e => double.IsNaN(e.Explained) ? 0 : e.Explained, StringComparer.Ordinal),
        };
        Dictionary<string, double> E(int k)
        {
            if (!prefix.TryGetValue(k, out var v))
                prefix[k] = v = fix(ordered.Take(k).ToList()).ToDictionary(e => e.Output, e => double.IsNaN(e.Explained) ? 0 : e.Explained, StringComparer.Ordinal);
            return v;
        }
        if (K <= 8)
            for (int k = 1; k < K; k++) E(k);
        else if (worst is not null)
        {
            // The first k where an output's share reaches a fraction of its joint one: culprit k is a big step for it.
            // Bisection reuses every prefix already measured, so searches for several outputs share their runs.
            int budget = AttributionBudget(K), before = prefix.Count;
            int Crossing(string output, double fraction)
            {
                double S(int k) => E(k).TryGetValue(output, out var v) ? v : 0;
                double target = fraction * S(K);
                int lo = 0, hi = K; // S(lo) < target <= S(hi)
                while (hi - lo > 1)
                {
                    int mid = (lo + hi) / 2;
                    if (S(mid) >= target) hi = mid; else lo = mid;
                }
                E(hi - 1);
                return hi;
            }
            int Spent() => prefix.Count - before;
            int Search() => (int)Math.Ceiling(Math.Log2(K)) + 1;
            // The worst output first; then, a node may wreck one output and not another, each other output whose error
            // the culprits explain, while a search still fits the budget; then the worst output's nine tenths.
            Crossing(worst, 0.5);
            var others = joint.Where(e => e.Output != worst && e.Before > 0 && e.Explained > 0.5).OrderByDescending(e => e.Before).Select(e => e.Output);
            foreach (var output in others)
                if (Spent() + Search() <= budget) Crossing(output, 0.5);
            if (Spent() + Search() <= budget) Crossing(worst, 0.9);
        }
        var ranking = new List<Attribution>();
        for (int k = 1; k <= K; k++)
        {
            var c = ordered[k - 1];
            Dictionary<string, double>? shares = null;
            if (prefix.TryGetValue(k, out var after) && prefix.TryGetValue(k - 1, out var before))
                shares = after.ToDictionary(kv => kv.Key, kv => kv.Value - before.GetValueOrDefault(kv.Key), StringComparer.Ordinal);
            ranking.Add(new Attribution(c.NodeLabel, c.Tensor, Own(c), shares));
        }
        // An overflow cascade: the share of its last node goes to its first, which starts it.
        bool Feeds(NodeVerdict a, NodeVerdict b) => view.Nodes[a.Node].Output.Any(x => x.Length > 0 && view.AllInputs(b.Node).Contains(x));
        for (int k = K - 1; k >= 1; k--)
        {
            if (ranking[k].Shares is null || !double.IsPositiveInfinity(ranking[k].OwnError)) continue;
            int j = k;
            while (j > 0 && double.IsPositiveInfinity(ranking[j - 1].OwnError) && Feeds(ordered[j - 1], ordered[j])) j--;
            if (j == k) continue;
            var shares = ranking[k].Shares;
            var cascade = Enumerable.Range(j + 1, k - j).Select(i => ordered[i].NodeLabel).ToList();
            ranking[j] = ranking[j] with { Shares = shares, Cascade = cascade };
            for (int i = j + 1; i <= k; i++) ranking[i] = ranking[i] with { Shares = null };
            k = j;
        }
        // Measured shares first (largest first), then the others by their own error: a share of nothing ranks as none.
        return (ranking.OrderByDescending(x => x.Share(worst) is { } v and > 0.01 ? 2 + v : 0).ThenByDescending(x => x.OwnError).ToList(), worst);
    }

    /// <summary>Copies of the nodes, inputs renamed "iso{node}:{tensor}" (initializers shared), outputs "iso{node}/{tensor}".</summary>
    private static (OnnxModel Model, ValueMap Feeds, Dictionary<int, List<(string Original, string Isolated)>> Outputs, Dictionary<int, string> Skipped) Isolate(
        OnnxModel model, GraphView view, IReadOnlyList<TensorResult> nodes, ValueMap reference, IReadOnlyDictionary<string, ValueSpec> types)
    {
        var src = model.Proto;
        var proto = new ModelProto { IrVersion = src.IrVersion, Graph = new GraphProto { Name = "polynet_isolated" } };
        proto.OpsetImport.AddRange(src.OpsetImport.Select(x => x.Clone()));
        proto.Functions.AddRange(src.Functions.Select(f => f.Clone()));
        var g = proto.Graph;
        var feeds = new ValueMap();
        var outputs = new Dictionary<int, List<(string, string)>>();
        var skipped = new Dictionary<int, string>();
        var inits = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in nodes)
        {
            var node = view.Nodes[t.Node];
            if (view.ImplicitInputs(t.Node).Count > 0) { skipped[t.Node] = "has subgraphs that read outer tensors; not isolated"; continue; }
            var missing = node.Input.FirstOrDefault(i => i.Length > 0 && !view.Initializers.ContainsKey(i) && !reference.ContainsKey(i));
            if (missing is not null) { skipped[t.Node] = $"the reference's value of input '{missing}' is not available"; continue; }
            var copy = node.Clone();
            copy.Name = $"iso{t.Node}";
            for (int j = 0; j < copy.Input.Count; j++)
            {
                var x = copy.Input[j];
                if (x.Length == 0) continue;
                if (view.Initializers.TryGetValue(x, out var init))
                {
                    if (inits.Add(x)) g.Initializer.Add(init);
                    continue;
                }
                var name = $"iso{t.Node}:{x}";
                copy.Input[j] = name;
                if (!feeds.ContainsKey(name))
                {
                    var v = reference[x];
                    feeds.Add(name, v);
                    g.Input.Add(Subgraph.ToValueInfo(new ValueSpec(name, v.Kind, Element(v), null)));
                }
            }
            var list = new List<(string, string)>();
            for (int k = 0; k < copy.Output.Count; k++)
            {
                var x = copy.Output[k];
                if (x.Length == 0) continue;
                copy.Output[k] = $"iso{t.Node}/{x}";
                list.Add((x, copy.Output[k]));
                g.Output.Add(types.TryGetValue(x, out var spec) ? Subgraph.ToValueInfo(spec with { Name = copy.Output[k], Shape = null }) : new ValueInfoProto { Name = copy.Output[k] });
            }
            outputs[t.Node] = list;
            g.Node.Add(copy);
        }
        return (OnnxModel.FromProto(proto, model.BaseDirectory, "isolated nodes of " + model.DisplayName), feeds, outputs, skipped);
    }

    private static ElementType Element(OnnxValue v) => v switch
    {
        TensorData t => t.ElementType,
        SequenceData s => s.ElementType,
        _ => ElementType.Undefined,
    };

    /// <summary>The candidate on the model with <paramref name="culprits"/>' outputs cut and fed the reference's values.</summary>
    private static IReadOnlyList<OutputExplanation> Explain(LayerwiseRequest o, RunnerSpec candidate, IReadOnlyList<int> culprits, GraphView view, ValueMap feeds,
        ValueMap reference, ValueMap referenceOutputs, ValueMap candidateOutputs, IReadOnlyDictionary<string, ValueSpec> types, IJobLog log, ref int runs)
    {
        var model = o.Model;
        var cut = culprits.SelectMany(n => view.Nodes[n].Output).Where(x => x.Length > 0 && reference.ContainsKey(x)).Distinct(StringComparer.Ordinal).ToList();
        var finals = model.Graph.Output.Select(x => x.Name).ToList();
        var needed = finals.Where(f => !cut.Contains(f)).ToList();
        ValueMap fixedOutputs = new();
        if (needed.Count > 0)
        {
            var values = cut.Where(x => reference[x] is TensorData).ToDictionary(x => x, x => (TensorData)reference[x], StringComparer.Ordinal);
            var replaced = TensorReplacement.AsInputs(model, values);
            var f = new ValueMap(feeds);
            foreach (var (x, v) in values) f.Set(x, v);
            using var c = o.CreateRunner(candidate, new RunnerContext { Model = replaced, Log = log.ForRunner(candidate) });
            c.Activate();
            fixedOutputs = c.Infer(f);
            runs++;
        }
        foreach (var x in cut.Where(finals.Contains)) fixedOutputs.Set(x, reference[x]);
        var result = new List<OutputExplanation>();
        foreach (var name in finals)
        {
            if (referenceOutputs.TryGetValue(name, out var r) is false || r is not TensorData rt) continue;
            if (!candidateOutputs.TryGetValue(name, out var before) || before is not TensorData bt) continue;
            if (!fixedOutputs.TryGetValue(name, out var after) || after is not TensorData at) continue;
            var (l2b, maxb) = Error(rt, bt);
            var (l2a, maxa) = Error(rt, at);
            result.Add(new OutputExplanation(name, l2b, l2a, maxb, maxa));
        }
        return result;
    }

    /// <summary>Relative L2 error ‖c − r‖ / ‖r‖ (‖c − r‖ when r is all zeros) and max |c − r|; NaN differences count as infinite.</summary>
    private static (double RelL2, double MaxAbs) Error(TensorData r, TensorData c)
    {
        if (!r.Shape.Equals(c.Shape) || r.ElementType == ElementType.String || c.ElementType == ElementType.String) return (double.PositiveInfinity, double.PositiveInfinity);
        double num = 0, den = 0, max = 0;
        for (long i = 0; i < r.ElementCount; i++)
        {
            double a = r.GetDouble(i), b = c.GetDouble(i);
            double d = a == b || (double.IsNaN(a) && double.IsNaN(b)) ? 0 : Math.Abs(b - a);
            if (double.IsNaN(d)) d = double.PositiveInfinity;
            num += d * d;
            den += a * a;
            max = Math.Max(max, d);
        }
        return (den > 0 ? Math.Sqrt(num / den) : Math.Sqrt(num), max);
    }
}
