using System.Diagnostics;
using PolyNet.Onnx;
using PolyNet.Tests;
using Xunit;
using static PolyNet.Cli.Tests.CliHarness;

namespace PolyNet.Cli.Tests.Commands;

public class ReduceCommandTests
{
    [Fact]
    public void Fp16_divergence_reduces_to_the_exp_node()
    {
        using var dir = new TempDir();
        var r = Run("reduce", TestPaths.Model("exp_divergence.onnx"), "--runner", "onnxrt", "--runner", "onnxrt:precision=fp16", "--artifacts", dir.File("a"));
        Assert.True(r.Code == 0, r.Out + r.Err);
        Assert.Contains("[I] the reduced subgraph: 'exp' (Exp)", r.Out);
        Assert.Contains("reduced 10 node(s) to 1 with 2 check(s)", r.Out);
        Assert.Equal(["Exp"], OnnxModel.Load(dir.File("a/reduced.onnx")).Graph.Node.Select(n => n.OpType));
        // The reduced model is a model like any other: polynet run shows the divergence on its inputs.
        var again = Run("run", dir.File("a/reduced.onnx"), "--runner", "onnxrt", "--runner", "onnxrt:precision=fp16", "--load-inputs", dir.File("a/reduced_inputs.npz"));
        Assert.Equal(1, again.Code);
    }

    private static Process Start(params string[] args)
    {
        var psi = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "polynet")) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    private const string PairCheck = "sleep 0.2; if grep -q Softsign {model} && grep -q Sigmoid {model}; then exit 1; fi";

    [Fact]
    public void A_reduction_killed_with_sigkill_resumes_without_repeating_checks()
    {
        using var dir = new TempDir();
        Graphs.Chain(96, Graphs.Culprit.Pair).Save(dir.File("m.onnx"));
        var log = dir.File("a/checks.jsonl");
        using (var p = Start("reduce", dir.File("m.onnx"), "--check", PairCheck, "--artifacts", dir.File("a")))
        {
            var watch = Stopwatch.StartNew();
            while (!File.Exists(log) || File.ReadAllLines(log).Count(l => l.Contains("\"event\":\"result\"")) < 5)
            {
                if (p.HasExited) Assert.Fail($"polynet reduce ended (exit {p.ExitCode}) before it could be killed: {p.StandardError.ReadToEnd()}");
                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(120), "no checks were logged");
                Thread.Sleep(20);
            }
            p.Kill();
            p.WaitForExit();
        }
        int done = File.ReadAllLines(log).Count(l => l.Contains("\"event\":\"result\""));
        var r = Run("reduce", dir.File("m.onnx"), "--check", PairCheck, "--artifacts", dir.File("a"));
        Assert.True(r.Code == 0, r.Out + r.Err);
        Assert.True(r.Out.Contains("[I] the reduced subgraph: 'pair_a' (Softsign), 'pair_b' (Sigmoid)", StringComparison.Ordinal), r.Out);
        Assert.Matches(@"resuming: \d+ check\(s\) already decided", r.Out);
        Assert.Contains("more taken from an earlier run", r.Out);
        var keys = File.ReadAllLines(log).Where(l => l.Contains("\"event\":\"result\"")).Select(l => l.Split("\"nodes\":\"")[1].Split('"')[0]).ToList();
        Assert.Equal(keys.Count, keys.Distinct().Count());
        Assert.True(keys.Count > done);
    }

    [Theory]
    [InlineData(4)] // killed (kill -9) during the fifth check
    [InlineData(0)] // killed during the very first check: nothing was decided
    public void A_reduction_killed_mid_check_resumes_in_process_and_says_truthfully_what_it_reused(int decided)
    {
        using var dir = new TempDir();
        Graphs.Chain(64, Graphs.Culprit.Exp).Save(dir.File("m.onnx"));
        string[] Args(string artifacts) => ["reduce", dir.File("m.onnx"), "--runner", "onnxrt", "--runner", "onnxrt:precision=fp16", "--mode", "bisect", "--artifacts", artifacts];
        var first = Run(Args(dir.File("full")));
        Assert.True(first.Code == 0, first.Out + first.Err);
        var lines = File.ReadAllLines(dir.File("full/checks.jsonl"));
        // What a kill -9 during check decided + 1 leaves: the header, the decided checks, and a start with no result.
        var kept = new List<string> { lines[0] };
        int results = 0;
        foreach (var l in lines.Skip(1))
        {
            if (l.Contains("\"event\":\"result\"")) { if (results == decided) break; results++; kept.Add(l); }
            else if (l.Contains("\"event\":\"start\"")) kept.Add(l);
        }
        Assert.Contains("\"event\":\"start\"", kept[^1]);
        Directory.CreateDirectory(dir.File("killed"));
        File.WriteAllLines(dir.File("killed/checks.jsonl"), kept);

        var r = Run(Args(dir.File("killed")));
        Assert.True(r.Code == 0, r.Out + r.Err);
        string Subgraph(string output) => output.Split('\n').Single(l => l.StartsWith("[I] the reduced subgraph:", StringComparison.Ordinal));
        Assert.Equal(Subgraph(first.Out), Subgraph(r.Out));
        // Only the check it died in runs in a worker (to tell a native crash from a kill); the rest run here, as in an
        // uninterrupted run, and the summary claims no more reused checks than were decided.
        var workers = int.Parse(System.Text.RegularExpressions.Regex.Match(r.Out, @"; (\d+) step\(s\) in worker processes").Groups[1].Value);
        Assert.InRange(workers, 1, 3);
        var reused = System.Text.RegularExpressions.Regex.Match(r.Out, @"\((\d+) more taken from an earlier run\)");
        if (decided == 0) Assert.False(reused.Success, r.Out);
        else Assert.InRange(int.Parse(reused.Groups[1].Value), 1, decided);
    }

    [Fact]
    public void Isolated_checks_run_in_a_child_process_with_the_same_verdicts()
    {
        using var dir = new TempDir();
        Graphs.Chain(40, Graphs.Culprit.Unbuildable, at: 0.3).Save(dir.File("m.onnx"));
        var r = Run("reduce", dir.File("m.onnx"), "--runner", "onnxrt", "--fails-to-build", "--isolate", "--artifacts", dir.File("a"));
        Assert.True(r.Code == 0, r.Out + r.Err);
        Assert.Contains("[I] the reduced subgraph: 'culprit_fail' (Fail)", r.Out);
        var log = File.ReadAllText(dir.File("a/checks.jsonl"));
        Assert.Contains("polynet.test:Fail", log);
        // Types, reference values and every check ran in workers: at least one per check.
        var checks = System.Text.RegularExpressions.Regex.Matches(log, "\"event\":\"result\"").Count;
        var workers = int.Parse(System.Text.RegularExpressions.Regex.Match(r.Out, @"; (\d+) step\(s\) in worker processes").Groups[1].Value);
        Assert.True(workers >= checks + 2, $"{workers} worker(s) for {checks} check(s)");
    }

    [Theory]
    [InlineData(new[] { "--check", "true" }, "nothing to reduce: the whole model does not fail (exit 0)")]
    [InlineData(new[] { "--check", "exit 1" }, "the check fails even on a one-node Identity model (exit 1)")]
    [InlineData(new[] { "--runner", "onnxrt" }, "an accuracy reduction needs two runners")]
    [InlineData(new[] { "--runner", "onnxrt", "--runner", "onnxrt:opt=disable", "--mode", "fast" }, "--mode fast: expected auto, ddmin, bisect or linear")]
    [InlineData(new[] { "--check", "true", "--fails-to-build" }, "--fails-to-build and --check are two different failures")]
    [InlineData(new[] { "--fail-regex", "x", "--runner", "onnxrt", "--fails-to-build" }, "--fail-code and --fail-regex apply to --check")]
    public void Bad_reductions_are_one_line_errors_with_exit_2(string[] args, string message)
    {
        using var dir = new TempDir();
        var r = Run(["reduce", TestPaths.Model("mlp.onnx"), "--artifacts", dir.File("a"), .. args]);
        AssertOneLineError(r, 2, message);
    }

    [Fact]
    public void A_graph_with_a_cycle_is_refused()
    {
        using var dir = new TempDir();
        var b = new ModelBuilder("cycle", opset: 17);
        b.Input("x", ElementType.Float, 1);
        b.Node("Add", ["x", "b_out"], name: "a", output: "a_out");
        b.Node("Relu", ["a_out"], name: "b", output: "b_out");
        b.Output("b_out", ElementType.Float, 1);
        b.BuildModel().Save(dir.File("cycle.onnx"));
        var r = Run("reduce", dir.File("cycle.onnx"), "--check", "true", "--artifacts", dir.File("a"));
        AssertOneLineError(r, 2, "has a cycle");
    }
}
