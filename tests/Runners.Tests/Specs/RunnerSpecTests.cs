using PolyNet.Runners.Specs;
using Xunit;

namespace PolyNet.Runners.Tests.Specs;

public class RunnerSpecTests
{
    [Fact]
    public void Parses_kind_keys_and_name()
    {
        var s = RunnerSpec.Parse("trt:min_shapes=x:1x3,min_shapes=y:2,fp16=1,name=fast");
        Assert.Equal("trt", s.Kind);
        Assert.Equal("fast", s.Name);
        Assert.Equal(new[] { "x:1x3", "y:2" }, s.Options.Where(o => o.Key == "min_shapes").Select(o => o.Value));
        Assert.Equal("onnxrt", RunnerSpec.Parse("ONNXRT").Kind);
    }

    [Theory]
    [InlineData("", "empty runner spec")]
    [InlineData("onnxrt:", "nothing after ':'")]
    [InlineData("onnxrt:opt", "'opt' is not key=value")]
    [InlineData("onnxrt:fp16", "'fp16' is not key=value (did you mean precision=fp16?)")]
    [InlineData("onnxrt:=1", "'=1' is not key=value")]
    public void Bad_specs_say_what_is_wrong(string spec, string problem)
        => Assert.Contains(problem, Assert.Throws<InvalidInputException>(() => RunnerSpec.Parse(spec)).Message);

    [Fact]
    public void Duplicate_configurations_get_distinct_names()
    {
        var specs = new[] { "onnxrt", "onnxrt", "onnxrt:opt=disable", "onnxrt" }.Select(RunnerSpec.Parse).ToList();
        RunnerSpec.MakeNamesUnique(specs);
        Assert.Equal(new[] { "onnxrt", "onnxrt#2", "onnxrt:opt=disable", "onnxrt#3" }, specs.Select(s => s.Name));
    }

    [Theory]
    [InlineData("1073741824", 1L << 30)]
    [InlineData("4G", 4L << 30)]
    [InlineData("512M", 512L << 20)]
    [InlineData("1.5K", 1536L)]
    public void Byte_sizes_accept_suffixes(string text, long bytes)
    {
        var keys = new RunnerKeys(RunnerSpec.Parse($"x:workspace={text}"), [new RunnerKey("workspace", "", "")]);
        Assert.Equal(bytes, keys.GetBytes("workspace"));
    }
}
