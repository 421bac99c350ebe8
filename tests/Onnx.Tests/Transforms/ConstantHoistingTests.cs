using PolyNet.Onnx;
using PolyNet.Onnx.Transforms;
using PolyNet.Tests;
using Xunit;

namespace PolyNet.Onnx.Tests.Transforms;

public class ConstantHoistingTests
{
    [Fact]
    public void Constant_node_weights_become_initializers_of_the_graph_that_holds_them_bodies_included()
    {
        var model = Graphs.WithIf();
        var (hoisted, count) = ConstantHoisting.Apply(model);
        Assert.Equal(2, count);
        var then = hoisted.Graph.Node.Single(n => n.OpType == "If").Attribute.Single(a => a.Name == "then_branch").G;
        Assert.DoesNotContain(then.Node, n => n.OpType == "Constant");
        Assert.Equal(["then_w_out", "then_huge_out"], then.Initializer.Select(t => t.Name));
        Assert.Equal(1e6f, hoisted.ReadTensor(then.Initializer[1]).Span<float>()[0]);
        Assert.Equal(0, ConstantHoisting.Apply(hoisted).Hoisted); // nothing left to hoist
    }
}
