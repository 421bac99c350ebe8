using Google.Protobuf;
using PolyNet.FixtureMaker;
using PolyNet.Tests;
using Xunit;

namespace PolyNet.Cli.Tests;

public class FixturesTests
{
    [Fact]
    public void Committed_fixture_models_are_what_the_fixture_maker_makes()
    {
        var made = new Dictionary<string, byte[]>
        {
            ["mlp.onnx"] = Fixtures.Mlp().ToByteArray(),
            ["convnet.onnx"] = Fixtures.ConvNet().ToByteArray(),
            ["dynamic_batch.onnx"] = Fixtures.DynamicBatch().ToByteArray(),
            ["mixed_types.onnx"] = Fixtures.MixedTypes().ToByteArray(),
            ["exp_divergence.onnx"] = Fixtures.ExpDivergence().ToByteArray(),
        };
        foreach (var (name, bytes) in made)
            Assert.True(bytes.AsSpan().SequenceEqual(File.ReadAllBytes(TestPaths.Model(name))), $"fixtures/models/{name} is stale: run dotnet run --project tests/FixtureMaker -- fixtures");
    }
}

public class CalibFixturesTests
{
    [Fact]
    public void Committed_hand_made_caches_are_what_the_fixture_maker_makes()
    {
        foreach (var (name, bytes) in CalibFixtures.All())
            Assert.True(bytes.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(TestPaths.Fixtures, "calib", name))),
                $"fixtures/calib/{name} is stale: run dotnet run --project tests/FixtureMaker -- fixtures");
    }
}
