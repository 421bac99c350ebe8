using System.Globalization;
using PolyNet.Onnx.Data;
using PolyNet.Onnx.Transforms;
using PolyNet.Reduce.Steps;

namespace PolyNet.Reduce;

/// <summary>
/// Runs one check on a set of nodes: cuts the subgraph out (<see cref="Subgraph.OfNodes"/>), feeds its inputs the
/// reference's values, and applies the condition through <see cref="Steps"/> (in this process, or in a worker when
/// isolated) or, for an external check, through the user's command.
/// </summary>
public sealed class Checker(ReduceOptions o, IReadOnlyDictionary<string, ValueSpec> types, ReferenceValues values, IStepRunner steps)
{
    private readonly GraphView _view = new(o.Model.Graph);

    /// <summary>Where accuracy and build checks run; the reducer switches to isolated steps after a crash.</summary>
    public IStepRunner Steps { get; set; } = steps;

    public Subject Prepare(IReadOnlyList<int> nodes)
    {
        // The whole graph is the model itself, not a copy re-typed from inference (which may know less than the model).
        var graph = nodes.Count == o.Model.Graph.Node.Count
            ? new Extracted(o.Model, o.Model.Inputs.Select(i => i.Name).ToList(), o.Model.Outputs.Select(x => x.Name).ToList(), nodes)
            : Subgraph.OfNodes(o.Model, nodes, types, _view);
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

    private Outcome Dispatch(Subject subject, string workDir)
        => o.Condition == Condition.External ? External(subject, workDir) : Steps.Check(o.Condition, subject, o.Candidate!);

    private Outcome External(Subject s, string workDir)
    {
        Directory.CreateDirectory(workDir);
        var model = Path.Combine(workDir, "check.onnx");
        var inputs = Path.Combine(workDir, "check_inputs.npz");
        s.Graph.Model.Save(model);
        DataFiles.Save(inputs, s.Inputs, DataRole.Inputs);
        var command = o.Check!.Command;
        bool placeholders = command.Contains("{model}", StringComparison.Ordinal) || command.Contains("{inputs}", StringComparison.Ordinal);
        command = placeholders ? command.Replace("{model}", Quote(model), StringComparison.Ordinal).Replace("{inputs}", Quote(inputs), StringComparison.Ordinal) : $"{command} {Quote(model)}";
        var r = ChildProcess.Run(["/bin/sh", "-c", command], null, o.Check.Timeout);
        if (r.TimedOut) return new Outcome(true, $"timed out after {o.Check.Timeout.TotalSeconds:0} s");
        var text = r.Output + r.Error;
        bool codeFails = o.Check.FailCodes.Count == 0 ? r.Code != 0 : o.Check.FailCodes.Contains(r.Code);
        var match = o.Check.FailRegex.Select(x => x.Match(text)).FirstOrDefault(m => m.Success);
        bool fails = codeFails && (o.Check.FailRegex.Count == 0 || match is not null);
        var cause = $"exit {r.Code}{(match is not null ? $", output matches '{OneLine(match.Value)}'" : o.Check.FailRegex.Count > 0 ? ", output matches no --fail-regex" : "")}";
        return new Outcome(fails, cause);
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    internal static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();

    internal static string Ms(TimeSpan t) => t.TotalMilliseconds.ToString("0.#", CultureInfo.InvariantCulture);
}
