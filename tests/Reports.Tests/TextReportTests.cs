using PolyNet.Compare;
using PolyNet.FixtureMaker;
using PolyNet.Jobs;
using PolyNet.Jobs.Layerwise;
using PolyNet.Jobs.Runs;
using PolyNet.Onnx;
using PolyNet.Runners.Specs;
using Xunit;

namespace PolyNet.Reports.Tests;

public class TextReportTests
{
    private static PairResult Pair(float delta, ToleranceSet? t = null) => PairComparer.Compare(0, "ref", new ValueMap { { "y", TensorData.Create<float>([1, 4], 1f, 2f, 3f, 4f) } },
        "cand", new ValueMap { { "y", TensorData.Create<float>([1, 4], 1f, 2f, 3f + delta, 4f) } }, t ?? new ToleranceSet(), new CompareOptions(), onlyShared: false);

    private static string Render(Action<TextReport> write, bool verbose = false)
    {
        var w = new StringWriter();
        write(new TextReport(w, verbose));
        return w.ToString();
    }

    [Fact]
    public void A_passing_output_is_one_verdict_line_with_its_distribution()
    {
        var text = Render(r => r.Pair(Pair(0)));
        Assert.Contains("[I] Comparing 'cand' against reference 'ref' (sample 0)", text);
        Assert.Contains("[I]   y (float32 1x4): PASSED  every element within tolerance  (atol=1e-05 rtol=1e-05 elemwise)", text);
        Assert.DoesNotContain("histogram", text);
    }

    [Fact]
    public void A_failing_output_says_where_by_how_much_and_what_would_pass()
    {
        var text = Render(r => r.Pair(Pair(0.5f)));
        Assert.Contains("[E]   y (float32 1x4): FAILED  1 of 4 elements (25%) out of tolerance", text);
        Assert.Contains("largest abs error at [0, 2]: reference 3 vs candidate 3.5 (abs 0.5, rel 0.1667)", text);
        Assert.Contains("abs error histogram:", text);
        Assert.Contains("would pass with atol ≥ 0.5 (at rtol 1e-05) or rtol ≥ 0.1667 (at atol 1e-05)", text);
    }

    [Fact]
    public void The_summary_counts_failed_outputs_and_names_the_first()
    {
        var result = new RunJobResult { Runners = [new RunnerSummary("ref", [], TimeSpan.FromMilliseconds(3), [TimeSpan.FromMilliseconds(1)])], Pairs = [Pair(0), Pair(0.5f)], Samples = 1 };
        var text = Render(r => r.Summary(result));
        Assert.Contains("[I] ref: activation 3 ms, first inference 1 ms (cold: includes warm-up; polynet bench measures steady latency)", text);
        var three = Render(r => r.Summary(result with { Runners = [new RunnerSummary("ref", [], TimeSpan.FromMilliseconds(3), [TimeSpan.FromMilliseconds(9), TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(2)])] }));
        Assert.Contains("[I] ref: activation 3 ms, first inference 9 ms (cold), then mean 1.5 ms over 2 run(s)", three);
        Assert.Contains("[E] FAILED | 1 of 2 output comparison(s) failed in 1 of 2 comparison(s); first: 'cand' vs 'ref' on y: 1 of 4 elements (25%) out of tolerance", text);
        var passed = Render(r => r.Summary(result with { Pairs = [Pair(0)] }));
        Assert.Contains("[I] PASSED | 1 comparison(s) of 1 runner configuration(s) over 1 sample(s): all 1 output comparison(s) within tolerance", passed);
    }

    [Fact]
    public void The_layerwise_table_marks_the_first_divergence_and_localization_lists_the_culprit_first()
    {
        var model = OnnxModel.FromProto(Fixtures.ExpDivergence());
        var r = RunJob.Execute(new RunJobOptions { Model = model, Runners = [RunnerSpec.Parse("onnxrt"), RunnerSpec.Parse("onnxrt:precision=fp16")], Marks = new MarkOptions { All = true } }, new MemoryJobLog());
        var text = Render(t => t.Layerwise(r.Layerwise!));
        Assert.Contains("[E] 'onnxrt:precision=fp16' vs 'onnxrt': 3 of 8 tensor(s) beyond tolerance; first divergence: 'exp_out' from exp (Exp)", text);
        Assert.Matches(@"exp_out\s+exp \(Exp\)\s+1x32\s+\S+\s+\S+\s+FAILED  <- first divergence", text);
        Assert.Matches(@"exp \(Exp\)\s+INTRODUCES\s+adds \d+(\.\d)?% of y's error; alone: ", text);
        Assert.Matches(@"scale \(Mul\)\s+inherits", text);
        Assert.Matches(@"fixing exp \(Exp\) \(its output replaced by the reference's\) removes \d+(\.\d)?% of y's error", text);
        // The headline names the culprit with its share, beside the first divergence; the HTML report says the same.
        Assert.Matches(@"\[E\] cause: exp \(Exp\) adds \d+(\.\d)?% of y's error \(first divergence: 'exp_out' from exp \(Exp\)\)", text);
        var html = HtmlReport.Render([new ReportSection("t", r)], "polynet run exp_divergence.onnx");
        Assert.Contains("Cause: exp (Exp) adds ", html);
        Assert.Contains("ringed: the culprits adding most of the worst output's error", html);
    }

    [Fact]
    public void Long_names_are_cut_in_the_middle_so_the_end_that_tells_them_apart_stays()
    {
        var a = TextReport.Cut("/model/encoder/layers.10/self_attn/MatMul_output_0", 30);
        var b = TextReport.Cut("/model/encoder/layers.10/self_attn/MatMul_output_1", 30);
        Assert.Equal(30, a.Length);
        Assert.StartsWith("/model/", a);
        Assert.EndsWith("attn/MatMul_output_0", a);
        Assert.NotEqual(a, b);
        Assert.Equal("short", TextReport.Cut("short", 30));
    }
}
