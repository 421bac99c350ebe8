using System.Text.Json;
using PolyNet.Compare;
using PolyNet.FixtureMaker;
using PolyNet.Jobs;
using PolyNet.Jobs.Layerwise;
using PolyNet.Jobs.Runs;
using PolyNet.Onnx;
using PolyNet.Reports.Json;
using PolyNet.Runners.Specs;
using Xunit;

namespace PolyNet.Reports.Tests.Json;

public class JsonRunReportTests
{
    private static JsonDocument Write(RunJobResult r)
    {
        var s = new MemoryStream();
        JsonRunReport.Default.Write(new RunReport(r, "m.onnx", "polynet run m.onnx"), s);
        return JsonDocument.Parse(s.ToArray());
    }

    [Fact]
    public void Every_comparison_and_metric_is_there_with_non_finite_numbers_as_strings()
    {
        var nan = PairComparer.Compare(0, "ref", new ValueMap { { "y", TensorData.Create<float>([3], 1f, 2f, 3f) } },
            "cand", new ValueMap { { "y", TensorData.Create<float>([3], 1f, float.NaN, 3f) } }, new ToleranceSet(), new CompareOptions(), onlyShared: false);
        var result = new RunJobResult { Runners = [new RunnerSummary("ref", ["note"], TimeSpan.FromMilliseconds(2.5), [TimeSpan.FromMilliseconds(1)])], Pairs = [nan], Samples = 1 };
        using var doc = Write(result);
        var root = doc.RootElement;
        Assert.Equal("polynet", root.GetProperty("tool").GetString());
        Assert.Equal("m.onnx", root.GetProperty("model").GetString());
        Assert.False(root.GetProperty("passed").GetBoolean());
        Assert.Equal(2.5, root.GetProperty("runners")[0].GetProperty("activation_ms").GetDouble());
        var o = root.GetProperty("comparisons")[0].GetProperty("outputs")[0];
        Assert.Equal("float32", o.GetProperty("reference_type").GetString());
        Assert.Equal([3], o.GetProperty("reference_shape").EnumerateArray().Select(d => d.GetInt64()));
        Assert.Equal("elemwise", o.GetProperty("tolerance").GetProperty("stat").GetString());
        var m = o.GetProperty("metrics");
        Assert.Equal(1, m.GetProperty("infinite_abs_errors").GetInt64());
        Assert.Equal(1, m.GetProperty("nan_candidate").GetInt64());
        Assert.Equal(3, m.GetProperty("abs_histogram").GetProperty("bins").EnumerateArray().Sum(b => b.GetProperty("count").GetInt64()));
        // A failing output carries its explanation (the heat map's pixels stay in the HTML report).
        var x = o.GetProperty("explanation");
        Assert.True(x.GetProperty("worst").GetArrayLength() > 0);
        Assert.False(x.TryGetProperty("heatmap", out var h) && h.TryGetProperty("values", out _));
        // Every value in the document is JSON: non-finite numbers are strings.
        Assert.DoesNotMatch(@":\s*-?(NaN|Infinity)\b", root.GetRawText());
        Assert.Equal("nan", x.GetProperty("worst")[0].GetProperty("candidate").GetString());
    }

    [Fact]
    public void The_layerwise_pass_and_localization_are_there()
    {
        var r = RunJob.Execute(new RunJobOptions
        {
            Model = OnnxModel.FromProto(Fixtures.ExpDivergence()), Runners = [RunnerSpec.Parse("onnxrt"), RunnerSpec.Parse("onnxrt:precision=fp16")], Marks = new MarkOptions { All = true },
        }, new MemoryJobLog());
        using var doc = Write(r);
        var cand = doc.RootElement.GetProperty("layerwise").GetProperty("candidates")[0];
        Assert.Equal("exp_out", cand.GetProperty("first_divergence").GetString());
        Assert.Equal(8, cand.GetProperty("tensors").GetArrayLength());
        var nodes = cand.GetProperty("localization").GetProperty("nodes").EnumerateArray().ToList();
        Assert.Equal(["exp"], nodes.Where(n => n.GetProperty("introduces").GetBoolean()).Select(n => n.GetProperty("node_name").GetString()));
        var y = cand.GetProperty("localization").GetProperty("explained").EnumerateArray().Single(e => e.GetProperty("output").GetString() == "y");
        Assert.True(y.GetProperty("explained").GetDouble() > 0.5);
    }
}
