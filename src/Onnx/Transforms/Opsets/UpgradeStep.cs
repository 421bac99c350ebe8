using PolyNet.Onnx.Data;
using PolyNet.Onnx.Proto;

namespace PolyNet.Onnx.Transforms.Opsets;

/// <summary>
/// What an <see cref="OpsetAdapter"/> sees while one graph moves from opset <see cref="Version"/> − 1 to
/// <see cref="Version"/>: attribute helpers, the ranks and element types known so far, constant values, fresh
/// names, and a place to record what cannot be converted. Adapters never throw for a model they cannot convert;
/// they call <see cref="Refuse"/> and the upgrade reports every refusal at once.
/// </summary>
public sealed class UpgradeStep
{
    private readonly TensorFacts _facts;
    private readonly HashSet<string> _names;
    private readonly List<string> _refusals;
    private readonly Dictionary<string, int> _uses;

    internal UpgradeStep(long version, GraphProto graph, TensorFacts facts, HashSet<string> names, List<string> refusals)
    {
        Version = version;
        _facts = facts;
        _names = names;
        _refusals = refusals;
        _uses = new(StringComparer.Ordinal);
        foreach (var n in graph.Node)
            foreach (var i in n.Input.Concat(GraphView.ImplicitInputsOf(n)))
                _uses[i] = _uses.GetValueOrDefault(i) + 1;
        foreach (var o in graph.Output) _uses[o.Name] = _uses.GetValueOrDefault(o.Name) + 1;
    }

    /// <summary>The opset this step converts to.</summary>
    public long Version { get; }

    public static string Describe(NodeProto n) => n.Name.Length > 0 ? $"{n.OpType} node '{n.Name}'" : $"{n.OpType} node (output '{n.Output.FirstOrDefault()}')";

    public void Refuse(NodeProto n, string reason) => _refusals.Add($"{Describe(n)}: {reason}");

    public static AttributeProto? Attr(NodeProto n, string name) => n.Attribute.FirstOrDefault(a => a.Name == name);

    /// <summary>Removes the attribute; true when it was there.</summary>
    public static bool RemoveAttr(NodeProto n, string name)
    {
        var a = Attr(n, name);
        return a is not null && n.Attribute.Remove(a);
    }

    public static void SetAttr(NodeProto n, string name, object value)
    {
        RemoveAttr(n, name);
        n.Attribute.Add(ModelBuilder.MakeAttribute(name, value));
    }

    /// <summary>Whether anything (a node, a subgraph or a graph output) reads the tensor.</summary>
    public bool IsUsed(string tensor) => tensor.Length > 0 && _uses.ContainsKey(tensor);

    public int? Rank(string tensor) => _facts.Rank(tensor);
    public long[]? Shape(string tensor) => _facts.Shape(tensor);
    public ElementType TypeOf(string tensor) => _facts.TypeOf(tensor);

    /// <summary>The value of a tensor that is an initializer or a Constant's output, or null.</summary>
    public TensorData? Constant(string tensor) => _facts.Constant(tensor);

    /// <summary>A name not used anywhere in the model, derived from <paramref name="hint"/>.</summary>
    public string Fresh(string hint)
    {
        var name = hint;
        for (int i = 1; !_names.Add(name); i++) name = $"{hint}_{i}";
        return name;
    }

    /// <summary>A Constant node holding <paramref name="value"/>; its output name is fresh.</summary>
    public NodeProto ConstantNode(TensorData value, string hint)
    {
        var name = Fresh(hint);
        var n = new NodeProto { OpType = "Constant", Name = name, Output = { name } };
        n.Attribute.Add(ModelBuilder.MakeAttribute("value", value));
        _facts.Add(name, value);
        return n;
    }

    public NodeProto ConstantInts(long[] values, string hint, bool scalar = false)
        => ConstantNode(scalar ? TensorData.Scalar(values[0]) : TensorData.Create(new[] { (long)values.Length }, values), hint);

    /// <summary>A node of the default domain with fresh output names.</summary>
    public NodeProto NewNode(string op, string nameHint, IEnumerable<string> inputs, int outputs = 1, params (string Name, object Value)[] attributes)
    {
        var name = Fresh(nameHint);
        var n = new NodeProto { OpType = op, Name = name };
        n.Input.AddRange(inputs);
        for (int i = 0; i < outputs; i++) n.Output.Add(outputs == 1 ? name : Fresh($"{name}_{i}"));
        foreach (var (k, v) in attributes) n.Attribute.Add(ModelBuilder.MakeAttribute(k, v));
        return n;
    }

    /// <summary>An attribute's ints as an int64 Constant input (for attributes that became inputs).</summary>
    public NodeProto? IntsToInput(NodeProto n, string attribute, bool scalar = false)
    {
        var a = Attr(n, attribute);
        if (a is null) return null;
        n.Attribute.Remove(a);
        var values = a.Type == AttributeProto.Types.AttributeType.Int ? [a.I] : a.Ints.ToArray();
        return ConstantInts(values, $"{NameOf(n)}_{attribute}", scalar);
    }

    /// <summary>A float scalar of the element type of <paramref name="like"/> (float when that type is not known).</summary>
    public NodeProto ScalarLike(string like, float value, string hint)
    {
        var t = TypeOf(like);
        TensorData v = t switch
        {
            ElementType.Double => TensorData.Scalar((double)value),
            ElementType.Float16 => TensorData.Scalar((Half)value),
            ElementType.Int32 => TensorData.Scalar((int)value),
            ElementType.Int64 => TensorData.Scalar((long)value),
            ElementType.Int8 => TensorData.Scalar((sbyte)value),
            ElementType.UInt8 => TensorData.Scalar((byte)value),
            _ => TensorData.Scalar(value),
        };
        return ConstantNode(v, hint);
    }

    /// <summary>An integer tensor's values.</summary>
    public static long[] Ints(TensorData t) => t.ElementType switch
    {
        ElementType.Int64 => t.ToArray<long>(),
        ElementType.Int32 => t.ToArray<int>().Select(v => (long)v).ToArray(),
        _ => Enumerable.Range(0, (int)t.ElementCount).Select(i => (long)t.GetDouble(i)).ToArray(),
    };

    public static string NameOf(NodeProto n) => n.Name.Length > 0 ? n.Name : (n.Output.FirstOrDefault() ?? n.OpType);

    /// <summary>Unsqueeze in the form this step's opset spells it (axes attribute before 13, input from 13).</summary>
    public IEnumerable<NodeProto> Unsqueeze(string input, long[] axes, string hint, out string output)
    {
        var list = new List<NodeProto>();
        NodeProto u;
        if (Version >= 13)
        {
            var c = ConstantInts(axes, $"{hint}_axes");
            list.Add(c);
            u = NewNode("Unsqueeze", hint, [input, c.Output[0]]);
        }
        else u = NewNode("Unsqueeze", hint, [input], 1, ("axes", axes));
        list.Add(u);
        output = u.Output[0];
        int? r = Rank(input);
        if (r is not null) _facts.SetRank(output, r.Value + axes.Length, TypeOf(input));
        return list;
    }
}
