using PolyNet.Onnx;

namespace PolyNet.Runners.Inputs;

/// <summary>
/// Shapes given with --input-shapes: <c>name:1x3x224x224</c> (also <c>name:[1,3,224,224]</c>), several per option or
/// repeated. Strict: bad syntax, a duplicate name, a name the model does not have, a rank or fixed dimension that
/// contradicts the model are all errors that say what was expected.
/// </summary>
public sealed class InputShapes
{
    private readonly Dictionary<string, TensorShape> _shapes = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, TensorShape> Shapes => _shapes;

    public static InputShapes Parse(IEnumerable<string> specs)
    {
        var result = new InputShapes();
        foreach (var spec in specs)
        {
            int c = spec.LastIndexOf(':');
            if (c <= 0)
                throw new InvalidInputException($"--input-shapes {spec}: expected NAME:DIMS, e.g. input:1x3x224x224");
            var name = spec[..c];
            if (!TensorShape.TryParse(spec[(c + 1)..], out var shape, out var error))
                throw new InvalidInputException($"--input-shapes {spec}: {error}");
            if (!result._shapes.TryAdd(name, shape))
                throw new InvalidInputException($"--input-shapes: input '{name}' is given twice");
        }
        return result;
    }

    /// <summary>Checks every given name and shape against the model's inputs.</summary>
    public void Validate(IReadOnlyList<ValueSpec> inputs)
    {
        foreach (var (name, shape) in _shapes)
        {
            var spec = inputs.FirstOrDefault(i => i.Name == name)
                ?? throw new InvalidInputException($"--input-shapes: the model has no input '{name}' (inputs: {string.Join(", ", inputs.Select(i => i.Name))})");
            if (spec.Shape is { } declared) InputValidation.CheckShapeFits(spec, shape, "--input-shapes");
        }
    }
}
