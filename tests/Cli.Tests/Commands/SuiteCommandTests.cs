using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using PolyNet.Tests;
using Xunit;
using static PolyNet.Cli.Tests.CliHarness;

namespace PolyNet.Cli.Tests.Commands;

public class SuiteCommandTests
{
    private static string Example => Path.Combine(TestPaths.Fixtures, "suite", "example.suite.yaml");

    /// <summary>A suite over fixture models (absolute paths), golden files in DIR/golden.</summary>
    private static string WriteSuite(TempDir dir, string body, string name = "t.suite.yaml")
    {
        var path = dir.File(name);
        File.WriteAllText(path, body.Replace("MODELS/", TestPaths.Fixtures + "/models/"));
        return path;
    }

    private const string MlpSuite = """
        name: t
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

    private static string[] Reports(TempDir dir, string tag) =>
        ["--junit", dir.File($"{tag}.xml"), "--markdown", dir.File($"{tag}.md"), "--report", dir.File($"{tag}.html"), "--json", dir.File($"{tag}.json")];

    [Fact]
    public void The_example_suite_passes_and_writes_junit_markdown_html_and_json()
    {
        using var dir = new TempDir();
        var r = Run(["suite", "run", Example, .. Reports(dir, "r")]);
        Assert.True(r.Code == 0, r.Out + r.Err);
        Assert.Matches(@"\[I\] PASSED: 7 of 7 case\(s\) passed", r.Out);

        var junit = XDocument.Load(dir.File("r.xml"));
        var suite = Assert.Single(junit.Root!.Elements("testsuite"));
        Assert.Equal("7", suite.Attribute("tests")!.Value);
        Assert.Equal("0", suite.Attribute("failures")!.Value);
        Assert.Equal(["mlp", "mlp_recorded_inputs", "convnet", "dynamic_batch", "dynamic_batch_sweep", "mixed_types", "external_weights"],
            suite.Elements("testcase").Select(t => t.Attribute("name")!.Value));
        Assert.All(suite.Elements("testcase"), t => Assert.Empty(t.Elements("failure")));

        var md = File.ReadAllText(dir.File("r.md"));
        Assert.Contains("## PolyNet suite `example`: ✅ PASSED", md);
        Assert.Contains("| convnet | passed | onnxrt, onnxrt:opt=disable |", md);

        using var json = JsonDocument.Parse(File.ReadAllBytes(dir.File("r.json")));
        Assert.True(json.RootElement.GetProperty("passed").GetBoolean());
        var mlp = json.RootElement.GetProperty("cases")[0];
        // 3 samples x (2 runners vs golden + 1 runner vs runner)
        Assert.Equal(9, mlp.GetProperty("comparisons").GetArrayLength());
        Assert.Equal("golden", mlp.GetProperty("comparisons")[0].GetProperty("reference").GetString());
        var sweep = json.RootElement.GetProperty("cases")[4];
        Assert.Equal(3, sweep.GetProperty("shape_sets").GetArrayLength());  // the example's shape sweep, one result per set

        var html = File.ReadAllText(dir.File("r.html"));
        foreach (var name in new[] { "mlp", "convnet", "external_weights" })
            Assert.Contains($"<h2 class=\"section\">{name} <span class=\"pass\">PASSED</span></h2>", html);
    }

    [Fact]
    public void A_changed_golden_value_fails_with_exit_1_and_a_junit_failure_naming_the_output()
    {
        using var dir = new TempDir();
        var suite = WriteSuite(dir, MlpSuite);
        var update = Run("suite", "run", suite, "--update-golden");
        Assert.True(update.Code == 0, update.Out + update.Err);
        Assert.Contains("mlp: PASSED", update.Out);
        Assert.Contains("golden outputs created", update.Out);

        var golden = Npz.Read(dir.File("golden/mlp.npz"));
        var probs = golden.Tensor("1/probs");
        probs.Span<float>()[3] += 0.01f;
        Npz.Write(dir.File("golden/mlp.npz"), golden);

        var r = Run(["suite", "run", suite, .. Reports(dir, "r")]);
        Assert.True(r.Code == 1, r.Out + r.Err);
        Assert.Contains("mlp: FAILED", r.Out);
        Assert.Contains("conv: PASSED", r.Out);
        var cases = XDocument.Load(dir.File("r.xml")).Root!.Element("testsuite")!.Elements("testcase").ToList();
        var failure = Assert.Single(cases.Single(c => c.Attribute("name")!.Value == "mlp").Elements("failure"));
        var message = failure.Attribute("message")!.Value;
        Assert.StartsWith("probs: ", message);
        Assert.Contains("max abs error 0.01", message);      // by how much
        Assert.Contains("at [0, 3]", message);               // where
        Assert.Contains("(onnxrt vs golden, sample 1)", message); // which comparison
        Assert.DoesNotContain("logits", message);            // only the output that differs
        Assert.Empty(cases.Single(c => c.Attribute("name")!.Value == "conv").Elements("failure"));
        Assert.Equal("1", XDocument.Load(dir.File("r.xml")).Root!.Attribute("failures")!.Value);
        Assert.Contains("- **mlp** (failed): probs: ", File.ReadAllText(dir.File("r.md")));
    }

    [Fact]
    public void Two_runs_give_identical_files_apart_from_times_and_update_golden_rewrites_nothing()
    {
        using var dir = new TempDir();
        var suite = WriteSuite(dir, MlpSuite);
        Assert.Equal(0, Run("suite", "run", suite, "--update-golden").Code);
        var hashes = Directory.GetFiles(dir.File("golden")).ToDictionary(f => f, f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));
        var times = Directory.GetFiles(dir.File("golden")).ToDictionary(f => f, File.GetLastWriteTimeUtc);

        var again = Run("suite", "run", suite, "--update-golden");
        Assert.Contains("golden outputs unchanged", again.Out);
        foreach (var (f, h) in hashes)
        {
            Assert.Equal(h, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));
            Assert.Equal(times[f], File.GetLastWriteTimeUtc(f));
        }

        Assert.Equal(0, Run(["suite", "run", suite, "--jobs", "1", .. Reports(dir, "a")]).Code);
        Assert.Equal(0, Run(["suite", "run", suite, "--jobs", "2", .. Reports(dir, "b")]).Code);
        foreach (var ext in new[] { "xml", "md", "html", "json" })
            Assert.Equal(WithoutTimes(File.ReadAllText(dir.File("a." + ext))), WithoutTimes(File.ReadAllText(dir.File("b." + ext))));
    }

    /// <summary>Removes durations: JUnit time attributes, JSON duration_ms, Markdown "0.123 s".</summary>
    private static string WithoutTimes(string s)
        => Regex.Replace(s, @"time=""[0-9.]+""|""duration_ms"": [0-9.]+|\b[0-9]+\.[0-9]{3} s\b", "TIME");

    [Fact]
    public void A_plain_run_without_golden_files_fails_and_says_how_to_create_them()
    {
        using var dir = new TempDir();
        var suite = WriteSuite(dir, MlpSuite);
        var r = Run("suite", "run", suite, "--case", "conv");
        Assert.Equal(2, r.Code);
        var line = Assert.Single(r.ErrLines);
        Assert.Equal($"polynet: error: {suite}:9: case 'conv': golden file {Path.GetRelativePath(Environment.CurrentDirectory, dir.File("golden/conv.npz"))} does not exist; create it with: polynet suite run {suite} --update-golden --case conv", line);
        Assert.False(Directory.Exists(dir.File("golden")));  // a plain run never writes golden files
    }

    [Theory]
    [InlineData("cases:\n  - name: a\n    model: MODELS/mlp.onnx\n    toleranses: {atol: 1}\n", "t.suite.yaml:4", "unknown key 'toleranses'; did you mean 'tolerances'?")]
    [InlineData("cases:\n  - name: a\n    model: MODELS/mlp.onnx\n    tolerances: {atoll: 1}\n", "t.suite.yaml:4", "unknown key 'atoll'; did you mean 'atol'?")]
    [InlineData("cases:\n  - name: a\n    model: [oops\n", "t.suite.yaml:4", "")]
    [InlineData("cases:\n  - name: a\n    model: MODELS/nope.onnx\n", "t.suite.yaml:2", "case 'a': model")]
    [InlineData("cases:\n  - name: a\n    model: MODELS/mlp.onnx\n  - name: a\n    model: MODELS/mlp.onnx\n", "t.suite.yaml:4", "case 'a': the name is used by an earlier case")]
    [InlineData("cases:\n  - name: a\n    model: MODELS/mlp.onnx\n    runners: [onnxrt, \"cuda:tf33=0\"]\n", "t.suite.yaml:2", "unknown key 'tf33' for cuda")]
    [InlineData("cases:\n  - name: a\n    model: MODELS/mlp.onnx\n    tolerances: {atol: -1}\n", "t.suite.yaml:2", "case 'a':")]
    [InlineData("cases:\n  - name: a\n    model: MODELS/mlp.onnx\n    inputs: {samples: two}\n", "t.suite.yaml:2", "inputs.samples 'two' must be a whole number of at least 1")]
    [InlineData("name: x\n", "t.suite.yaml", "has no cases")]
    public void A_bad_suite_is_one_line_naming_file_and_line_with_exit_2(string yaml, string where, string what)
    {
        using var dir = new TempDir();
        var suite = WriteSuite(dir, yaml);
        var r = Run("suite", "run", suite);
        AssertOneLineError(r, 2, where, what);
    }

    // ---- interruption: the suite runs in a child process that the test kills --------------------------------------

    /// <summary>A model whose output is large (64 Mi floats), so writing its golden file takes long enough to interrupt.</summary>
    private static string BigModel(TempDir dir)
    {
        var b = new ModelBuilder("big", opset: 17);
        var x = b.Input("x", ElementType.Float, 1024);
        var reps = b.Initializer([65536L], 1);
        b.Node("Tile", [x, reps], output: "y");
        b.Output("y", ElementType.Float, 1024 * 65536);
        var path = dir.File("big.onnx");
        b.BuildModel().Save(path);
        return path;
    }

    private static string BigSuite(TempDir dir, int seed) => WriteSuite(dir, $"""
        cases:
          - name: big
            model: {BigModel(dir)}
            runners: [onnxrt]
            inputs:
              seed: {seed}
          - name: small
            model: MODELS/mlp.onnx
            runners: [onnxrt]
            inputs:
              seed: {seed}
        """);

    private static Process StartPolynet(params string[] args)
    {
        var exe = Path.Combine(AppContext.BaseDirectory, "polynet");
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    /// <summary>Waits until the golden file of <paramref name="golden"/> is being written (its temporary exists).</summary>
    private static void WaitForTemporary(string golden, Process p)
    {
        var watch = Stopwatch.StartNew();
        while (Directory.GetFiles(Path.GetDirectoryName(golden)!, Path.GetFileName(golden) + ".tmp-*").Length == 0)
        {
            if (p.HasExited) Assert.Fail($"polynet finished (exit {p.ExitCode}) before the golden file was being written: {p.StandardOutput.ReadToEnd()} {p.StandardError.ReadToEnd()}");
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(120), "the golden file was never written");
            Thread.Sleep(1);
        }
    }

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    [Fact]
    public void Killing_update_golden_mid_write_leaves_the_old_golden_files_intact()
    {
        using var dir = new TempDir();
        var first = StartPolynet("suite", "run", BigSuite(dir, 1), "--update-golden", "--jobs", "1");
        first.WaitForExit();
        Assert.True(first.ExitCode == 0, first.StandardOutput.ReadToEnd() + first.StandardError.ReadToEnd());
        var big = dir.File("golden/big.npz");
        var small = dir.File("golden/small.npz");
        var (bigHash, smallHash) = (Hash(big), Hash(small));

        // New inputs make new outputs; kill -9 while the new big golden file is half written.
        using var p = StartPolynet("suite", "run", BigSuite(dir, 2), "--update-golden", "--jobs", "1");
        WaitForTemporary(big, p);
        p.Kill();
        p.WaitForExit();
        Assert.Equal(bigHash, Hash(big));
        Assert.Equal(smallHash, Hash(small));

        // The old golden files still pass with the old inputs, and the stale temporary is cleaned away.
        var r = Run("suite", "run", BigSuite(dir, 1));
        Assert.True(r.Code == 0, r.Out + r.Err);
        Assert.Empty(Directory.GetFiles(dir.File("golden"), "*.tmp-*"));
    }

    [Fact]
    public void Ctrl_c_during_update_golden_finishes_the_case_under_way_and_keeps_the_rest_untouched()
    {
        using var dir = new TempDir();
        var first = StartPolynet("suite", "run", BigSuite(dir, 1), "--update-golden", "--jobs", "1");
        first.WaitForExit();
        Assert.Equal(0, first.ExitCode);
        var big = dir.File("golden/big.npz");
        var small = dir.File("golden/small.npz");
        var (bigHash, smallHash) = (Hash(big), Hash(small));

        using var p = StartPolynet("suite", "run", BigSuite(dir, 2), "--update-golden", "--jobs", "1", "--junit", dir.File("j.xml"));
        WaitForTemporary(big, p);
        using (var kill = Process.Start("kill", ["-INT", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) kill.WaitForExit();
        p.WaitForExit();
        var err = p.StandardError.ReadToEnd();
        Assert.True(p.ExitCode == 130, $"exit {p.ExitCode}: {err}");
        Assert.Contains("polynet: interrupted after 1 of 2 case(s)", err);
        Assert.NotEqual(bigHash, Hash(big));                 // the case under way finished its (complete) golden file
        Assert.Equal(1024L * 65536, Npz.Read(big).Tensor("y").ElementCount);
        Assert.Equal(smallHash, Hash(small));                // the case not started is untouched
        var junit = XDocument.Load(dir.File("j.xml"));       // and the report of what finished was written
        Assert.Equal(["big"], junit.Root!.Element("testsuite")!.Elements("testcase").Select(t => t.Attribute("name")!.Value));
    }
}
