using PolyNet.Onnx;
using PolyNet.Tests;
using Xunit;
using static PolyNet.Cli.Tests.CliHarness;

namespace PolyNet.Cli.Tests.Commands;

/// <summary>`polynet surgeon upgrade` and `--upgrade-opset` on run, reduce and suite run, on an opset-6 backend test.</summary>
public class UpgradeOpsetTests
{
    private static string Test(string name) => Path.Combine(TestPaths.BackendData, "pytorch-converted", name);

    [Fact]
    public void An_opset_6_model_fails_with_a_pointer_to_the_upgrade_and_runs_with_it()
    {
        var t = Test("test_PReLU_2d_multiparam");
        string[] args = ["run", Path.Combine(t, "model.onnx"), "--load-inputs", Path.Combine(t, "test_data_set_0"), "--load-outputs", Path.Combine(t, "test_data_set_0")];
        var refused = Run(args);
        AssertOneLineError(refused, 3, "PRelu(6)", "--upgrade-opset 13", "polynet surgeon upgrade");
        var upgraded = Run([.. args, "--upgrade-opset", "13"]);
        Assert.True(upgraded.Code == 0, upgraded.Out + upgraded.Err);
        Assert.Contains("upgraded from opset 6 to 13", upgraded.Out);
        Assert.Contains("PRelu-7 ×1", upgraded.Out);
        Assert.Contains("PASSED", upgraded.Out);
    }

    [Fact]
    public void Surgeon_upgrade_writes_the_converted_model_and_refuses_downgrades_and_overwriting_its_input()
    {
        using var dir = new TempDir();
        var model = Path.Combine(Test("test_Linear"), "model.onnx");
        var r = Run("surgeon", "upgrade", model, "-o", dir.File("linear13.onnx"), "--opset", "13");
        Assert.True(r.Code == 0, r.Out + r.Err);
        Assert.Contains("opset 6 → 13, IR version 3 → 7", r.Out);
        var m = OnnxModel.Load(dir.File("linear13.onnx"));
        Assert.Equal(13, m.OpsetVersion());
        Assert.DoesNotContain(m.Graph.Node.Single(n => n.OpType == "Gemm").Attribute, a => a.Name == "broadcast");  // removed in opset 7
        Assert.Contains("Gemm-7 ×1", r.Out);

        AssertOneLineError(Run("surgeon", "upgrade", dir.File("linear13.onnx"), "-o", dir.File("linear9.onnx"), "--opset", "9"), 2, "opset 13", "does not downgrade");
        AssertOneLineError(Run("surgeon", "upgrade", dir.File("linear13.onnx"), "-o", dir.File("x.onnx"), "--opset", "40"), 2, "7 to 21");
        AssertOneLineError(Run("surgeon", "upgrade", dir.File("linear13.onnx"), "-o", dir.File("linear13.onnx"), "--opset", "14"), 2, "linear13.onnx");
        Assert.False(File.Exists(dir.File("linear9.onnx")));
    }

    [Fact]
    public void Reduce_and_suite_run_take_the_option_too()
    {
        using var dir = new TempDir();
        var t = Test("test_BatchNorm2d_eval");
        var model = Path.Combine(t, "model.onnx");
        // Two identical runners agree, so reduce ends with "nothing fails": it ran both on the upgraded model.
        var reduce = Run("reduce", model, "--runner", "onnxrt", "--runner", "onnxrt:opt=disable", "--artifacts", dir.File("art"), "--upgrade-opset", "13");
        Assert.Contains("upgraded from opset 6 to 13", reduce.Out + reduce.Err);
        Assert.DoesNotContain("BatchNormalization(6)", reduce.Out + reduce.Err);

        File.WriteAllText(dir.File("s.yaml"), $"cases:\n  - name: bn\n    model: {model}\n    upgrade_opset: 13\n  - name: bn_cli\n    model: {model}\n");
        var suite = Run("suite", "run", dir.File("s.yaml"), "--update-golden", "--upgrade-opset", "13");
        Assert.True(suite.Code == 0, suite.Out + suite.Err);
        // The option is a floor: a case already newer is left as it is.
        File.WriteAllText(dir.File("mixed.yaml"), $"cases:\n  - name: old\n    model: {model}\n  - name: new\n    model: {TestPaths.Model("mlp.onnx")}\n");
        var mixed = Run("suite", "run", dir.File("mixed.yaml"), "--update-golden", "--upgrade-opset", "13");
        Assert.True(mixed.Code == 0, mixed.Out + mixed.Err);
        AssertOneLineError(Run("suite", "run", dir.File("mixed.yaml"), "--upgrade-opset", "5"), 2, "--upgrade-opset 5: PolyNet upgrades models to opsets 7 to 21");
        File.WriteAllText(dir.File("bad.yaml"), $"cases:\n  - name: bn\n    model: {model}\n    upgrade_opset: 5\n");
        AssertOneLineError(Run("suite", "run", dir.File("bad.yaml")), 2, "upgrade_opset '5'", "at least 7 and at most 21");
    }
}
