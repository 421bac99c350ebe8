using PolyNet.Jobs.Suite;
using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using PolyNet.Tests;
using Xunit;

namespace PolyNet.Jobs.Tests.Suite;

public class SuiteRunnerTests
{
    private static SuiteFile Load(TempDir dir, string yaml)
    {
        var path = dir.File("t.suite.yaml");
        File.WriteAllText(path, yaml.Replace("MODELS/", TestPaths.Fixtures + "/models/"));
        return SuiteFile.Load(path);
    }

    private const string Mlp = """
        defaults:
          runners: [onnxrt, "onnxrt:opt=disable"]
        cases:
          - name: mlp
            model: MODELS/mlp.onnx
            tags: [smoke]
            inputs: { samples: 2 }
          - name: conv
            model: MODELS/convnet.onnx
            tolerances: { atol: 1e-4, rtol: 1e-4 }
        """;

    [Fact]
    public void Without_golden_files_a_case_is_bad_input_saying_how_to_create_them_and_nothing_is_written()
    {
        using var dir = new TempDir();
        var suite = Load(dir, Mlp);
        var r = SuiteRunner.RunCase(suite, suite.Cases[1], updateGolden: false);
        Assert.Equal(CaseStatus.BadInput, r.Status);
        Assert.EndsWith($"does not exist; create it with: polynet suite run {suite.GivenPath} --update-golden --case conv", r.Message);
        Assert.False(Directory.Exists(dir.File("golden")));
    }

    [Fact]
    public void Update_golden_writes_the_first_runners_outputs_then_a_changed_value_fails_naming_output_place_and_comparison()
    {
        using var dir = new TempDir();
        var suite = Load(dir, Mlp);
        var created = SuiteRunner.Run(suite, new SuiteRunOptions { UpdateGolden = true }, cancel: TestContext.Current.CancellationToken);
        Assert.Equal(["created", "created"], created.Cases.Select(c => c.Golden));
        Assert.Equal(ExitCodes.Success, created.ExitCode);
        Assert.Equal(["unchanged", "unchanged"], SuiteRunner.Run(suite, new SuiteRunOptions { UpdateGolden = true }, cancel: TestContext.Current.CancellationToken).Cases.Select(c => c.Golden));

        var golden = Npz.Read(dir.File("golden/mlp.npz"));
        golden.Tensor("1/probs").Span<float>()[3] += 0.01f;
        Npz.Write(dir.File("golden/mlp.npz"), golden);
        var r = SuiteRunner.Run(suite, new SuiteRunOptions(), cancel: TestContext.Current.CancellationToken);
        Assert.Equal([CaseStatus.Failed, CaseStatus.Passed], r.Cases.Select(c => c.Status));
        Assert.Equal(ExitCodes.Mismatch, r.ExitCode);
        var message = r.Cases[0].Message!;
        Assert.StartsWith("probs: ", message);
        Assert.Contains("max abs error 0.01 at [0, 3] (onnxrt vs golden, sample 1)", message);
        Assert.DoesNotContain("logits", message);
    }

    [Fact]
    public void Golden_files_that_do_not_hold_the_models_outputs_are_bad_input_not_a_mismatch()
    {
        using var dir = new TempDir();
        var suite = Load(dir, Mlp);
        SuiteRunner.Run(suite, new SuiteRunOptions { UpdateGolden = true, Cases = ["conv"] }, cancel: TestContext.Current.CancellationToken);
        var golden = dir.File("golden/conv.npz");
        Npz.Write(golden, new ValueMap { { "logits", TensorData.Create<float>([2, 5], new float[10]) } });
        var r = SuiteRunner.RunCase(suite, suite.Cases[1], updateGolden: false);
        Assert.Equal(CaseStatus.BadInput, r.Status);
        Assert.Contains("output 'logits' has shape 2x5, but onnxrt gives 1x10", r.Message);
    }

    [Fact]
    public void Cases_are_selected_by_name_and_tag_and_unknown_ones_are_errors()
    {
        using var dir = new TempDir();
        var suite = Load(dir, Mlp);
        Assert.Equal(["mlp"], SuiteRunner.Select(suite, new SuiteRunOptions { Tags = ["smoke"] }).Select(c => c.Name));
        Assert.Equal(["conv"], SuiteRunner.Select(suite, new SuiteRunOptions { Cases = ["conv"] }).Select(c => c.Name));
        Assert.Contains("no case named 'mpl' (cases: mlp, conv)", Assert.Throws<InvalidInputException>(() => SuiteRunner.Select(suite, new SuiteRunOptions { Cases = ["mpl"] })).Message);
        Assert.Contains("no case has tag 'nightly' (tags: smoke)", Assert.Throws<InvalidInputException>(() => SuiteRunner.Select(suite, new SuiteRunOptions { Tags = ["nightly"] })).Message);
    }

    [Fact]
    public void Cases_with_a_gpu_runner_run_one_at_a_time_whatever_was_asked()
    {
        using var dir = new TempDir();
        var cpu = Load(dir, Mlp);
        Assert.Equal(3, SuiteRunner.JobsFor(cpu.Cases, 3));
        var gpu = Load(dir, Mlp.Replace("runners: [onnxrt, \"onnxrt:opt=disable\"]", "runners: [onnxrt, \"cuda:tf32=0\"]"));
        Assert.Equal(1, SuiteRunner.JobsFor(gpu.Cases, 3));
    }

    [Fact]
    public void A_case_keeps_what_its_job_logged_by_level()
    {
        using var dir = new TempDir();
        var suite = Load(dir, Mlp);
        var r = SuiteRunner.RunCase(suite, suite.Cases[0], updateGolden: true);
        Assert.Contains(r.Log, l => l.Level == LogLevel.Info && l.Message.StartsWith("inputs: 2 sample(s) generated", StringComparison.Ordinal));
        Assert.Contains(r.Log, l => l.Level == LogLevel.Progress && l.Message.Contains(" ready in ", StringComparison.Ordinal));
    }
}
