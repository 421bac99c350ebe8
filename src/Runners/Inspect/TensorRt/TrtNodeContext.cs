using PolyNet.Onnx;
using PolyNet.Onnx.Proto;

namespace PolyNet.Runners.Inspect.TensorRt;

/// <summary>What a <see cref="TrtRule"/> may ask about a node: attributes, tensor types and shapes, constant-ness.</summary>
public sealed class TrtNodeContext
{
    private readonly Func<string, ValueSpec?> _spec;
    private readonly Func<string, TensorProto?> _initializer;
    private readonly Func<string, NodeProto?> _producer;
    private readonly Func<TensorProto, TensorData> _read;

    internal TrtNodeContext(NodeProto node, Func<string, ValueSpec?> spec, Func<string, TensorProto?> initializer, Func<string, NodeProto?> producer, Func<TensorProto, TensorData> read)
    {
        Node = node;
        _spec = spec;
        _initializer = initializer;
        _producer = producer;
        _read = read;
    }

    public NodeProto Node { get; }

    public AttributeProto? Attr(string name) => Node.Attribute.FirstOrDefault(a => a.Name == name);
    public long Int(string name, long fallback) => Attr(name)?.I ?? fallback;
    public string Str(string name, string fallback) => Attr(name)?.S.ToStringUtf8() ?? fallback;

    /// <summary>Input <paramref name="i"/>'s name, or null when it is absent or left empty.</summary>
    public string? Input(int i) => i < Node.Input.Count && Node.Input[i].Length > 0 ? Node.Input[i] : null;
    public string? Output(int i) => i < Node.Output.Count && Node.Output[i].Length > 0 ? Node.Output[i] : null;

    public SymbolicShape? Shape(string? tensor) => tensor is null ? null : _spec(tensor)?.Shape;
    public int? Rank(string? tensor) => Shape(tensor)?.Rank;
    public ElementType TypeOf(string? tensor) => tensor is null ? ElementType.Undefined : _spec(tensor)?.ElementType ?? ElementType.Undefined;

    /// <summary>An initializer (of this graph or an enclosing one) or a Constant node's output: what TensorRT's parser reads as weights.</summary>
    public bool IsConstant(string tensor) => _initializer(tensor) is not null || _producer(tensor) is { } p && ModelWalker.IsTensorConstant(p);

    /// <summary>The value of a constant tensor, or null.</summary>
    public TensorData? Value(string tensor)
    {
        if (_initializer(tensor) is { } t) return _read(t);
        return _producer(tensor) is { } p && ModelWalker.IsTensorConstant(p) ? _read(p.Attribute[0].T) : null;
    }
}
