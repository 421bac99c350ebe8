using System.Diagnostics;
using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using PolyNet.Tests;
using Xunit;
using static PolyNet.Cli.Tests.CliHarness;

namespace PolyNet.Cli.Tests.Commands;

/// <summary>Inspecting a damaged model describes it; it never ends as an internal error (afl++ found this one).</summary>
public class InspectDamagedModelTests
{
    [Fact]
    public void An_attribute_typed_tensor_without_a_tensor_is_shown_as_missing()
    {
        using var dir = new TempDir();
        var proto = OnnxModel.Load(TestPaths.Model("mlp.onnx")).Proto.Clone();
        var node = proto.Graph.Node.First(n => n.Attribute.Count > 0);
        node.Attribute[0].Type = PolyNet.Onnx.Proto.AttributeProto.Types.AttributeType.Tensor;
        File.WriteAllBytes(dir.File("m.onnx"), Google.Protobuf.MessageExtensions.ToByteArray(proto));
        var r = Run("inspect", "model", dir.File("m.onnx"), "--layers", "--attributes", "--no-ort-check");
        Assert.True(r.Code is 0 or 2, $"exit {r.Code}: {r.Err}");
        Assert.Contains("tensor (missing)", r.Out);
    }
}
