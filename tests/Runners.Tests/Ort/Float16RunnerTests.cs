using PolyNet.Onnx;
using PolyNet.Onnx.Proto;
using PolyNet.Runners.Inspect;
using PolyNet.Runners.Ort;
using PolyNet.Runners.Specs;
using PolyNet.Tests;
using Xunit;

namespace PolyNet.Runners.Tests.Ort;

public class Float16RunnerTests
{
    /// <summary>x → Add 8 → Exp → Mul 1e-3 → y: Exp amplifies float16's rounding of its input.</summary>
    private static OnnxModel Chain()
    {
        var b = new ModelBuilder("chain", opset: 17);
        var x = b.Input("x", ElementType.Float, 64);
        var a = b.Node("Add", [x, b.Initializer("eight", TensorData.Scalar(8f))], name: "add");
        var e = b.Node("Exp", [a], name: "exp");
        b.Node("Mul", [e, b.Initializer("milli", TensorData.Scalar(1e-3f))], name: "mul", output: "y");
        b.Output("y", ElementType.Float, 64);
        return b.BuildModel();
    }

    private static float R(float v) => (float)(Half)v;

    [Fact]
    public void Fp16_emulation_rounds_every_tensor_to_float16_as_a_float16_engine_does()
    {
        var xs = Enumerable.Range(0, 64).Select(i => 0.6f + i * 0.0173f).ToArray();
        using var r = RunnerRegistry.Create(RunnerSpec.Parse("onnxrt:precision=fp16"), new RunnerContext { Model = Chain(), ExtraOutputs = ["exp_out"] });
        r.Activate();
        Assert.Equal(ComputePrecision.Fp16, r.Precision);
        Assert.Contains(r.Notes, n => n.StartsWith("float16 emulation: ", StringComparison.Ordinal));
        var outs = r.Infer(new ValueMap { { "x", TensorData.Create<float>([64], xs) } });
        Assert.Equal(ElementType.Float, outs.Tensor("y").ElementType);
        Assert.Equal(ElementType.Float, outs.Tensor("exp_out").ElementType);
        var y = outs.Tensor("y").ToArray<float>();
        var exp = outs.Tensor("exp_out").ToArray<float>();
        int off = 0;
        for (int i = 0; i < 64; i++)
        {
            // Each node reads float16 values and its result is rounded to float16.
            float e = R(MathF.Exp(R(R(xs[i]) + 8f)));
            float want = R(e * R(1e-3f));
            Assert.True(Math.Abs(exp[i] - e) <= Ulp(e), $"exp_out[{i}] = {exp[i]}, float16 emulation gives {e}");
            Assert.True(Math.Abs(y[i] - want) <= Ulp(want), $"y[{i}] = {y[i]}, float16 emulation gives {want}");
            // ... which is not what float32 gives: the input's rounding (up to 2^-8 near 8) moves Exp's result.
            if (Math.Abs(exp[i] - MathF.Exp(xs[i] + 8f)) > 1e-3 * MathF.Exp(xs[i] + 8f)) off++;
        }
        Assert.True(off > 16, $"only {off} of 64 Exp results differ from float32 beyond 1e-3");
    }

    private static float Ulp(float v) => (float)(BitConverter.Int16BitsToHalf((short)(BitConverter.HalfToInt16Bits((Half)v) + 1)) - (Half)v);

    [Fact]
    public void Fp32_ops_stay_float32_and_the_probe_reads_back_what_ORT_would_execute()
    {
        using var r = RunnerRegistry.Create(RunnerSpec.Parse("onnxrt:precision=fp16,fp32_ops=Exp+Mul"), new RunnerContext { Model = Chain() });
        r.Activate();
        Assert.Contains(r.Notes, n => n.Contains("in float32: Exp ×1, Mul ×1"));
        var xs = new[] { 0.6f, 0.7f, 1.3f };
        var y = r.Infer(new ValueMap { { "x", TensorData.Create<float>([64], xs.Concat(new float[61]).ToArray()) } }).Tensor("y").ToArray<float>();
        for (int i = 0; i < 3; i++)
        {
            float want = MathF.Exp(R(R(xs[i]) + 8f)) * 1e-3f; // only the Add is rounded
            Assert.Equal(want, y[i], want * 1e-6f);
        }
        var probe = new OrtKernelProbe(Chain());
        var cast = new NodeProto { OpType = "Cast", Input = { "a" }, Output = { "b" }, Attribute = { ModelBuilder.MakeAttribute("to", (long)ElementType.Float) } };
        Assert.Equal([ElementType.Float], probe.OutputTypes(cast, [ElementType.Float16]));
        var bogus = new NodeProto { OpType = "NoSuchOp", Input = { "a" }, Output = { "b" } };
        Assert.Null(probe.OutputTypes(bogus, [ElementType.Float16]));
        // A second probe (a reduction builds one per check) answers from the process-wide cache: no session.
        Assert.True(probe.SessionsBuilt <= 2);
        var again = new OrtKernelProbe(Chain());
        Assert.Equal([ElementType.Float], again.OutputTypes(cast, [ElementType.Float16]));
        Assert.Null(again.OutputTypes(bogus, [ElementType.Float16]));
        Assert.Equal(0, again.SessionsBuilt);
    }

    [Fact]
    public void Fp32_ops_without_fp16_is_an_error_and_precision_is_checked()
    {
        var ctx = new RunnerContext { Model = Chain() };
        Assert.Contains("fp32_ops applies to precision=fp16 and fp16-naive only", Assert.Throws<InvalidInputException>(() => RunnerRegistry.Create(RunnerSpec.Parse("onnxrt:fp32_ops=Exp"), ctx)).Message);
        Assert.Contains("precision=fp8 is not valid (expected fp32|fp16", Assert.Throws<InvalidInputException>(() => RunnerRegistry.Create(RunnerSpec.Parse("onnxrt:precision=fp8"), ctx)).Message);
    }

    [Fact]
    public void Inferred_types_are_cached_per_model_until_the_model_changes()
    {
        var model = OnnxModel.Load(TestPaths.Model("mixed_types.onnx"));
        var first = OrtTypes.Infer(model);
        Assert.Same(first, OrtTypes.Infer(model));
        // Changed in place: a new node, so the answer must be inferred again and cover it.
        model.Graph.Node.Add(new NodeProto
        {
            OpType = "Cast", Name = "to_float", Input = { "count" }, Output = { "count_f" },
            Attribute = { new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = (long)ElementType.Float } },
        });
        var second = OrtTypes.Infer(model);
        Assert.NotSame(first, second);
        Assert.Equal(ElementType.Float, second["count_f"].ElementType);
        Assert.False(first.ContainsKey("count_f"));
    }

    [Fact]
    public void Inferred_types_cover_every_tensor()
    {
        var types = OrtTypes.Infer(OnnxModel.Load(TestPaths.Model("mixed_types.onnx")));
        var model = OnnxModel.Load(TestPaths.Model("mixed_types.onnx"));
        foreach (var t in model.Graph.Node.SelectMany(n => n.Output)) Assert.True(types.ContainsKey(t), t);
        Assert.Equal(ElementType.Int64, types["count"].ElementType);
    }

    private static TensorData[] RunWithIf(string spec, bool big)
    {
        var xs = Enumerable.Range(0, 64).Select(i => 0.6f + i * 0.0061f).ToArray();
        using var r = RunnerRegistry.Create(RunnerSpec.Parse(spec), new RunnerContext { Model = Graphs.WithIf() });
        r.Activate();
        var y = r.Infer(new ValueMap { { "x", TensorData.Create<float>([1, 64], xs) }, { "big", TensorData.Scalar(big) } }).Tensor("y");
        return [y, TensorData.Create<float>([1, 64], xs)];
    }

    [Fact]
    public void Bodies_compute_in_float16_as_the_main_graph_does_and_their_constant_weights_are_weights()
    {
        var fp32 = RunWithIf("onnxrt", big: true)[0].ToArray<float>();
        var fp16 = RunWithIf("onnxrt:precision=fp16", big: true)[0].ToArray<float>();
        var kept = RunWithIf("onnxrt:precision=fp16,fp32_ops=If", big: true)[0].ToArray<float>();
        // Inside the then-branch, x + 8 is rounded to float16 before Exp: results move by far more than float32's rounding.
        int off = Enumerable.Range(0, 64).Count(i => Math.Abs(fp16[i] - fp32[i]) > 1e-3 * Math.Abs(fp32[i]));
        Assert.True(off > 16, $"only {off} of 64 outputs differ beyond 1e-3: the branch was not converted");
        // Kept in float32, the If (and what its branches read) computes exactly as float32 does; only the Mul after it
        // rounds to float16 (·2 is exact in float16, so the output is float32's rounded once).
        Assert.Equal(fp32.Select(R), kept);
        using var r = RunnerRegistry.Create(RunnerSpec.Parse("onnxrt:precision=fp16"), new RunnerContext { Model = Graphs.WithIf() });
        r.Activate();
        Assert.Contains(r.Notes, n => n.Contains("1 weight value(s) beyond ±65504 clamped", StringComparison.Ordinal) && n.Contains("weights include 2 Constant node(s)", StringComparison.Ordinal));
        Assert.Contains(r.Notes, n => n.Contains("If ×1 (control flow: its bodies compute in float16 inside", StringComparison.Ordinal));
    }

    [Fact]
    public void The_types_of_a_body_are_inferred_from_the_outer_tensors_it_reads()
    {
        var model = Graphs.WithIf();
        var all = OrtTypes.InferAll(model);
        Assert.Equal(ElementType.Float, all["then_exp_out"].ElementType);
        Assert.Equal([1L, 64L], all["then_exp_out"].Shape!.Dims.Select(d => d.Value!.Value));
        Assert.Equal(ElementType.Float, all["else_neg_out"].ElementType);
        Assert.False(OrtTypes.Infer(model).ContainsKey("then_exp_out"));
    }
    /// <summary>
    /// x → Conv (with bias) → BatchNormalization whose variance (1e6 to 1e8) is beyond float16's range → Relu → y, and
    /// a second BatchNormalization after an Add (nothing to fold into), as exports of real detectors have them.
    /// </summary>
    private static OnnxModel ConvBatchNorm()
    {
        var b = new ModelBuilder("conv_bn", opset: 17);
        var x = b.Input("x", ElementType.Float, 1, 4, 8, 8);
        var rng = new Random(3);
        float[] R(int n, double lo, double hi) => Enumerable.Range(0, n).Select(_ => (float)(lo + rng.NextDouble() * (hi - lo))).ToArray();
        var w = b.Initializer("w", TensorData.Create<float>([4, 4, 3, 3], R(144, -0.5, 0.5)));
        var bias = b.Initializer("bias", TensorData.Create<float>([4], R(4, -0.1, 0.1)));
        var conv = b.Node("Conv", [x, w, bias], new Dictionary<string, object> { ["pads"] = new long[] { 1, 1, 1, 1 } }, name: "conv");
        // The variance is large, and gamma scaled with it: the output stays near 1.
        var variance = new float[] { 1e6f, 4e6f, 2.5e7f, 1e8f };
        var gamma = variance.Select(v => MathF.Sqrt(v) * 0.8f).ToArray();
        var bn = b.Node("BatchNormalization", [conv, b.Initializer("gamma", TensorData.Create<float>([4], gamma)), b.Initializer("beta", TensorData.Create<float>([4], R(4, -0.2, 0.2))),
            b.Initializer("mean", TensorData.Create<float>([4], R(4, -0.1, 0.1))), b.Initializer("var", TensorData.Create<float>([4], variance))], name: "bn");
        var relu = b.Node("Relu", [bn], name: "relu");
        var shifted = b.Node("Add", [relu, b.Initializer("one", TensorData.Scalar(1f))], name: "shift");
        b.Node("BatchNormalization", [shifted, b.Initializer("gamma2", TensorData.Create<float>([4], gamma)), b.Initializer("beta2", TensorData.Create<float>([4], R(4, -0.2, 0.2))),
            b.Initializer("mean2", TensorData.Create<float>([4], R(4, 0.9, 1.1))), b.Initializer("var2", TensorData.Create<float>([4], variance))], name: "bn2", output: "y");
        b.Output("y", ElementType.Float, 1, 4, 8, 8);
        return b.BuildModel();
    }

    private static (float[] Y, IRunner Runner) RunConvBatchNorm(string spec, IReadOnlyList<string>? expose = null)
    {
        var xs = Enumerable.Range(0, 256).Select(i => MathF.Sin(i * 0.37f)).ToArray();
        var r = RunnerRegistry.Create(RunnerSpec.Parse(spec), new RunnerContext { Model = ConvBatchNorm(), ExtraOutputs = expose ?? [] });
        r.Activate();
        return (r.Infer(new ValueMap { { "x", TensorData.Create<float>([1, 4, 8, 8], xs) } }).Tensor("y").ToArray<float>(), r);
    }

    [Fact]
    public void A_batch_norm_with_variance_beyond_float16_passes_the_engine_emulation_and_fails_the_naive_one()
    {
        var (fp32, r32) = RunConvBatchNorm("onnxrt");
        var (engine, re) = RunConvBatchNorm("onnxrt:precision=fp16");
        var (naive, rn) = RunConvBatchNorm("onnxrt:precision=fp16-naive");
        using (r32) using (re) using (rn)
        {
            int Off(float[] c) => fp32.Zip(c).Count(p => !(Math.Abs(p.First - p.Second) <= 1e-3 + 1e-3 * Math.Abs(p.First)));
            Assert.True(Off(engine) <= fp32.Length / 20, $"{Off(engine)} of {fp32.Length} beyond fp16 tolerances with the BatchNormalization folded");
            Assert.True(Off(naive) > fp32.Length / 2, $"only {Off(naive)} of {fp32.Length} beyond tolerance with the variance clamped to 65504");
            Assert.Contains(re.Notes, n => n.Contains("2 BatchNormalization node(s) folded in float32 as TensorRT does (1 into the Conv before them, 1 made a scale and shift)", StringComparison.Ordinal));
            Assert.Contains(rn.Notes, n => n.Contains("weight value(s) beyond ±65504 clamped", StringComparison.Ordinal));
            Assert.DoesNotContain(re.Notes, n => n.Contains("clamped", StringComparison.Ordinal));
            Assert.Equal(ComputePrecision.Fp16, rn.Precision);
        }
    }

    [Fact]
    public void In_the_engine_emulation_a_marked_conv_output_folded_away_is_said_not_to_exist()
    {
        var (_, r) = RunConvBatchNorm("onnxrt:precision=fp16", expose: ["conv_out", "relu_out"]);
        using (r)
        {
            Assert.Contains(r.Notes, n => n.Contains("1 marked tensor(s) do not exist in this engine", StringComparison.Ordinal) && n.Contains("conv_out", StringComparison.Ordinal));
            var outs = r.Infer(new ValueMap { { "x", TensorData.Create<float>([1, 4, 8, 8], new float[256]) } });
            Assert.False(outs.ContainsKey("conv_out"));
            Assert.True(outs.ContainsKey("relu_out"));
        }
    }
    [Fact]
    public void A_weight_computed_from_constants_is_folded_in_float32_before_it_becomes_float16()
    {
        // y = x · (c · 0.5) with c = 1e5: beyond float16, its half is not. Folded first (as TensorRT's builder does), the
        // weight is 5e4; converted as it stands, c is clamped to 65504 and y is a third too small.
        var b = new ModelBuilder("folded", opset: 17);
        var x = b.Input("x", ElementType.Float, 8);
        var w = b.Node("Mul", [b.Initializer("c", TensorData.Create<float>([8], Enumerable.Repeat(1e5f, 8).ToArray())), b.Initializer("half", TensorData.Scalar(0.5f))], name: "weight");
        b.Node("Mul", [x, w], name: "scale", output: "y");
        b.Output("y", ElementType.Float, 8);
        var model = b.BuildModel();
        var feed = new ValueMap { { "x", TensorData.Create<float>([8], Enumerable.Range(1, 8).Select(i => i / 8f).ToArray()) } };
        float[] Y(string spec, out IReadOnlyList<string> notes)
        {
            using var r = RunnerRegistry.Create(RunnerSpec.Parse(spec), new RunnerContext { Model = model });
            r.Activate();
            notes = r.Notes;
            return r.Infer(feed).Tensor("y").ToArray<float>();
        }
        var engine = Y("onnxrt:precision=fp16", out var engineNotes);
        var naive = Y("onnxrt:precision=fp16-naive", out _);
        var exact = Enumerable.Range(1, 8).Select(i => i / 8f * 5e4f).ToArray();
        Assert.All(engine.Zip(exact), p => Assert.InRange(p.First, p.Second * 0.999f, p.Second * 1.001f));
        Assert.All(naive.Zip(exact), p => Assert.InRange(p.First, p.Second * 0.6f, p.Second * 0.7f));
        Assert.Contains(engineNotes, n => n.Contains("1 constant node(s) computed in float32 and made weights", StringComparison.Ordinal));
    }
}
