using PolyNet.Onnx;
using PolyNet.Onnx.Transforms.Opsets;
using PolyNet.Runners.Specs;
using Xunit;

namespace PolyNet.Runners.Tests.Ort;

/// <summary>
/// Each change of the opset change log that ONNX Runtime can run on both sides (opset 7 and later): the model
/// before and after the upgrade computes the same outputs on ONNX Runtime, bit for bit.
/// </summary>
public class OpsetUpgradeOnOrtTests
{
    private static Dictionary<string, object> A(params (string K, object V)[] a) => a.ToDictionary(x => x.K, x => x.V);

    /// <summary>One operator on x of <paramref name="shape"/>, at <paramref name="opset"/>; outputs y (and y1).</summary>
    private static OnnxModel One(long opset, long[] shape, string op, Dictionary<string, object>? attrs = null, int outputs = 1, Func<ModelBuilder, string[]>? extraInputs = null)
    {
        var b = new ModelBuilder(opset: opset, irVersion: OpsetChangeLog.MinIrVersion(opset));
        var x = b.Input("x", ElementType.Float, shape.Cast<object>().ToArray());
        var names = Enumerable.Range(0, outputs).Select(i => i == 0 ? "y" : $"y{i}").ToArray();
        b.NodeMulti(op, [x, .. extraInputs?.Invoke(b) ?? []], outputs, attrs, name: op.ToLowerInvariant(), outputs: names);
        foreach (var n in names) b.OutputUnknownShape(n, op == "TopK" && n == "y1" ? ElementType.Int64 : ElementType.Float);
        return b.BuildModel();
    }

    public static TheoryData<string, long> Cases => new()
    {
        { "Softmax axis 1 of 3", 13 }, { "Hardmax default axis of 3", 13 }, { "LogSoftmax default axis of 2", 13 },
        { "Clip min and max", 11 }, { "Pad with a value", 11 }, { "Slice with axes", 10 }, { "TopK", 10 },
        { "Upsample nearest", 13 }, { "Upsample linear", 11 }, { "Resize-10 shrink nearest", 11 }, { "Split with sizes", 13 }, { "Split even", 18 },
        { "Unsqueeze then Squeeze", 13 }, { "ReduceSum", 13 }, { "ReduceMean", 18 }, { "BatchNormalization spatial", 9 }, { "Dropout ratio", 12 },
    };

    private static OnnxModel Case(string name) => name switch
    {
        "Softmax axis 1 of 3" => One(12, [2, 3, 4], "Softmax", A(("axis", 1L))),
        "Hardmax default axis of 3" => One(11, [2, 3, 4], "Hardmax"),
        "LogSoftmax default axis of 2" => One(12, [3, 5], "LogSoftmax"),
        "Clip min and max" => One(10, [2, 8], "Clip", A(("min", -0.25f), ("max", 0.5f))),
        "Pad with a value" => One(10, [2, 3], "Pad", A(("pads", new long[] { 1, 0, 0, 2 }), ("value", 1.5f))),
        "Slice with axes" => One(9, [4, 6], "Slice", A(("starts", new long[] { 1 }), ("ends", new long[] { 5 }), ("axes", new long[] { 1 }))),
        "TopK" => One(9, [3, 7], "TopK", A(("k", 3L)), outputs: 2),
        "Upsample nearest" => One(8, [1, 2, 3, 3], "Upsample", A(("scales", new[] { 1f, 1f, 2f, 3f }), ("mode", "nearest"))),
        "Upsample linear" => One(8, [1, 1, 3, 3], "Upsample", A(("scales", new[] { 1f, 1f, 2f, 2f }), ("mode", "linear"))),
        "Resize-10 shrink nearest" => One(10, [1, 1, 6, 6], "Resize", A(("mode", "nearest")), extraInputs: b => [b.Initializer("scales", TensorData.Create<float>([4], 1f, 1f, 0.5f, 0.5f))]),
        "Split with sizes" => One(12, [2, 6], "Split", A(("axis", 1L), ("split", new long[] { 2, 4 })), outputs: 2),
        "Split even" => One(13, [2, 6], "Split", A(("axis", 1L)), outputs: 2),
        "Unsqueeze then Squeeze" => Chain(12),
        "ReduceSum" => One(12, [2, 3, 4], "ReduceSum", A(("axes", new long[] { 0, 2 }), ("keepdims", 0L))),
        "ReduceMean" => One(17, [2, 3, 4], "ReduceMean", A(("axes", new long[] { 1 }))),
        "BatchNormalization spatial" => One(8, [2, 3, 2, 2], "BatchNormalization", A(("spatial", 1L), ("epsilon", 1e-3f)),
            extraInputs: b => [b.Initializer("s", TensorData.Create<float>([3], 1f, 2f, 3f)), b.Initializer("bias", TensorData.Create<float>([3], 0f, 1f, -1f)),
                               b.Initializer("m", TensorData.Create<float>([3], 0.5f, 0f, 1f)), b.Initializer("v", TensorData.Create<float>([3], 1f, 4f, 0.25f))]),
        "Dropout ratio" => One(11, [4, 4], "Dropout", A(("ratio", 0.3f))),
        _ => throw new ArgumentException(name),
    };

    private static OnnxModel Chain(long opset)
    {
        var b = new ModelBuilder(opset: opset, irVersion: OpsetChangeLog.MinIrVersion(opset));
        var x = b.Input("x", ElementType.Float, 3, 4);
        var u = b.Node("Unsqueeze", [x], A(("axes", new long[] { 0, 3 })));
        b.Node("Squeeze", [u], A(("axes", new long[] { 0 })), output: "y");
        b.OutputUnknownShape("y", ElementType.Float);
        return b.BuildModel();
    }

    private static ValueMap Run(OnnxModel model)
    {
        using var r = RunnerRegistry.Create(RunnerSpec.Parse("onnxrt"), new RunnerContext { Model = model });
        r.Activate();
        var spec = model.Inputs.Single();
        var shape = new TensorShape(spec.Shape!.Dims.Select(d => d.Value!.Value));
        var values = Enumerable.Range(0, (int)shape.ElementCount).Select(i => MathF.Sin(i * 1.7f) * 2f).ToArray();
        return r.Infer(new ValueMap { { "x", TensorData.Create<float>(shape, values) } });
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_upgraded_model_computes_what_the_original_does(string name, long target)
    {
        var original = Case(name);
        var upgraded = OpsetUpgrade.Apply(original, target);
        Assert.False(upgraded.OnlyVersionChanged, $"{name}: the upgrade to {target} changed no node, so this case tests nothing");
        var before = Run(original);
        var after = Run(upgraded.Model);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var k in before.Keys)
        {
            var (b, a) = (before.Tensor(k), after.Tensor(k));
            Assert.Equal(b.Shape, a.Shape);
            Assert.True(b.ContentEquals(a), $"{name}: output {k} differs after the upgrade to opset {target}");
        }
    }
}
