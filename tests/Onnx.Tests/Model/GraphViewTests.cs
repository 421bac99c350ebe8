using PolyNet.Onnx;
using PolyNet.Onnx.Proto;
using Xunit;

namespace PolyNet.Onnx.Tests.Model;

public class GraphViewTests
{
    [Fact]
    public void Producers_consumers_and_order_of_an_unsorted_graph()
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(ModelBuilder.MakeValueInfo("x", ElementType.Float, [1L]));
        // Written out of order on purpose: c needs b needs a.
        g.Node.Add(new NodeProto { Name = "c", OpType = "Add", Input = { "b_out", "a_out" }, Output = { "c_out" } });
        g.Node.Add(new NodeProto { Name = "b", OpType = "Relu", Input = { "a_out" }, Output = { "b_out" } });
        g.Node.Add(new NodeProto { Name = "a", OpType = "Neg", Input = { "x" }, Output = { "a_out" } });
        var v = new GraphView(g);
        Assert.Equal(2, v.Producer("a_out"));
        Assert.Null(v.Producer("x"));
        Assert.Equal(new[] { 0, 1 }, v.Consumers("a_out"));
        Assert.Equal(new[] { 2, 1, 0 }, v.TopologicalOrder());
    }

    [Fact]
    public void A_cycle_and_a_dangling_input_are_reported_by_node()
    {
        var g = new GraphProto { Name = "g" };
        g.Node.Add(new NodeProto { Name = "p", OpType = "Relu", Input = { "q_out" }, Output = { "p_out" } });
        g.Node.Add(new NodeProto { Name = "q", OpType = "Relu", Input = { "p_out" }, Output = { "q_out" } });
        Assert.Contains("cycle", Assert.Throws<InvalidInputException>(() => new GraphView(g).TopologicalOrder()).Message);

        var h = new GraphProto { Name = "h" };
        h.Node.Add(new NodeProto { Name = "r", OpType = "Relu", Input = { "ghost" }, Output = { "r_out" } });
        var e = Assert.Throws<InvalidInputException>(() => new GraphView(h).TopologicalOrder());
        Assert.Contains("'r' (Relu) reads 'ghost'", e.Message);
    }

    [Fact]
    public void Subgraph_reads_of_outer_tensors_count_as_inputs_of_the_If_node()
    {
        var then = new GraphProto { Name = "then" };
        then.Node.Add(new NodeProto { OpType = "Identity", Input = { "outer" }, Output = { "t_out" } });
        then.Output.Add(new ValueInfoProto { Name = "t_out" });
        var @else = new GraphProto { Name = "else" };
        @else.Node.Add(new NodeProto { OpType = "Identity", Input = { "cond" }, Output = { "e_out" } });
        @else.Output.Add(new ValueInfoProto { Name = "e_out" });
        var g = new GraphProto { Name = "g" };
        g.Input.Add(ModelBuilder.MakeValueInfo("cond", ElementType.Bool, []));
        g.Input.Add(ModelBuilder.MakeValueInfo("x", ElementType.Float, [1L]));
        var ifNode = new NodeProto { Name = "if", OpType = "If", Input = { "cond" }, Output = { "y" } };
        ifNode.Attribute.Add(ModelBuilder.MakeAttribute("then_branch", then));
        ifNode.Attribute.Add(ModelBuilder.MakeAttribute("else_branch", @else));
        g.Node.Add(ifNode);
        g.Node.Add(new NodeProto { Name = "make_outer", OpType = "Neg", Input = { "x" }, Output = { "outer" } });
        var v = new GraphView(g);
        Assert.Equal(new[] { "outer", "cond" }, v.ImplicitInputs(0));
        Assert.Contains(0, v.Consumers("outer"));
        Assert.Equal(new[] { 1, 0 }, v.TopologicalOrder());
    }

    [Fact]
    public void Empty_optional_input_names_are_not_tensors()
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(ModelBuilder.MakeValueInfo("x", ElementType.Float, [1L]));
        g.Node.Add(new NodeProto { Name = "clip", OpType = "Clip", Input = { "x", "", "max" }, Output = { "y" } });
        g.Initializer.Add(new TensorProto { Name = "max", DataType = 1, FloatData = { 1f } });
        var v = new GraphView(g);
        Assert.Empty(v.Consumers(""));
        Assert.Equal(new[] { "x", "max" }, v.AllInputs(0));
        Assert.Equal(new[] { 0 }, v.TopologicalOrder());
    }
}
