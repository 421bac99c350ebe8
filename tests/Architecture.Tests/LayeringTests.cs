using System.Xml.Linq;
using PolyNet.Tests;
using Xunit;

namespace PolyNet.Architecture.Tests;

/// <summary>
/// The house by floors (README, "Architecture"): Onnx ← Compare (the comparator) ← Runners, Calibration ← Jobs ←
/// Reduce, Reports ← Cli. Each project references only the floors below it that it needs, and no folder's types use
/// a folder that uses them back.
/// </summary>
public class LayeringTests
{
    /// <summary>What each project may reference, and nothing else.</summary>
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["Onnx"] = [],
        ["Compare"] = ["Onnx"],
        ["Calibration"] = ["Onnx"],
        ["Runners"] = ["Onnx", "Calibration"],
        ["Jobs"] = ["Onnx", "Compare", "Calibration", "Runners"],
        ["Reports"] = ["Onnx", "Compare", "Calibration", "Jobs"],
        ["Reduce"] = ["Onnx", "Compare", "Runners", "Jobs"],
        ["Cli"] = ["Onnx", "Compare", "Calibration", "Runners", "Jobs", "Reports", "Reduce"],
    };

    public static TheoryData<string> Projects => [.. Allowed.Keys];

    [Theory]
    [MemberData(nameof(Projects))]
    public void A_project_references_only_the_floors_below_it(string project)
    {
        var csproj = Directory.GetFiles(Path.Combine(TestPaths.RepoRoot, "src", project), "*.csproj").Single();
        var refs = XDocument.Load(csproj).Descendants("ProjectReference")
            .Select(r => Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(csproj)!, r.Attribute("Include")!.Value)))!)).Order().ToList();
        Assert.Equal(Allowed[project].Order(), refs);
    }

    [Fact]
    public void The_comparator_carries_no_package_but_the_vector_math()
    {
        var packages = XDocument.Load(Path.Combine(TestPaths.RepoRoot, "src", "Compare", "PolyNet.Compare.csproj")).Descendants("PackageReference").Select(p => p.Attribute("Include")!.Value);
        Assert.Equal(["System.Numerics.Tensors"], packages);
    }

    [Theory]
    [MemberData(nameof(Projects))]
    public void No_folder_uses_a_folder_that_uses_it(string project)
    {
        var assembly = project == "Cli" ? "polynet" : "PolyNet." + project;
        var edges = TypeGraph.FolderEdges(Path.Combine(AppContext.BaseDirectory, assembly + ".dll"), Path.Combine(TestPaths.RepoRoot, "src", project), out var why);
        var cycle = TypeGraph.FindCycle(edges);
        if (cycle is null) return;
        var steps = cycle.Split(" -> ");
        Assert.Fail($"a loop between folders of src/{project}: {cycle}\n" + string.Join("\n", steps.Zip(steps.Skip(1), (a, b) => $"{a} -> {b}: {string.Join("; ", why[$"{a} -> {b}"].Take(6))}")));
    }

    [Fact]
    public void The_cycle_finder_finds_a_cycle_and_the_reader_sees_body_references()
    {
        Assert.Equal("B -> C -> B", TypeGraph.FindCycle(new() { ["A"] = ["B"], ["B"] = ["C"], ["C"] = ["B"] }));
        Assert.Null(TypeGraph.FindCycle(new() { ["A"] = ["B", "C"], ["B"] = ["C"] }));
        // RunJob (Jobs.Runs) calls LayerwiseJob (Jobs.Layerwise) only inside a method body.
        var jobs = TypeGraph.FolderEdges(Path.Combine(AppContext.BaseDirectory, "PolyNet.Jobs.dll"), Path.Combine(TestPaths.RepoRoot, "src", "Jobs"));
        Assert.Contains("Layerwise", jobs["Runs"]);
        Assert.Contains(".", jobs["Layerwise"]);
    }
}
