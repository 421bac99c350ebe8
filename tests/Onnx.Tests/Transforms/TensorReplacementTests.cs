using PolyNet.Onnx;
using PolyNet.Onnx.Transforms;
using PolyNet.Tests;
using Xunit;

namespace PolyNet.Onnx.Tests.Transforms;

public class TensorReplacementTests
{
    [Fact]
    public void A_replaced_tensor_is_a_graph_input_with_its_exact_shape_and_its_readers_read_it()
    {
        var model = Graphs.Chain(6);
        var value = TensorData.Create<float>([1, 64], new float[64]);
        var r = TensorReplacement.AsInputs(model, new Dictionary<string, TensorData> { ["n2_out"] = value });
        var input = r.Inputs.Single(i => i.Name == "n2_out");
        Assert.Equal([1L, 64L], input.Shape!.Dims.Select(d => d.Value!.Value));
        var producer = r.Graph.Node.Single(n => n.Name == "n2");
        Assert.Equal("n2_out" + TensorReplacement.DeadSuffix, producer.Output[0]);
        Assert.Equal("n2_out", r.Graph.Node.Single(n => n.Name == "n3").Input[0]);
        Assert.DoesNotContain(r.Graph.ValueInfo, v => v.Name == "n2_out");
    }
}
