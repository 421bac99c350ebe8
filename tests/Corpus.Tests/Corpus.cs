using System.Text.Json;
using PolyNet.Jobs;
using PolyNet.Onnx;
using PolyNet.Runners.Inputs;
using PolyNet.Tests;

namespace PolyNet.Corpus.Tests;

/// <summary>One real model of corpus.json: where setup put it, what it covers, how its inputs are made.</summary>
/// <param name="MarkAll">Whether the corpus test marks every tensor (not on models whose activations are gigabytes).</param>
public sealed record CorpusModel(string Name, string Covers, IReadOnlyList<string> Arguments, bool MarkAll)
{
    public string Path => System.IO.Path.Combine(Corpus.Folder, Name + ".onnx");

    /// <summary>The sample the corpus runs: generated from seed 1 with the entry's --input-shapes and --val-range.</summary>
    public IReadOnlyList<ValueMap> Samples(OnnxModel model)
    {
        var shapes = new List<string>();
        var ranges = new List<string>();
        List<string>? into = null;
        foreach (var a in Arguments)
        {
            if (a == "--input-shapes") into = shapes;
            else if (a == "--val-range") into = ranges;
            else if (into is null) throw new InvalidDataException($"corpus.json: {Name}: '{a}' follows no option this test knows");
            else into.Add(a);
        }
        return InputSamples.Generate(model.Inputs, seed: 1, count: 1, ValueRanges.Parse(ranges), InputShapes.Parse(shapes), new MemoryJobLog());
    }
}

/// <summary>The corpus (tests/Corpus.Tests/corpus.json), fetched by ./setup.sh --test into .deps/corpus.</summary>
public static class Corpus
{
    public static string Source => System.IO.Path.Combine(TestPaths.RepoRoot, "tests", "Corpus.Tests");
    public static string Folder => Environment.GetEnvironmentVariable("POLYNET_CORPUS") is { Length: > 0 } d ? d : System.IO.Path.Combine(TestPaths.RepoRoot, ".deps", "corpus");

    public static IReadOnlyList<CorpusModel> Models { get; } = Read();

    public static CorpusModel Get(string name) => Models.Single(m => m.Name == name);

    public static Xunit.TheoryData<string> Names()
    {
        var data = new Xunit.TheoryData<string>();
        foreach (var m in Models) data.Add(m.Name);
        return data;
    }

    /// <summary>The model, or a skip that says how to fetch it.</summary>
    public static OnnxModel Load(CorpusModel m)
    {
        if (!File.Exists(m.Path)) Xunit.Assert.Skip($"{m.Path} is missing: ./setup.sh --test fetches the corpus");
        return OnnxModel.Load(m.Path);
    }

    private static List<CorpusModel> Read()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(System.IO.Path.Combine(Source, "corpus.json")));
        var root = doc.RootElement.ValueKind == JsonValueKind.Array ? doc.RootElement : doc.RootElement.GetProperty("models");
        return root.EnumerateArray().Select(e => new CorpusModel(e.GetProperty("name").GetString()!, e.GetProperty("covers").GetString()!,
            e.GetProperty("inputs").EnumerateArray().Select(x => x.GetString()!).ToList(),
            !e.TryGetProperty("mark_all", out var all) || all.GetBoolean())).ToList();
    }
}
