using PolyNet.Onnx;

namespace PolyNet.Runners.Inputs;

/// <summary>
/// Shapes given with --input-shapes: <c>name:1x3x224x224</c> (also <c>name:[1,3,224,224]</c>), several per option or
/// repeated. An input named again starts a new shape set, so <c>--input-shapes x:1x3x224x224 --input-shapes
/// x:8x3x320x320</c> is a sweep over two sets; a later set that leaves an input out keeps the first set's shape for
/// it. Strict: bad syntax, a name the model does not have, a rank or fixed dimension that contradicts the model are
/// errors that say what was expected.
/// </summary>
public sealed class InputShapes
{
    private readonly List<Dictionary<string, TensorShape>> _sets = [];
    private string _option = "--input-shapes";

    /// <summary>The first (or only) shape set; empty when no shapes were given.</summary>
    public IReadOnlyDictionary<string, TensorShape> Shapes => _sets.Count > 0 ? _sets[0] : new Dictionary<string, TensorShape>();

    /// <summary>Every shape set, each complete (inputs a later set leaves out have the first set's shapes).</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, TensorShape>> Sets => _sets;

    /// <summary>More than one shape set: the comparison runs once per set.</summary>
    public bool IsSweep => _sets.Count > 1;

    /// <param name="option">The option the shapes came from, for messages.</param>
    public static InputShapes Parse(IEnumerable<string> specs, string option = "--input-shapes")
    {
        var result = new InputShapes { _option = option };
        Dictionary<string, TensorShape>? current = null;
        foreach (var spec in specs)
        {
            int c = spec.LastIndexOf(':');
            if (c <= 0)
                throw new InvalidInputException($"{option} {spec}: expected NAME:DIMS, e.g. input:1x3x224x224");
            var name = spec[..c];
            if (!TensorShape.TryParse(spec[(c + 1)..], out var shape, out var error))
                throw new InvalidInputException($"{option} {spec}: {error}");
            if (current is null || current.ContainsKey(name))
            {
                current = new Dictionary<string, TensorShape>(StringComparer.Ordinal);
                result._sets.Add(current);
            }
            current[name] = shape;
        }
        foreach (var set in result._sets.Skip(1))
            foreach (var (name, shape) in result._sets[0])
                set.TryAdd(name, shape);
        for (int i = 1; i < result._sets.Count; i++)
            if (result._sets.Take(i).Any(earlier => Same(earlier, result._sets[i])))
                throw new InvalidInputException($"{option}: shape set {i + 1} ({Describe(result._sets[i])}) repeats an earlier one");
        return result;
    }

    /// <summary>Shape set <paramref name="index"/> alone.</summary>
    public InputShapes Set(int index)
    {
        var one = new InputShapes();
        one._sets.Add(new Dictionary<string, TensorShape>(_sets[index], StringComparer.Ordinal));
        return one;
    }

    /// <summary>"x:1x3x224x224, mask:1x77" for messages and reports.</summary>
    public static string Describe(IReadOnlyDictionary<string, TensorShape> set) => string.Join(", ", set.Select(kv => $"{kv.Key}:{kv.Value}"));

    private static bool Same(Dictionary<string, TensorShape> a, Dictionary<string, TensorShape> b)
        => a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var s) && s.Equals(kv.Value));

    /// <summary>For commands that take one shape per input (bench, reduce, surgeon): a sweep is an error that says where sweeps go.</summary>
    public InputShapes RequireSingle(string command)
    {
        if (IsSweep)
            throw new InvalidInputException($"{_option}: {_sets.Count} shape sets (an input given more than once) make a sweep, which 'polynet run' and 'polynet suite run' take; {command} takes one shape per input");
        return this;
    }

    /// <summary>Checks every given name and shape, in every set, against the model's inputs.</summary>
    public void Validate(IReadOnlyList<ValueSpec> inputs)
    {
        foreach (var set in _sets)
            foreach (var (name, shape) in set)
            {
                var spec = inputs.FirstOrDefault(i => i.Name == name)
                    ?? throw new InvalidInputException($"--input-shapes: the model has no input '{name}' (inputs: {string.Join(", ", inputs.Select(i => i.Name))})");
                if (spec.Shape is not null) InputValidation.CheckShapeFits(spec, shape, "--input-shapes");
            }
    }
}
