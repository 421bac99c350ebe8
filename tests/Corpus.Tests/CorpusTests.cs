using System.Text.Json;
using System.Text.Json.Serialization;
using PolyNet.Jobs;
using PolyNet.Jobs.Layerwise;
using PolyNet.Jobs.Runs;
using PolyNet.Onnx;
using PolyNet.Runners.Specs;
using Xunit;

namespace PolyNet.Corpus.Tests;

/// <summary>What PolyNet said about one candidate of one real model.</summary>
/// <param name="Cause">For a failing candidate, the culprit attribution names first when it adds at least half of the worst output's error (a clear cause, stable from run to run).</param>
public sealed record CandidateVerdict(bool Passed, IReadOnlyList<string> FailingOutputs, string? FirstDivergence, string? FirstDivergenceNode, string? Cause = null);

/// <summary>What PolyNet says about one real model: its size as inspect counts it, and the verdict on each candidate.</summary>
public sealed record Expectation(int Nodes, int BodyNodes, int Bodies, int ConstantWeights, IReadOnlyDictionary<string, CandidateVerdict> Candidates);

/// <summary>
/// Every real model of the corpus, compared as a user would: ONNX Runtime without graph optimizations and FP16 (engine and naive)
/// emulation against ONNX Runtime on CPU, every tensor marked (except on the models whose activations are gigabytes),
/// against the verdicts recorded in expectations.json. A regression on any real model fails here; a change that
/// rightly changes a verdict is recorded with POLYNET_UPDATE_CORPUS=1 (and reviewed in the diff).
/// </summary>
public class CorpusTests
{
    private static readonly string[] Candidates = ["onnxrt:opt=disable", "onnxrt:precision=fp16", "onnxrt:precision=fp16-naive"];
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };
    private static readonly Lock Gate = new();
    private static string ExpectationsFile => Path.Combine(Corpus.Source, "expectations.json");
    private static bool Update => Environment.GetEnvironmentVariable("POLYNET_UPDATE_CORPUS") == "1";

    public static TheoryData<string> Models => Corpus.Names();

    [Fact]
    public void The_corpus_has_at_least_eight_models_each_with_an_expectation()
    {
        Assert.True(Corpus.Models.Count >= 8, $"{Corpus.Models.Count} models");
        var recorded = Read();
        Assert.All(Corpus.Models, m => Assert.True(recorded.ContainsKey(m.Name), $"{m.Name} has no expectation: run the corpus tests with POLYNET_UPDATE_CORPUS=1"));
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Each_real_model_gets_the_recorded_verdict(string name)
    {
        var entry = Corpus.Get(name);
        var model = Corpus.Load(entry);
        var summary = ModelSummary.Of(model);
        var samples = entry.Samples(model);
        var result = RunJob.Execute(new RunJobOptions
        {
            Model = model,
            Runners = [RunnerSpec.Parse("onnxrt"), .. Candidates.Select(RunnerSpec.Parse)],
            Samples = samples,
            Marks = entry.MarkAll ? new MarkOptions { All = true } : null,
        }, new MemoryJobLog());

        // Whatever was recorded: the layerwise pass ran, and a failing candidate has a first divergence.
        Assert.Null(result.LayerwiseProblem);
        var verdicts = new Dictionary<string, CandidateVerdict>(StringComparer.Ordinal);
        foreach (var c in Candidates)
        {
            var pair = result.Pairs.Single(p => p.Candidate == c);
            var layers = result.Layerwise?.Candidates.Single(x => x.Candidate == c);
            if (entry.MarkAll && !pair.Passed) Assert.True(layers!.FirstDivergence is not null, $"{name}: {c} fails but no marked tensor diverges");
            foreach (var o in pair.Outputs.Where(o => o.Metrics is { NanCandidate: > 0 }))
                Assert.False(o.Metrics!.CosineSimilarity == 1 && o.Metrics.SimilarityExcluded == 0, $"{name}: {o.Output} holds NaN yet scores a perfect cosine");
            verdicts[c] = new CandidateVerdict(pair.Passed, pair.Outputs.Where(o => !o.Passed).Select(o => o.Output).Concat(pair.MissingInCandidate).Order(StringComparer.Ordinal).ToList(),
                layers?.FirstDivergence?.Tensor, layers?.FirstDivergence?.NodeLabel,
                !pair.Passed && layers?.Localization is { Attribution: [var top, ..] } loc && top.Share(loc.WorstOutput) is >= 0.5 ? top.Node : null);
        }
        var seen = new Expectation(summary.Nodes + summary.BodyNodes, summary.BodyNodes, summary.Bodies, summary.ConstantWeights.Count, verdicts);
        if (Update)
        {
            lock (Gate)
            {
                var all = new SortedDictionary<string, Expectation>(Read().ToDictionary(), StringComparer.Ordinal) { [name] = seen };
                File.WriteAllText(ExpectationsFile, JsonSerializer.Serialize(all, Json) + "\n");
            }
            return;
        }
        Assert.True(Read().TryGetValue(name, out var expected), $"{name} has no expectation: run the corpus tests with POLYNET_UPDATE_CORPUS=1");
        Assert.Equal(Canonical(expected), Canonical(seen));
    }

    private static string Canonical(Expectation e) => JsonSerializer.Serialize(e with { Candidates = new SortedDictionary<string, CandidateVerdict>(e.Candidates.ToDictionary(), StringComparer.Ordinal) }, Json);

    private static IReadOnlyDictionary<string, Expectation> Read()
        => File.Exists(ExpectationsFile)
            ? JsonSerializer.Deserialize<Dictionary<string, Expectation>>(File.ReadAllText(ExpectationsFile), Json) ?? []
            : new Dictionary<string, Expectation>();
}
