using System.Diagnostics;
using System.Globalization;
using System.Text;
using PolyNet.Compare;
using PolyNet.Jobs;
using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using PolyNet.Onnx.Transforms;
using PolyNet.Runners;
using PolyNet.Runners.Ort;

namespace PolyNet.Reduce;

/// <summary>One check's verdict: does the subgraph still fail, and why (one line).</summary>
public sealed record Outcome(bool Fails, string Cause);

/// <summary>A subgraph ready to check: the model, its inputs per sample, and the reference's values of its outputs.</summary>
public sealed record Subject(Extracted Graph, IReadOnlyList<ValueMap> Inputs, IReadOnlyList<ValueMap>? ExpectedOutputs);

/// <summary>
/// Runs one check on a set of nodes: cuts the subgraph out (<see cref="Subgraph.OfNodes"/>), feeds its inputs the
/// reference's values, and applies the condition, in this process or, when isolated, in a child `polynet run` whose
/// exit code gives the verdict (a child killed by a signal is a crash: the check fails, the reduction goes on).
/// </summary>
public sealed class Checker(ReduceOptions o, IReadOnlyDictionary<string, ValueSpec> types, ReferenceValues values)
{
    private readonly GraphView _view = new(o.Model.Graph);

    /// <summary>Switched on by the reducer after a crash, or from the start with --isolate.</summary>
    public bool Isolate { get; set; } = o.Isolate;

    public Subject Prepare(IReadOnlyList<int> nodes)
    {
        var graph = Subgraph.OfNodes(o.Model, nodes, types, _view);
        foreach (var i in graph.Inputs)
            if (!types.TryGetValue(i, out var t) || t.ElementType == ElementType.Undefined)
                throw new UnresolvedException($"the type of cut tensor '{i}' is unknown");
        var inputs = values.For(graph.Inputs);
        var expected = o.Condition == Condition.Accuracy ? values.For(graph.Outputs) : null;
        return new Subject(graph, inputs, expected);
    }

    public Outcome Run(IReadOnlyList<int> nodes, string workDir)
    {
        Subject subject;
        try { subject = Prepare(nodes); }
        catch (UnresolvedException e) { return new Outcome(false, $"cannot be checked: {e.Message}"); }
        return Dispatch(subject, workDir);
    }

    /// <summary>The condition on a one-node Identity model, which nothing should fail: a check that fails it fails everything.</summary>
    public Outcome Control(string workDir)
    {
        var b = new ModelBuilder("polynet_control", opset: o.Model.OpsetVersion() ?? 17);
        b.Input("x", ElementType.Float, 1);
        b.Node("Identity", ["x"], name: "identity", output: "y");
        b.Output("y", ElementType.Float, 1);
        var feed = new ValueMap { { "x", TensorData.Create<float>([1], 1f) } };
        var subject = new Subject(new Extracted(b.BuildModel(), ["x"], ["y"], [0]), [feed], [new ValueMap { { "y", TensorData.Create<float>([1], 1f) } }]);
        return Dispatch(subject, workDir);
    }

    private Outcome Dispatch(Subject subject, string workDir) => o.Condition switch
    {
        Condition.External => External(subject, workDir),
        _ when Isolate => Child(subject, workDir),
        Condition.Accuracy => Accuracy(subject),
        _ => Build(subject),
    };

    private IRunner Candidate(Subject s) => o.CreateRunner(o.Candidate!, new RunnerContext { Model = s.Graph.Model });

    private Outcome Accuracy(Subject s)
    {
        try
        {
            using var c = Candidate(s);
            c.Activate();
            for (int k = 0; k < s.Inputs.Count; k++)
            {
                var outs = c.Infer(s.Inputs[k]);
                var pair = PairComparer.Compare(k, "reference", s.ExpectedOutputs![k], c.Name, outs, o.Tolerances, o.Compare with { Explain = Compare.ExplainMode.None }, onlyShared: true, candPrecision: c.Precision);
                if (pair.Outputs.FirstOrDefault(x => !x.Passed) is { } bad)
                    return new Outcome(true, $"{bad.Output}: {bad.Reason}{(bad.Metrics is { } m ? $", max abs {Compare.Format.Number(m.AbsError.Max)}" : "")}{(s.Inputs.Count > 1 ? $" (sample {k})" : "")}");
            }
            return new Outcome(false, "outputs within tolerance");
        }
        catch (RunnerException e)
        {
            return new Outcome(false, $"the candidate failed otherwise ({OneLine(e.Message)}): not the accuracy failure being reduced");
        }
    }

    private Outcome Build(Subject s)
    {
        try
        {
            using var c = Candidate(s);
            c.Activate();
            foreach (var feed in s.Inputs) c.Infer(feed);
            return new Outcome(false, "builds and runs");
        }
        catch (RunnerException e)
        {
            return new Outcome(true, OneLine(e.Message));
        }
    }

    private Outcome External(Subject s, string workDir)
    {
        var (model, inputs) = Write(s, workDir);
        var command = o.Check!.Command;
        bool placeholders = command.Contains("{model}", StringComparison.Ordinal) || command.Contains("{inputs}", StringComparison.Ordinal);
        command = placeholders ? command.Replace("{model}", Quote(model), StringComparison.Ordinal).Replace("{inputs}", Quote(inputs), StringComparison.Ordinal) : $"{command} {Quote(model)}";
        var (code, text, timedOut) = Exec(["/bin/sh", "-c", command], o.Check.Timeout);
        if (timedOut) return new Outcome(true, $"timed out after {o.Check.Timeout.TotalSeconds:0} s");
        bool codeFails = o.Check.FailCodes.Count == 0 ? code != 0 : o.Check.FailCodes.Contains(code);
        var match = o.Check.FailRegex.Select(r => r.Match(text)).FirstOrDefault(m => m.Success);
        bool fails = codeFails && (o.Check.FailRegex.Count == 0 || match is not null);
        var cause = $"exit {code}{(match is not null ? $", output matches '{OneLine(match.Value)}'" : o.Check.FailRegex.Count > 0 ? ", output matches no --fail-regex" : "")}";
        return new Outcome(fails, cause);
    }

    /// <summary>The check in a child `polynet run`: 0 passes, 1 (outputs differ) and 3 (runner failed) fail per the condition, a signal is a crash.</summary>
    private Outcome Child(Subject s, string workDir)
    {
        var (model, inputs) = Write(s, workDir);
        var args = new List<string>(o.PolynetCommand ?? DefaultPolynet());
        args.AddRange(["run", model, "--runner", o.Candidate!.Text, "--load-inputs", inputs, "--quiet"]);
        if (o.OrtLibrary is not null) args.AddRange(["--ort-library", o.OrtLibrary]);
        if (o.Condition == Condition.Accuracy)
        {
            var expected = Path.Combine(workDir, "expected.npz");
            DataFiles.Save(expected, s.ExpectedOutputs!, DataRole.Outputs);
            args.AddRange(["--load-outputs", expected]);
            args.AddRange(o.ToleranceArgs);
        }
        else args.AddRange(["--save-outputs", Path.Combine(workDir, "outputs.npz")]);
        var (code, text, timedOut) = Exec(args, TimeSpan.FromMinutes(30));
        var last = OneLine(text.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.Contains("error", StringComparison.OrdinalIgnoreCase) || l.Contains("FAILED", StringComparison.Ordinal)) ?? "");
        if (timedOut) return new Outcome(true, "the check's child process hung (30 min)");
        if (code >= 128 || code < 0) return new Outcome(true, $"the runner crashed (child process ended by signal {(code >= 128 ? code - 128 : -code)})");
        return (o.Condition, code) switch
        {
            (_, 0) => new Outcome(false, o.Condition == Condition.Accuracy ? "outputs within tolerance" : "builds and runs"),
            (Condition.Accuracy, 1) => new Outcome(true, last),
            (Condition.Build, 3) => new Outcome(true, last),
            (Condition.Accuracy, 3) => new Outcome(false, $"the candidate failed otherwise ({last}): not the accuracy failure being reduced"),
            _ => new Outcome(false, $"the check's child process exited {code}: {last}"),
        };
    }

    private static (string Model, string Inputs) Write(Subject s, string workDir)
    {
        Directory.CreateDirectory(workDir);
        var model = Path.Combine(workDir, "check.onnx");
        var inputs = Path.Combine(workDir, "check_inputs.npz");
        s.Graph.Model.Save(model);
        DataFiles.Save(inputs, s.Inputs, DataRole.Inputs);
        return (model, inputs);
    }

    private static IReadOnlyList<string> DefaultPolynet()
    {
        var dir = AppContext.BaseDirectory;
        var apphost = Path.Combine(dir, "polynet");
        return File.Exists(apphost) ? [apphost] : ["dotnet", Path.Combine(dir, "polynet.dll")];
    }

    /// <summary>Runs a process, capturing its output; kills it (and its children) after <paramref name="timeout"/>.</summary>
    private static (int Code, string Output, bool TimedOut) Exec(IReadOnlyList<string> argv, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(argv[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in argv.Skip(1)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {argv[0]}");
        var text = new StringBuilder();
        var gate = new Lock();
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (gate) text.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (gate) text.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            return (-1, text.ToString(), true);
        }
        p.WaitForExit();
        lock (gate) return (p.ExitCode, text.ToString(), false);
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    internal static string OneLine(string s)
    {
        var line = s.ReplaceLineEndings(" ").Trim();
        return line.Length > 300 ? line[..297] + "..." : line;
    }

    internal static string Ms(TimeSpan t) => t.TotalMilliseconds.ToString("0.#", CultureInfo.InvariantCulture);
}
