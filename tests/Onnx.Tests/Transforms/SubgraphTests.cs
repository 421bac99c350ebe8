using PolyNet.Onnx;
using PolyNet.Onnx.Transforms;
using Xunit;

namespace PolyNet.Onnx.Tests.Transforms;

public class SubgraphTests
{
    /// <summary>x → a → b → c → y, a chain of Relu nodes.</summary>
    private static OnnxModel Chain()
    {
        var b = new ModelBuilder("chain", opset: 17);
        b.Input("x", ElementType.Float, 4);
        b.Node("Relu", ["x"], name: "na", output: "a");
        b.Node("Relu", ["a"], name: "nb", output: "b");
        b.Node("Relu", ["b"], name: "nc", output: "c");
        b.Node("Relu", ["c"], name: "ny", output: "y");
        b.Output("y", ElementType.Float, 4);
        return b.BuildModel();
    }

    [Fact]
    public void Between_keeps_what_lies_between_and_refuses_or_drops_inputs_cut_off_by_others()
    {
        var model = Chain();
        var x = Subgraph.Between(model, ["a"], ["y"]);
        Assert.Equal(["nb", "nc", "ny"], x.Model.Graph.Node.Select(n => n.Name));
        Assert.Equal(["a"], x.Inputs);
        // 'a' is cut off by 'c': nothing between a and c is needed.
        var e = Assert.Throws<InvalidInputException>(() => Subgraph.Between(model, ["a", "c"], ["y"]));
        Assert.Contains("input 'a' is not needed to compute 'y'", e.Message);
        var dropped = Subgraph.Between(model, ["a", "c"], ["y"], dropUnneededInputs: true);
        Assert.Equal(["c"], dropped.Inputs);
        Assert.Equal(["ny"], dropped.Model.Graph.Node.Select(n => n.Name));
    }

    [Fact]
    public void Of_nodes_takes_the_boundary_tensors_as_inputs_and_outputs()
    {
        var model = Chain();
        var x = Subgraph.OfNodes(model, [1, 2]);
        Assert.Equal(["a"], x.Inputs);
        Assert.Equal(["c"], x.Outputs);
        Assert.Null(x.Model.Path);                                  // derived: no file holds it
        Assert.Equal(model.DisplayName, x.Model.DisplayName);       // but messages still name the original
    }
}
