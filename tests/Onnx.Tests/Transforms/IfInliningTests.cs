using PolyNet.Onnx;
using PolyNet.Onnx.Transforms;
using PolyNet.Tests;
using Xunit;

namespace PolyNet.Onnx.Tests.Transforms;

public class IfInliningTests
{
    [Theory]
    [InlineData(true, "then", new[] { "then_w", "then_huge", "then_scale", "then_shift", "then_exp", "then_small", "then_huge_scaled", "then_nothing", "then_out", "choose/output_0", "double" })]
    [InlineData(false, "else", new[] { "else_neg", "choose/output_0", "double" })]
    public void The_branch_taken_replaces_the_If_with_its_tensor_names_and_the_If_output_kept(bool big, string branch, string[] nodes)
    {
        var model = Graphs.WithIf();
        Assert.Equal(["big"], IfInlining.Conditions(model));
        var (flat, inlined) = IfInlining.Inline(model, new Dictionary<string, bool> { ["big"] = big });
        Assert.Equal(new InlinedIf("choose", branch, branch == "then" ? 9 : 1), Assert.Single(inlined));
        Assert.Equal(nodes, flat.Graph.Node.Select(n => n.Name));
        Assert.DoesNotContain(flat.Graph.Node, n => n.OpType == "If");
        // The If's output is still computed, from the branch's output.
        var id = flat.Graph.Node.Single(n => n.Name == "choose/output_0");
        Assert.Equal((branch == "then" ? "then_out_out" : "else_neg_out", "chosen"), (id.Input[0], id.Output[0]));
        Assert.Equal(flat.Graph.Node.Count, new GraphView(flat.Graph).TopologicalOrder().Count); // every tensor read is produced
    }

    [Fact]
    public void Branch_names_taken_in_the_main_graph_are_prefixed_with_the_If_and_unknown_conditions_are_left_alone()
    {
        var model = Graphs.WithIf();
        var proto = model.Proto.Clone();
        // The main graph also has a tensor named like the else branch's.
        proto.Graph.Node.Add(new Proto.NodeProto { OpType = "Identity", Name = "clash", Input = { "x" }, Output = { "else_neg_out" } });
        var (flat, _) = IfInlining.Inline(model.WithProto(proto), new Dictionary<string, bool> { ["big"] = false });
        Assert.Contains(flat.Graph.Node, n => n.OpType == "Neg" && n.Output[0] == "choose/else_neg_out");
        Assert.Equal("choose/else_neg_out", flat.Graph.Node.Single(n => n.Name == "choose/output_0").Input[0]);
        var (same, none) = IfInlining.Inline(model, new Dictionary<string, bool>());
        Assert.Empty(none);
        Assert.Contains(same.Graph.Node, n => n.OpType == "If");
    }
}
