using PolyNet.Onnx.Data;
using PolyNet.Onnx.Proto;

namespace PolyNet.Onnx.Transforms.Opsets;

/// <summary>
/// What the opset upgrade knows about a graph's tensors without running anything: ranks, shapes where fixed,
/// element types and constant values, from initializers, Constant nodes, declared inputs, outputs and value infos,
/// carried forward through the operators whose output rank and type follow simply from their inputs. Unknown is
/// null (or Undefined), never a guess. A subgraph sees its outer graph's facts.
/// </summary>
public sealed class TensorFacts
{
    private readonly TensorFacts? _outer;
    private readonly Dictionary<string, (int? Rank, long[]? Shape, ElementType Type)> _info = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TensorProto> _constants = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TensorData> _values = new(StringComparer.Ordinal);
    private readonly string? _baseDirectory;

    /// <summary>Operators whose output 0 has input 0's rank and type.</summary>
    private static readonly HashSet<string> SameAsFirst = new(StringComparer.Ordinal)
    {
        "Abs", "Acos", "Acosh", "Asin", "Asinh", "Atan", "Atanh", "BatchNormalization", "Ceil", "Celu", "Clip", "Cos", "Cosh", "CumSum",
        "Dropout", "Elu", "Erf", "Exp", "Floor", "Gelu", "HardSigmoid", "HardSwish", "Hardmax", "Identity", "InstanceNormalization",
        "LRN", "LayerNormalization", "LeakyRelu", "Log", "LogSoftmax", "LpNormalization", "MeanVarianceNormalization", "Mish", "Neg",
        "PRelu", "Reciprocal", "Relu", "Round", "Selu", "Shrink", "Sigmoid", "Sign", "Sin", "Sinh", "Softmax", "Softplus", "Softsign",
        "Sqrt", "Tan", "Tanh", "ThresholdedRelu", "Transpose", "Conv", "ConvTranspose", "AveragePool", "MaxPool", "LpPool",
        "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool", "Upsample", "Resize", "Pad", "Slice", "Tile", "Concat", "Split", "ImageScaler",
        "DepthToSpace", "SpaceToDepth", "Expand", "ScatterElements", "Scatter", "ScatterND", "ReverseSequence", "Trilu", "Compress",
    };

    /// <summary>Elementwise operators with numpy broadcasting (output rank: the largest input rank).</summary>
    private static readonly HashSet<string> Broadcasting = new(StringComparer.Ordinal)
    {
        "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Mod", "And", "Or", "Xor", "Equal", "Greater", "Less",
        "GreaterOrEqual", "LessOrEqual", "Where", "BitShift",
    };

    private static readonly HashSet<string> Comparisons = new(StringComparer.Ordinal) { "And", "Or", "Xor", "Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "Not", "IsNaN", "IsInf" };

    public TensorFacts(GraphProto graph, string? baseDirectory, TensorFacts? outer = null)
    {
        _outer = outer;
        _baseDirectory = baseDirectory;
        foreach (var vi in graph.Input.Concat(graph.ValueInfo).Concat(graph.Output)) Declare(vi);
        foreach (var t in graph.Initializer)
        {
            _constants[t.Name] = t;
            _info[t.Name] = (t.Dims.Count, t.Dims.ToArray(), (ElementType)t.DataType);
        }
        foreach (var n in graph.Node) Infer(n);
    }

    private void Declare(ValueInfoProto vi)
    {
        var tt = vi.Type?.TensorType;
        if (tt is null) return;
        int? rank = tt.Shape is null ? null : tt.Shape.Dim.Count;
        long[]? shape = tt.Shape is not null && tt.Shape.Dim.All(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue) ? tt.Shape.Dim.Select(d => d.DimValue).ToArray() : null;
        _info[vi.Name] = (rank, shape, (ElementType)tt.ElemType);
    }

    private void Infer(NodeProto n)
    {
        if (n.Domain is not ("" or "ai.onnx") || n.Output.Count == 0) return;
        var o = n.Output[0];
        if (_info.ContainsKey(o) && n.OpType != "Constant") return;
        if (ModelWalker.IsTensorConstant(n))
        {
            _constants[o] = n.Attribute[0].T;
            _info[o] = (n.Attribute[0].T.Dims.Count, n.Attribute[0].T.Dims.ToArray(), (ElementType)n.Attribute[0].T.DataType);
            return;
        }
        var first = n.Input.Count > 0 ? n.Input[0] : "";
        if (SameAsFirst.Contains(n.OpType)) { if (Rank(first) is { } r) SetRank(o, r, TypeOf(first)); return; }
        if (Broadcasting.Contains(n.OpType))
        {
            var ranks = n.Input.Where(i => i.Length > 0).Select(Rank).ToList();
            if (ranks.Count > 0 && ranks.All(r => r is not null))
                SetRank(o, ranks.Max()!.Value, Comparisons.Contains(n.OpType) ? ElementType.Bool : TypeOf(n.OpType == "Where" && n.Input.Count > 1 ? n.Input[1] : first));
            return;
        }
        if (Comparisons.Contains(n.OpType)) { if (Rank(first) is { } r) SetRank(o, r, ElementType.Bool); return; }
        switch (n.OpType)
        {
            case "Cast" when Rank(first) is { } r:
                var to = UpgradeStep.Attr(n, "to");
                SetRank(o, r, to is { Type: AttributeProto.Types.AttributeType.Int } ? (ElementType)to.I : ElementType.Undefined);
                break;
            case "Gemm": SetRank(o, 2, TypeOf(first)); break;
            case "Flatten": SetRank(o, 2, TypeOf(first)); break;
            case "Shape": SetRank(o, 1, ElementType.Int64); break;
            case "Size": SetRank(o, 0, ElementType.Int64); break;
            case "MatMul" when Rank(first) is { } a && n.Input.Count > 1 && Rank(n.Input[1]) is { } b:
                SetRank(o, a == 1 && b == 1 ? 0 : Math.Max(a, b) - (a == 1 || b == 1 ? 1 : 0), TypeOf(first));
                break;
            case "Unsqueeze" when Rank(first) is { } r && UpgradeStep.Attr(n, "axes") is { } ax: SetRank(o, r + ax.Ints.Count, TypeOf(first)); break;
            case "Squeeze" when Rank(first) is { } r && UpgradeStep.Attr(n, "axes") is { } ax: SetRank(o, r - ax.Ints.Count, TypeOf(first)); break;
            case "Reshape" when UpgradeStep.Attr(n, "shape") is { } s: SetRank(o, s.Ints.Count, TypeOf(first)); break;
            case "Reshape" when n.Input.Count > 1 && Shape(n.Input[1]) is [var len]: SetRank(o, (int)len, TypeOf(first)); break;
        }
    }

    internal void SetRank(string tensor, int rank, ElementType type) => _info[tensor] = (rank, null, type);

    internal void Add(string name, TensorData value)
    {
        _values[name] = value;
        _info[name] = (value.Shape.Rank, value.Shape.ToArray(), value.ElementType);
    }

    public int? Rank(string tensor) => _info.TryGetValue(tensor, out var i) ? i.Rank : _outer?.Rank(tensor);
    public long[]? Shape(string tensor) => _info.TryGetValue(tensor, out var i) ? i.Shape : _outer?.Shape(tensor);
    public ElementType TypeOf(string tensor) => _info.TryGetValue(tensor, out var i) ? i.Type : _outer?.TypeOf(tensor) ?? ElementType.Undefined;

    public TensorData? Constant(string tensor)
    {
        if (_values.TryGetValue(tensor, out var v)) return v;
        if (_constants.TryGetValue(tensor, out var t))
            return _values[tensor] = TensorProtos.ToTensorData(t, tensor, _baseDirectory);
        return _info.ContainsKey(tensor) ? null : _outer?.Constant(tensor);
    }
}
