using PolyNet.Onnx;
using PolyNet.Onnx.Proto;
using PolyNet.Runners.Inputs;

namespace PolyNet.FixtureMaker;

/// <summary>
/// The project's fixture models, built in code with seeded random weights. Every model here is small, real ONNX
/// that ONNX Runtime runs; each exists to exercise something specific (named in its doc string).
/// </summary>
public static class Fixtures
{
    private static TensorData Weights(string name, long seed, double lo, double hi, params long[] shape)
        => new InputGenerator(seed, ValueRanges.Parse([$"[{lo},{hi}]"])).Generate(name, ElementType.Float, new TensorShape(shape), 0);

    /// <summary>mlp.onnx: x[1,16] → Gemm(16→32) → Relu → Gemm(32→10) → Softmax. The README's first comparison.</summary>
    public static ModelProto Mlp()
    {
        var b = new ModelBuilder("mlp", opset: 17);
        var x = b.Input("x", ElementType.Float, 1, 16);
        var w1 = b.Initializer("fc1.weight", Weights("fc1.weight", 11, -0.5, 0.5, 32, 16));
        var b1 = b.Initializer("fc1.bias", Weights("fc1.bias", 12, -0.1, 0.1, 32));
        var h = b.Node("Gemm", [x, w1, b1], new Dictionary<string, object> { ["transB"] = 1L }, name: "fc1");
        var r = b.Node("Relu", [h], name: "relu1");
        var w2 = b.Initializer("fc2.weight", Weights("fc2.weight", 13, -0.5, 0.5, 10, 32));
        var b2 = b.Initializer("fc2.bias", Weights("fc2.bias", 14, -0.1, 0.1, 10));
        var logits = b.Node("Gemm", [r, w2, b2], new Dictionary<string, object> { ["transB"] = 1L }, name: "fc2", output: "logits");
        b.Node("Softmax", [logits], new Dictionary<string, object> { ["axis"] = -1L }, name: "softmax", output: "probs");
        b.Output("logits", ElementType.Float, 1, 10);
        b.Output("probs", ElementType.Float, 1, 10);
        return b.Build();
    }

    /// <summary>
    /// convnet.onnx: x[1,3,32,32] → Conv → BatchNormalization → Relu → MaxPool → Conv → BatchNormalization → Relu →
    /// GlobalAveragePool → Flatten → Gemm → logits[1,10]. ORT folds BatchNormalization into Conv at opt levels above
    /// "disable", which changes float rounding: the README's informative mismatch at zero tolerance.
    /// </summary>
    public static ModelProto ConvNet()
    {
        var b = new ModelBuilder("convnet", opset: 17);
        var x = b.Input("x", ElementType.Float, 1, 3, 32, 32);
        string Block(string input, string name, long cin, long cout, long seed)
        {
            var w = b.Initializer($"{name}.weight", Weights($"{name}.weight", seed, -0.3, 0.3, cout, cin, 3, 3));
            var bias = b.Initializer($"{name}.bias", Weights($"{name}.bias", seed + 1, -0.1, 0.1, cout));
            var conv = b.Node("Conv", [input, w, bias], new Dictionary<string, object> { ["pads"] = new long[] { 1, 1, 1, 1 }, ["kernel_shape"] = new long[] { 3, 3 } }, name: name);
            var scale = b.Initializer($"{name}_bn.scale", Weights($"{name}_bn.scale", seed + 2, 0.5, 1.5, cout));
            var shift = b.Initializer($"{name}_bn.bias", Weights($"{name}_bn.bias", seed + 3, -0.2, 0.2, cout));
            var mean = b.Initializer($"{name}_bn.mean", Weights($"{name}_bn.mean", seed + 4, -0.2, 0.2, cout));
            var var_ = b.Initializer($"{name}_bn.var", Weights($"{name}_bn.var", seed + 5, 0.5, 2.0, cout));
            var bn = b.Node("BatchNormalization", [conv, scale, shift, mean, var_], name: $"{name}_bn");
            return b.Node("Relu", [bn], name: $"{name}_relu");
        }
        var c1 = Block(x, "conv1", 3, 8, 21);
        var p1 = b.Node("MaxPool", [c1], new Dictionary<string, object> { ["kernel_shape"] = new long[] { 2, 2 }, ["strides"] = new long[] { 2, 2 } }, name: "pool1");
        var c2 = Block(p1, "conv2", 8, 16, 31);
        var gap = b.Node("GlobalAveragePool", [c2], name: "gap");
        var flat = b.Node("Flatten", [gap], new Dictionary<string, object> { ["axis"] = 1L }, name: "flatten");
        var w = b.Initializer("fc.weight", Weights("fc.weight", 41, -0.5, 0.5, 10, 16));
        var bias = b.Initializer("fc.bias", Weights("fc.bias", 42, -0.1, 0.1, 10));
        b.Node("Gemm", [flat, w, bias], new Dictionary<string, object> { ["transB"] = 1L }, name: "fc", output: "logits");
        b.Output("logits", ElementType.Float, 1, 10);
        return b.Build();
    }

    /// <summary>dynamic_batch.onnx: x[batch,8] → MatMul → Add → Tanh; the batch dimension is symbolic (--input-shapes).</summary>
    public static ModelProto DynamicBatch()
    {
        var b = new ModelBuilder("dynamic_batch", opset: 17);
        var x = b.Input("x", ElementType.Float, "batch", 8);
        var w = b.Initializer("w", Weights("w", 51, -1, 1, 8, 4));
        var bias = b.Initializer("b", Weights("b", 52, -0.1, 0.1, 4));
        var mm = b.Node("MatMul", [x, w], name: "matmul");
        var add = b.Node("Add", [mm, bias], name: "add");
        b.Node("Tanh", [add], name: "tanh", output: "y");
        b.Output("y", ElementType.Float, "batch", 4);
        return b.Build();
    }

    /// <summary>
    /// mixed_types.onnx: inputs of three element types and outputs of two: x float32[2,3], indices int64[2],
    /// mask bool[2,3] → y = Where(mask, x, 0) float32[2,3]; picked = Gather(x, indices) float32[2,3];
    /// count = ReduceSum(Cast(mask, int64)) int64[1].
    /// </summary>
    public static ModelProto MixedTypes()
    {
        var b = new ModelBuilder("mixed_types", opset: 17);
        var x = b.Input("x", ElementType.Float, 2, 3);
        var idx = b.Input("indices", ElementType.Int64, 2);
        var mask = b.Input("mask", ElementType.Bool, 2, 3);
        var zero = b.Initializer("zero", TensorData.Scalar(0f));
        b.Node("Where", [mask, x, zero], name: "where", output: "y");
        b.Node("Gather", [x, idx], new Dictionary<string, object> { ["axis"] = 0L }, name: "gather", output: "picked");
        var cast = b.Node("Cast", [mask], new Dictionary<string, object> { ["to"] = (long)ElementType.Int64 }, name: "cast");
        b.Node("ReduceSum", [cast], new Dictionary<string, object> { ["keepdims"] = 0L }, name: "count", output: "count");
        b.Output("y", ElementType.Float, 2, 3);
        b.Output("picked", ElementType.Float, 2, 3);
        b.Output("count", ElementType.Int64);
        return b.Build();
    }

    /// <summary>
    /// exp_divergence.onnx: a small graph where float16 goes wrong at exactly one node. x[1,64] → MatMul → Relu →
    /// Add 8 → Exp → Mul 1e-3, plus a side branch MatMul → Tanh, added and activated (Relu) into y[1,32], which a
    /// MatMul with positive weights projects to summary[1,4] (errors average out there). The Exp reads values in about [8, 10]: float16 rounds them by up to 2^-8, and Exp turns that into a
    /// relative error of up to 0.4% (beyond float16's usual 1e-3 tolerance) while every other node, fed exact values,
    /// stays within it. FP16 emulation therefore fails at y, and the Exp is the one node that introduces the error.
    /// </summary>
    public static ModelProto ExpDivergence()
    {
        var b = new ModelBuilder("exp_divergence", opset: 17);
        var x = b.Input("x", ElementType.Float, 1, 64);
        var w = b.Initializer("proj.weight", Weights("proj.weight", 61, -0.03, 0.09, 64, 32));
        var h = b.Node("MatMul", [x, w], name: "proj");
        var r = b.Node("Relu", [h], name: "relu");
        var shifted = b.Node("Add", [r, b.Initializer("shift", TensorData.Scalar(8f))], name: "shift");
        var e = b.Node("Exp", [shifted], name: "exp");
        var scaled = b.Node("Mul", [e, b.Initializer("scale", TensorData.Scalar(1e-3f))], name: "scale");
        var ws = b.Initializer("side.weight", Weights("side.weight", 63, -0.2, 0.2, 64, 32));
        var side = b.Node("Tanh", [b.Node("MatMul", [x, ws], name: "side_proj")], name: "side_tanh");
        var mixed = b.Node("Add", [scaled, side], name: "mix");
        b.Node("Relu", [mixed], name: "act", output: "y");
        var w2 = b.Initializer("head.weight", Weights("head.weight", 62, 0, 0.1, 32, 4));
        b.Node("MatMul", ["y", w2], name: "head", output: "summary");
        b.Output("y", ElementType.Float, 1, 32);
        b.Output("summary", ElementType.Float, 1, 4);
        return b.Build();
    }

    /// <summary>
    /// ResNet-50 (He et al. 2015) as exported for inference: BatchNormalization folded into the convolutions
    /// (Conv with bias), input "input" [1,3,224,224], output "logits" [1,1000], random He-initialized weights.
    /// About 25.5 million parameters (102 MB): built for benchmarks, never committed.
    /// </summary>
    public static ModelProto ResNet50(long seed = 1)
    {
        var b = new ModelBuilder("resnet50", opset: 17);
        long s = seed * 1000;
        string Conv(string x, string name, long cin, long cout, long k, long stride, long pad, bool relu)
        {
            double bound = Math.Sqrt(6.0 / (cin * k * k));
            var w = b.Initializer($"{name}.weight", Weights($"{name}.weight", s++, -bound, bound, cout, cin, k, k));
            var bias = b.Initializer($"{name}.bias", Weights($"{name}.bias", s++, -0.05, 0.05, cout));
            var y = b.Node("Conv", [x, w, bias], new Dictionary<string, object>
            {
                ["kernel_shape"] = new[] { k, k }, ["strides"] = new[] { stride, stride }, ["pads"] = new[] { pad, pad, pad, pad },
            }, name: name);
            return relu ? b.Node("Relu", [y], name: name + "_relu") : y;
        }
        var input = b.Input("input", ElementType.Float, 1, 3, 224, 224);
        var x = Conv(input, "conv1", 3, 64, 7, 2, 3, relu: true);
        x = b.Node("MaxPool", [x], new Dictionary<string, object> { ["kernel_shape"] = new long[] { 3, 3 }, ["strides"] = new long[] { 2, 2 }, ["pads"] = new long[] { 1, 1, 1, 1 } }, name: "maxpool");
        long cin = 64;
        int[] blocks = [3, 4, 6, 3];
        for (int layer = 0; layer < 4; layer++)
        {
            long width = 64L << layer, cout = width * 4;
            for (int blk = 0; blk < blocks[layer]; blk++)
            {
                long stride = blk == 0 && layer > 0 ? 2 : 1;
                var n = $"layer{layer + 1}.{blk}";
                var h = Conv(x, n + ".conv1", cin, width, 1, 1, 0, relu: true);
                h = Conv(h, n + ".conv2", width, width, 3, stride, 1, relu: true);
                h = Conv(h, n + ".conv3", width, cout, 1, 1, 0, relu: false);
                var shortcut = blk == 0 ? Conv(x, n + ".downsample", cin, cout, 1, stride, 0, relu: false) : x;
                var sum = b.Node("Add", [h, shortcut], name: n + ".add");
                x = b.Node("Relu", [sum], name: n + ".relu");
                cin = cout;
            }
        }
        var gap = b.Node("GlobalAveragePool", [x], name: "avgpool");
        var flat = b.Node("Flatten", [gap], new Dictionary<string, object> { ["axis"] = 1L }, name: "flatten");
        var fw = b.Initializer("fc.weight", Weights("fc.weight", s++, -0.03, 0.03, 1000, 2048));
        var fb = b.Initializer("fc.bias", Weights("fc.bias", s++, -0.01, 0.01, 1000));
        b.Node("Gemm", [flat, fw, fb], new Dictionary<string, object> { ["transB"] = 1L }, name: "fc", output: "logits");
        b.Output("logits", ElementType.Float, 1, 1000);
        return b.Build();
    }
}
