using System.Globalization;
using Google.Protobuf;
using PolyNet.Onnx.Data;
using PolyNet.Onnx.Proto;

namespace PolyNet.Onnx;

/// <summary>
/// Builds small ONNX models in code (tests, fixtures, benchmarks):
/// <code>
/// var b = new ModelBuilder(opset: 17);
/// var x = b.Input("x", ElementType.Float, 1, 4);
/// var y = b.Node("Relu", [x]);
/// b.Output(y, ElementType.Float, 1, 4);
/// ModelProto model = b.Build();
/// </code>
/// Dimensions are numbers (fixed) or strings (symbolic). Attribute values: long/int, float/double, string,
/// long[]/int[], float[], string[], TensorData, GraphProto.
/// </summary>
public sealed class ModelBuilder
{
    private readonly GraphProto _graph;
    private readonly ModelProto _model;
    private int _counter;

    public ModelBuilder(string graphName = "polynet_graph", long opset = 17, long irVersion = 8)
    {
        _graph = new GraphProto { Name = graphName };
        _model = new ModelProto { IrVersion = irVersion, ProducerName = "polynet", ProducerVersion = "0.1", Graph = _graph };
        _model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
    }

    public GraphProto Graph => _graph;

    /// <summary>Imports another operator set (for example "com.microsoft").</summary>
    public ModelBuilder Opset(string domain, long version)
    {
        _model.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = version });
        return this;
    }

    public string Input(string name, ElementType type, params object[] dims)
    {
        _graph.Input.Add(MakeValueInfo(name, type, dims));
        return name;
    }

    public void Output(string name, ElementType type, params object[] dims) => _graph.Output.Add(MakeValueInfo(name, type, dims));

    /// <summary>A graph output of unknown rank (the runtime infers its shape).</summary>
    public void OutputUnknownShape(string name, ElementType type)
        => _graph.Output.Add(new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type } } });

    public void ValueInfo(string name, ElementType type, params object[] dims) => _graph.ValueInfo.Add(MakeValueInfo(name, type, dims));

    public string Initializer(string name, TensorData data)
    {
        _graph.Initializer.Add(TensorProtos.FromTensorData(name, data));
        return name;
    }

    public string Initializer(float[] values, params long[] dims)
        => Initializer(Fresh("w"), TensorData.Create<float>(dims, values));

    public string Initializer(long[] values, params long[] dims)
        => Initializer(Fresh("c"), TensorData.Create<long>(dims, values));

    /// <summary>Adds a node with one output and returns that output's name.</summary>
    public string Node(string opType, IReadOnlyList<string> inputs, IReadOnlyDictionary<string, object>? attributes = null,
                       string? name = null, string? output = null, string domain = "")
        => NodeMulti(opType, inputs, 1, attributes, name, output is null ? null : [output], domain)[0];

    /// <summary>Adds a node with <paramref name="outputCount"/> outputs and returns their names.</summary>
    public string[] NodeMulti(string opType, IReadOnlyList<string> inputs, int outputCount, IReadOnlyDictionary<string, object>? attributes = null,
                              string? name = null, IReadOnlyList<string>? outputs = null, string domain = "")
    {
        var nodeName = name ?? Fresh(opType);
        var outs = outputs?.ToArray() ?? Enumerable.Range(0, outputCount).Select(i => outputCount == 1 ? nodeName + "_out" : $"{nodeName}_out{i}").ToArray();
        var node = new NodeProto { OpType = opType, Name = nodeName, Domain = domain };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outs);
        if (attributes is not null)
            foreach (var (k, v) in attributes) node.Attribute.Add(MakeAttribute(k, v));
        _graph.Node.Add(node);
        return outs;
    }

    public ModelProto Build() => _model.Clone();

    public OnnxModel BuildModel() => OnnxModel.FromProto(Build());

    private string Fresh(string prefix) => $"{prefix.ToLowerInvariant()}_{_counter++}";

    public static ValueInfoProto MakeValueInfo(string name, ElementType type, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            shape.Dim.Add(d switch
            {
                string s => new TensorShapeProto.Types.Dimension { DimParam = s },
                null => new TensorShapeProto.Types.Dimension(),
                _ => new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d, CultureInfo.InvariantCulture) },
            });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    public static AttributeProto MakeAttribute(string name, object value)
    {
        var a = new AttributeProto { Name = name };
        switch (value)
        {
            case int i: a.Type = AttributeProto.Types.AttributeType.Int; a.I = i; break;
            case long l: a.Type = AttributeProto.Types.AttributeType.Int; a.I = l; break;
            case float f: a.Type = AttributeProto.Types.AttributeType.Float; a.F = f; break;
            case double d: a.Type = AttributeProto.Types.AttributeType.Float; a.F = (float)d; break;
            case string s: a.Type = AttributeProto.Types.AttributeType.String; a.S = ByteString.CopyFromUtf8(s); break;
            case int[] ii: a.Type = AttributeProto.Types.AttributeType.Ints; a.Ints.AddRange(ii.Select(x => (long)x)); break;
            case long[] ll: a.Type = AttributeProto.Types.AttributeType.Ints; a.Ints.AddRange(ll); break;
            case float[] ff: a.Type = AttributeProto.Types.AttributeType.Floats; a.Floats.AddRange(ff); break;
            case string[] ss: a.Type = AttributeProto.Types.AttributeType.Strings; a.Strings.AddRange(ss.Select(ByteString.CopyFromUtf8)); break;
            case TensorData t: a.Type = AttributeProto.Types.AttributeType.Tensor; a.T = TensorProtos.FromTensorData("", t); break;
            case GraphProto g: a.Type = AttributeProto.Types.AttributeType.Graph; a.G = g; break;
            default: throw new ArgumentException($"attribute '{name}': unsupported value type {value.GetType().Name}");
        }
        return a;
    }
}
