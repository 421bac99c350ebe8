using System.Text.Json;
using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using PolyNet.Tests;
using Xunit;
using static PolyNet.Cli.Tests.CliHarness;

namespace PolyNet.Cli.Tests.Commands;

public class RunCommandTests
{
    private static string M(string name) => TestPaths.Model(name);

    [Fact]
    public void Two_configurations_that_agree_pass_with_exit_0()
    {
        var r = Run("run", M("convnet.onnx"), "--runner", "onnxrt", "--runner", "onnxrt:opt=disable");
        Assert.True(r.Code == 0, r.Out + r.Err);
        Assert.Contains("[I]   logits (float32 1x10): PASSED", r.Out);
        Assert.Contains("[I] PASSED | 1 comparison(s) of 2 runner configuration(s)", r.Out);
    }

    [Fact]
    public void A_mismatch_exits_1_and_says_where_by_how_much_and_what_would_pass()
    {
        var r = Run("run", M("convnet.onnx"), "--runner", "onnxrt", "onnxrt:opt=disable", "--atol", "0", "--rtol", "0");
        Assert.Equal(1, r.Code);
        Assert.Contains("logits (float32 1x10): FAILED", r.Out);
        Assert.Matches(@"largest abs error at \[0, \d\]: reference -?[\d.e-]+ vs candidate -?[\d.e-]+ \(abs [\d.e+-]+, rel [\d.e+-]+\)", r.Out);
        Assert.Contains("would pass with atol ≥", r.Out);
        Assert.Contains("abs error histogram:", r.Out);
        Assert.Contains("[E] FAILED | 1 of 1 output comparison(s) failed", r.Out);
    }

    [Fact]
    public void Per_output_tolerance_passes_one_output_while_the_other_fails()
    {
        // float16 emulation moves every logit, and the softmax probabilities by far less than 1e-2.
        var r = Run("run", M("mlp.onnx"), "--runner", "onnxrt", "onnxrt:precision=fp16", "--atol", "0", "probs:1e-2", "--rtol", "0", "--iterations", "3", "--seed", "9");
        Assert.Contains("probs (float32 1x10): PASSED  every element within tolerance  (atol=0.01 rtol=0 elemwise [per-output])", r.Out);
        Assert.Contains("logits (float32 1x10): FAILED", r.Out);
        Assert.Contains("(atol=0 rtol=0 elemwise [user])", r.Out);
        Assert.Equal(1, r.Code);
    }

    [Fact]
    public void Backend_layout_inputs_and_saved_then_loaded_outputs_round_trip()
    {
        using var dir = new TempDir();
        var backend = Path.Combine(TestPaths.Fixtures, "data", "mlp_backend");
        var save = Run("run", M("mlp.onnx"), "--runner", "onnxrt", "onnxrt:opt=disable", "--load-inputs", backend, "--save-outputs", dir.File("out.npz"), "--save-inputs", dir.File("in.npz"));
        Assert.True(save.Code == 0, save.Out + save.Err);
        Assert.Contains("matched to the model's inputs by position", save.Out);
        Assert.True(File.Exists(dir.File("out.onnxrt.npz")));
        Assert.True(File.Exists(dir.File("out.onnxrt_opt=disable.npz")));
        var inputs = Npz.Read(dir.File("in.npz"));
        var original = BackendTestData.LoadSet(Path.Combine(backend, "test_data_set_0"), DataRole.Inputs, null);
        Assert.True(inputs.Tensor("x").ContentEquals((TensorData)original[0].Value));

        var check = Run("run", M("mlp.onnx"), "--load-inputs", dir.File("in.npz"), "--load-outputs", dir.File("out.onnxrt.npz"), "--atol", "0", "--rtol", "0");
        Assert.True(check.Code == 0, check.Out + check.Err);
        Assert.Contains("against reference 'expected (out.onnxrt.npz)'", check.Out);
    }

    [Fact]
    public void An_onnx_backend_test_passes_against_its_stored_outputs()
    {
        var dir = Path.Combine(TestPaths.BackendData, "node", "test_conv_with_strides_padding");
        Assert.True(Directory.Exists(dir), "libonnx-testdata is missing: ./setup.sh --test installs it");
        var r = Run("run", Path.Combine(dir, "model.onnx"), "--load-inputs", dir, "--load-outputs", dir, "--rtol", "1e-3", "--atol", "1e-7");
        Assert.True(r.Code == 0, r.Out + r.Err);
        Assert.Contains("against reference 'expected (test_conv_with_strides_padding)'", r.Out);
    }

    [Fact]
    public void Version_is_printed()
    {
        var r = Run("--version");
        Assert.Equal(0, r.Code);
        Assert.Matches(@"^\d+\.\d+\.\d+", r.Out.Trim());
    }
}

public class RunCommandBadInputTests
{
    private static string M(string name) => TestPaths.Model(name);

    [Fact]
    public void Missing_model() => AssertOneLineError(Run("run", "/nonexistent/m.onnx", "--runner", "onnxrt", "onnxrt"), 2, "/nonexistent/m.onnx: no such file");

    [Fact]
    public void Not_onnx_and_truncated_models()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("notes.onnx"), "these are my notes, not a model");
        AssertOneLineError(Run("run", dir.File("notes.onnx"), "--runner", "onnxrt", "onnxrt"), 2, dir.File("notes.onnx"), "not");
        var bytes = File.ReadAllBytes(M("convnet.onnx"));
        File.WriteAllBytes(dir.File("cut.onnx"), bytes[..(bytes.Length * 2 / 3)]);
        AssertOneLineError(Run("run", dir.File("cut.onnx"), "--runner", "onnxrt", "onnxrt"), 2, dir.File("cut.onnx"));
    }

    [Fact]
    public void Unknown_input_name_in_shapes_ranges_and_data()
    {
        AssertOneLineError(Run("run", M("dynamic_batch.onnx"), "--runner", "onnxrt", "onnxrt", "--input-shapes", "input:4x8"), 2, "no input 'input' (inputs: x)");
        AssertOneLineError(Run("run", M("mlp.onnx"), "--runner", "onnxrt", "onnxrt", "--val-range", "images:[0,255]"), 2, "no input 'images'");
        using var dir = new TempDir();
        Npz.Write(dir.File("wrong.npz"), new ValueMap { { "images", TensorData.Create<float>([1, 16], new float[16]) } });
        AssertOneLineError(Run("run", M("mlp.onnx"), "--runner", "onnxrt", "onnxrt", "--load-inputs", dir.File("wrong.npz")), 2, dir.File("wrong.npz"), "'images'", "not an input");
    }

    [Fact]
    public void Shapes_and_types_that_do_not_fit()
    {
        AssertOneLineError(Run("run", M("dynamic_batch.onnx"), "--runner", "onnxrt", "onnxrt", "--input-shapes", "x:4x9"), 2, "dimension 1 is fixed at 8");
        AssertOneLineError(Run("run", M("dynamic_batch.onnx"), "--runner", "onnxrt", "onnxrt", "--input-shapes", "x:4by8"), 2, "--input-shapes x:4by8");
        using var dir = new TempDir();
        Npz.Write(dir.File("f64.npz"), new ValueMap { { "x", TensorData.Create<double>([1, 16], new double[16]) } });
        AssertOneLineError(Run("run", M("mlp.onnx"), "--runner", "onnxrt", "onnxrt", "--load-inputs", dir.File("f64.npz")), 2, "input 'x' is float32 in the model, but the data is float64");
        Npz.Write(dir.File("shape.npz"), new ValueMap { { "x", TensorData.Create<float>([2, 16], new float[32]) } });
        AssertOneLineError(Run("run", M("mlp.onnx"), "--runner", "onnxrt", "onnxrt", "--load-inputs", dir.File("shape.npz")), 2, "dimension 0 is fixed at 1");
    }

    [Fact]
    public void Bad_runner_specs_tolerances_and_options()
    {
        AssertOneLineError(Run("run", M("mlp.onnx"), "--runner", "onnxrt", "onnxrt:opt=turbo"), 2, "opt=turbo is not valid");
        AssertOneLineError(Run("run", M("mlp.onnx"), "--runner", "onnxrt", "onnxrt", "--atol", "logitz:1e-3"), 2, "'logitz', which is not an output");
        AssertOneLineError(Run("run", M("mlp.onnx"), "--runner", "onnxrt"), 2, "nothing to compare");
        AssertOneLineError(Run("run", M("mlp.onnx"), "--runner", "onnxrt", "onnxrt", "--no-such-option"), 2, "--no-such-option");
        AssertOneLineError(Run("run", M("mlp.onnx"), "--runner", "onnxrt", "onnxrt", "--iterations", "0"), 2, "--iterations 0");
    }

    [Fact]
    public void A_missing_ort_library_is_named()
        => AssertOneLineError(Run("run", M("mlp.onnx"), "--runner", "onnxrt", "onnxrt", "--ort-library", "/nope/libonnxruntime.so"), 2, "/nope/libonnxruntime.so");

    [Fact]
    public void A_gpu_runner_on_a_machine_without_one_is_a_runner_failure_saying_what_is_missing()
    {
        if (PolyNet.Runners.Ort.GpuChecks.NoNvidiaDriver(PolyNet.Runners.Ort.SystemProbe.Default) is null) Assert.Skip("this machine has an NVIDIA driver");
        AssertOneLineError(Run("run", M("mlp.onnx"), "--runner", "onnxrt", "cuda"), 3, "cuda: unavailable: no NVIDIA GPU or driver");
        AssertOneLineError(Run("run", M("mlp.onnx"), "--runner", "onnxrt", "trt:fp16=1"), 3, "trt:fp16=1: unavailable", "TensorRT is not installed");
    }

    [Fact]
    public void Unwritable_reports_are_refused_before_any_work()
    {
        var r = Run("run", M("convnet.onnx"), "--runner", "onnxrt", "onnxrt:opt=disable", "--mark-all", "--json", "/nonexistent/dir/r.json");
        AssertOneLineError(r, 2, "/nonexistent/dir/r.json: folder /nonexistent/dir does not exist");
        Assert.DoesNotContain("activating", r.Out);
        var c = Run("compare", M("convnet.onnx"), M("convnet.onnx"), "--report", M("convnet.onnx"));
        AssertOneLineError(c, 2, "would overwrite an input");
    }
    [Fact]
    public void A_runner_failing_while_running_is_one_error_line_with_the_hint_for_generated_integers()
    {
        using var dir = new TempDir();
        var b = new PolyNet.Onnx.ModelBuilder("reshape_by_input");
        var x = b.Input("x", PolyNet.Onnx.ElementType.Float, 4);
        var shape = b.Input("shape", PolyNet.Onnx.ElementType.Int64, 2);
        b.Node("Reshape", [x, shape], output: "y");
        b.Output("y", PolyNet.Onnx.ElementType.Float);
        var path = dir.File("reshape.onnx");
        b.BuildModel().Save(path);
        var r = Run("run", path, "--runner", "onnxrt", "onnxrt:opt=disable");
        Assert.Equal(3, r.Code);
        // ORT's message once, on the error line, with the hint: a generated shape of zeros and ones cannot hold 4 elements.
        var line = Assert.Single(r.ErrLines, l => l.StartsWith("polynet: error: ", StringComparison.Ordinal));
        Assert.Contains("while running Reshape node", line);
        Assert.Contains("--val-range shape:[LO,HI]", line);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(r.Out + r.Err, "while running Reshape node"));
        Assert.DoesNotContain("   at ", r.Err);
    }
}
