using PolyNet.Onnx;
using PolyNet.Runners;
using PolyNet.Runners.Inputs;
using PolyNet.Reduce.Steps;

namespace PolyNet.Reduce;

/// <summary>
/// The value of any tensor of the whole model, per sample, as the reference runner computes it: what a cut tensor is
/// frozen to when its producer is not in a subgraph. Values are fetched on demand (one run per sample exposing every
/// tensor still missing) and kept for the whole reduction. When the reference cannot run the whole model (the very
/// failure being reduced may be a node nobody can build), tensors it cannot give are generated from the seed
/// (<see cref="ReduceOptions.Seed"/>) with
/// their inferred types and shapes instead, and <see cref="Degraded"/> says so.
/// </summary>
public sealed class ReferenceValues(ReduceOptions o, IReadOnlyDictionary<string, ValueSpec> types, Func<IStepRunner> steps)
{
    private readonly List<ValueMap> _values = o.Samples.Select(s => new ValueMap(s)).ToList();
    private bool _referenceFailed;

    /// <summary>Model runs made to fetch values.</summary>
    public int Runs { get; private set; }
    /// <summary>Why some values are generated rather than the reference's (null when none are).</summary>
    public string? Degraded { get; private set; }

    /// <summary>Per sample, the values of <paramref name="tensors"/>.</summary>
    public IReadOnlyList<ValueMap> For(IReadOnlyList<string> tensors)
    {
        var missing = tensors.Where(t => !_values[0].ContainsKey(t)).Distinct(StringComparer.Ordinal).ToList();
        if (missing.Count > 0 && !_referenceFailed)
        {
            try
            {
                var fetched = steps().Values(o.Model, o.Reference, o.Samples, missing);
                for (int s = 0; s < _values.Count; s++)
                {
                    foreach (var (k, v) in fetched[s]) _values[s].Set(k, v);
                    Runs++;
                }
            }
            catch (RunnerException e)
            {
                _referenceFailed = true;
                Degraded = $"the reference ({o.Reference.Text}) cannot run the whole model ({e.Message}); cut tensors get generated values";
            }
        }
        foreach (var t in missing.Where(t => !_values[0].ContainsKey(t)))
        {
            if (!types.TryGetValue(t, out var spec) || spec.Kind != ValueKind.Tensor || spec.ElementType == ElementType.Undefined || spec.Shape is null || spec.Shape.Dims.Any(d => d.Value is null))
                throw new UnresolvedException($"tensor '{t}' has no value: the reference cannot compute it and its type or shape is unknown");
            var shape = new TensorShape(spec.Shape.Dims.Select(d => d.Value!.Value).ToArray());
            var gen = new InputGenerator(o.Seed);
            for (int s = 0; s < _values.Count; s++) _values[s].Set(t, gen.Generate(t, spec.ElementType, shape, s));
        }
        return _values.Select(v => new ValueMap(tensors.Distinct(StringComparer.Ordinal).Select(t => new KeyValuePair<string, OnnxValue>(t, v[t])))).ToList();
    }
}

/// <summary>A subgraph that cannot be checked at all (a cut tensor without a value or a type). Counts as "does not fail".</summary>
public sealed class UnresolvedException(string message) : Exception(message);

/// <summary>Types and shapes of every tensor: the model's value infos, completed by ONNX Runtime where it can.</summary>
public static class TypeTable
{
    public static IReadOnlyDictionary<string, ValueSpec> For(OnnxModel model, IStepRunner steps)
    {
        var types = new Dictionary<string, ValueSpec>(StringComparer.Ordinal);
        var view = new GraphView(model.Graph);
        foreach (var (name, vi) in view.ValueInfos)
            if (ValueSpec.FromValueInfo(vi) is { } spec) types[name] = spec;
        try
        {
            foreach (var (k, v) in steps.Types(model))
                if (v.ElementType != ElementType.Undefined) types[k] = v;
        }
        catch (RunnerException)
        {
            // ORT cannot build the whole model (the failure being reduced); value infos are all there is.
        }
        return types;
    }
}
