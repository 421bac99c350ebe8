using System.Text.Json;
using System.Xml.Linq;
using PolyNet.Tests;
using Xunit;
using static PolyNet.Cli.Tests.CliHarness;

namespace PolyNet.Cli.Tests.Commands;

/// <summary>`suite run --shard I/N` on a CI matrix and `suite merge` joining the shards' reports.</summary>
public class SuiteShardCommandTests
{
    private static string Example => Path.Combine(TestPaths.Fixtures, "suite", "example.suite.yaml");

    [Fact]
    public void Two_shards_cover_every_case_once_and_merge_into_one_report()
    {
        using var dir = new TempDir();
        var one = Run("suite", "run", Example, "--shard", "1/2", "--json", dir.File("s1.json"));
        var two = Run("suite", "run", Example, "--shard", "2/2", "--json", dir.File("s2.json"));
        Assert.True(one.Code == 0 && two.Code == 0, one.Out + one.Err + two.Out + two.Err);
        Assert.Contains("(shard 1/2, dealt in suite order: mlp, convnet, dynamic_batch_sweep, external_weights)", one.Out);
        var merged = Run("suite", "merge", Example, dir.File("s1.json"), dir.File("s2.json"), "--junit", dir.File("m.xml"), "--json", dir.File("m.json"));
        Assert.True(merged.Code == 0, merged.Out + merged.Err);
        Assert.Contains("PASSED: 7 of 7 case(s) passed over 2 shard report(s)", merged.Out);
        var junit = XDocument.Load(dir.File("m.xml"));
        Assert.Equal(["mlp", "mlp_recorded_inputs", "convnet", "dynamic_batch", "dynamic_batch_sweep", "mixed_types", "external_weights"],
            junit.Descendants("testcase").Select(t => t.Attribute("name")!.Value));
        Assert.Contains("PASSED logits (onnxrt vs golden", junit.Descendants("testcase").First().Element("system-out")!.Value);
        using var json = JsonDocument.Parse(File.ReadAllText(dir.File("m.json")));
        Assert.True(json.RootElement.GetProperty("passed").GetBoolean());
        Assert.Equal(7, json.RootElement.GetProperty("cases").GetArrayLength());

        // Balanced by the merged run's times, the split is still a partition of the suite.
        var b1 = Run("suite", "run", Example, "--shard", "1/2", "--shard-durations", dir.File("m.json"), "--json", dir.File("b1.json"));
        var b2 = Run("suite", "run", Example, "--shard", "2/2", "--shard-durations", dir.File("m.json"), "--json", dir.File("b2.json"));
        Assert.Contains("balanced by earlier run times", b1.Out);
        Assert.Equal(0, Run("suite", "merge", Example, dir.File("b1.json"), dir.File("b2.json")).Code);
    }

    [Fact]
    public void A_missing_or_repeated_shard_is_bad_input()
    {
        using var dir = new TempDir();
        Assert.Equal(0, Run("suite", "run", Example, "--shard", "1/2", "--json", dir.File("s1.json")).Code);
        AssertOneLineError(Run("suite", "merge", Example, dir.File("s1.json")), 2, "shard(s) 2/2 missing");
        AssertOneLineError(Run("suite", "merge", Example, dir.File("s1.json"), dir.File("s1.json")), 2, "is shard 1/2 again");
        AssertOneLineError(Run("suite", "run", Example, "--shard", "3/2"), 2, "--shard 3/2: expected I/N");
        AssertOneLineError(Run("suite", "run", Example, "--shard-durations", dir.File("s1.json")), 2, "without --shard it changes nothing");
    }
}
