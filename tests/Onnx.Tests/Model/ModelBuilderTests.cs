using PolyNet.Onnx;
using PolyNet.Onnx.Proto;
using Xunit;

namespace PolyNet.Onnx.Tests.Model;

public class ModelBuilderTests
{
    [Fact]
    public void Builds_a_graph_with_typed_attributes_and_symbolic_dims()
    {
        var b = new ModelBuilder("t", opset: 13);
        var x = b.Input("x", ElementType.Float, "n", 3);
        var y = b.Node("Transpose", [x], new Dictionary<string, object> { ["perm"] = new long[] { 1, 0 } });
        b.Output(y, ElementType.Float, 3, "n");
        var m = b.Build();
        Assert.Equal(13, m.OpsetImport[0].Version);
        var attr = m.Graph.Node[0].Attribute[0];
        Assert.Equal(AttributeProto.Types.AttributeType.Ints, attr.Type);
        Assert.Equal(new long[] { 1, 0 }, attr.Ints);
        Assert.Equal("n", m.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Throws<ArgumentException>(() => ModelBuilder.MakeAttribute("bad", new object()));
    }
}
