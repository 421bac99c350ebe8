using System.CommandLine;
using PolyNet.Runners.Native;
using System.Globalization;
using System.Text;
using PolyNet.Compare;
using PolyNet.Onnx.Data;
using PolyNet.Onnx;
using PolyNet.Onnx.Proto;
using PolyNet.Runners.Inspect;

namespace PolyNet.Cli.Commands;

/// <summary>`polynet inspect data FILE` and `polynet inspect model MODEL`.</summary>
internal static class InspectCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var cmd = new Command("inspect", "Describe a data file or a model.");

        var file = new Argument<string>("file") { Description = "A data file (.npz, .npy, .pb, Polygraphy .json) or backend test folder" };
        var values = new Option<int>("--values") { Description = "Print up to N values of each array (default 0)", DefaultValueFactory = _ => 0, HelpName = "N" };
        var data = new Command("data", "Arrays, shapes, dtypes, exact statistics, a histogram, and values on request.");
        data.Arguments.Add(file);
        data.Options.Add(values);
        data.SetAction(p => Data(p.GetValue(file)!, p.GetValue(values), output));

        var model = new Argument<string>("model") { Description = "The ONNX model" };
        var layers = new Option<bool>("--layers") { Description = "List every node with its inputs and outputs" };
        var attributes = new Option<bool>("--attributes") { Description = "With --layers: also each node's attributes" };
        var noOrt = new Option<bool>("--no-ort-check") { Description = "Do not ask ONNX Runtime which nodes its CPU provider cannot run" };
        var m = new Command("model", "Inputs and outputs, opsets, node counts by op type, initializers, external data, and the nodes ONNX Runtime's CPU provider cannot run.");
        m.Arguments.Add(model);
        m.Options.Add(layers);
        m.Options.Add(attributes);
        m.Options.Add(noOrt);
        m.SetAction(p => Model(p.GetValue(model)!, p.GetValue(layers), p.GetValue(attributes), !p.GetValue(noOrt), GlobalOptions.OrtLibrary(p), output, error));

        cmd.Subcommands.Add(data);
        cmd.Subcommands.Add(m);
        cmd.Subcommands.Add(CapabilityCommand.Create(output, error));
        return cmd;
    }

    public static int Data(string path, int values, TextWriter o)
    {
        if (values < 0) throw new InvalidInputException($"--values {values}: must be at least 0");
        var runs = DataFiles.LoadRuns(path);
        foreach (var run in runs)
            for (int s = 0; s < run.Samples.Count; s++)
            {
                o.WriteLine($"[I] {run.Label}{(run.Samples.Count > 1 ? $", sample {s}" : "")}: {run.Samples[s].Count} value(s)");
                foreach (var (name, v) in run.Samples[s])
                {
                    switch (v)
                    {
                        case TensorData t: Tensor(o, name, t, values); break;
                        case SequenceData q:
                            o.WriteLine($"  {name}: sequence of {q.Items.Count} {q.ElementType.DisplayName()}");
                            for (int i = 0; i < q.Items.Count; i++) Tensor(o, $"{name}[{i}]", q.Items[i], values);
                            break;
                        case OptionalData opt:
                            o.WriteLine($"  {name}: {opt.Describe()}");
                            if (opt.Value is TensorData inner) Tensor(o, name, inner, values);
                            break;
                    }
                }
            }
        return ExitCodes.Success;
    }

    private static void Tensor(TextWriter o, string name, TensorData t, int values)
    {
        o.WriteLine($"  {name}: {t.ElementType.DisplayName()} {t.Shape} ({t.ElementCount} elements)");
        if (t.ElementCount > 0 && t.ElementType != ElementType.String && t.ElementType.IsSupported())
        {
            var d = TensorStatistics.Describe(t);
            var v = d.Values;
            o.WriteLine($"    min {F(v.Min)}, max {F(v.Max)}, mean {F(v.Mean)}, std {F(v.Std)}, median {F(v.Median)}, p90 {F(v.P90)}, p95 {F(v.P95)}, p99 {F(v.P99)}");
            if (d.NaN + d.Infinite > 0) o.WriteLine($"    non-finite: {d.NaN} NaN, {d.Infinite} infinite");
            if (d.Histogram is { } h && h.Bins.Count > 1)
            {
                long max = h.Bins.Max(b => b.Count);
                foreach (var b in h.Bins)
                    o.WriteLine($"      {b.Label,-26} {b.Count,12}  {new string('#', (int)Math.Round(30.0 * b.Count / Math.Max(1, max)))}");
            }
        }
        if (values > 0)
        {
            var sb = new StringBuilder("    values: ");
            long n = Math.Min(values, t.ElementCount);
            for (long i = 0; i < n; i++) sb.Append(i == 0 ? "" : ", ").Append(t.FormatElement(i));
            if (n < t.ElementCount) sb.Append($", ... ({t.ElementCount - n} more)");
            o.WriteLine(sb.ToString());
        }
    }

    public static int Model(string path, bool layers, bool attributes, bool ortCheck, string? ortLibrary, TextWriter o, TextWriter e)
    {
        OnnxModel model;
        string? broken = null;
        try
        {
            model = OnnxModel.Load(path);
        }
        catch (InvalidInputException bad)
        {
            // A graph whose side files are missing or broken is still described, and the problem said before and
            // after (exit 2: the model cannot be run as it is); any other problem with the file is the error it is.
            try { model = OnnxModel.Load(path, ExternalDataMode.Unchecked); }
            catch (InvalidInputException) { throw bad; }
            broken = bad.Message;
            e.WriteLine($"[W] {broken}: the graph is described below; its external weights were not read{(ortCheck ? " and ONNX Runtime's check is skipped" : "")}");
            ortCheck = false;
        }
        var p = model.Proto;
        o.WriteLine($"[I] {path}: ONNX IR version {p.IrVersion}, producer {(string.IsNullOrEmpty(p.ProducerName) ? "(none)" : $"{p.ProducerName} {p.ProducerVersion}")}, graph '{p.Graph.Name}'");
        o.WriteLine($"    opsets: {string.Join(", ", p.OpsetImport.Select(x => $"{(string.IsNullOrEmpty(x.Domain) ? "ai.onnx" : x.Domain)} {x.Version}"))}");
        o.WriteLine("    inputs:");
        foreach (var i in model.Inputs) o.WriteLine($"      {i}");
        o.WriteLine("    outputs:");
        foreach (var i in model.Outputs) o.WriteLine($"      {i}");
        var g = p.Graph;
        var summary = ModelSummary.Of(model);
        static string Ops(IReadOnlyList<(string OpType, int Count)> ops) => string.Join(", ", ops.Select(x => $"{x.OpType} {x.Count}"));
        o.WriteLine($"    nodes: {summary.Nodes} ({Ops(summary.OpTypes)})");
        if (summary.Bodies > 0)
            o.WriteLine($"    inside {summary.Bodies} bod{(summary.Bodies == 1 ? "y" : "ies")} (If branches, Loop and Scan bodies): {summary.BodyNodes} more node(s) ({Ops(summary.BodyOpTypes)}), {summary.Nodes + summary.BodyNodes} in all");
        long Sum(IEnumerable<InitializerSize> x) => x.Sum(i => i.Bytes);
        o.WriteLine($"    initializers: {summary.Initializers.Count}, {Size(summary.InlineBytes + summary.ExternalBytes)} ({Size(summary.InlineBytes)} in the model, {Size(summary.ExternalBytes)} external)"
            + (summary.BodyInitializers.Count > 0 ? $"; {summary.BodyInitializers.Count} more inside bodies, {Size(Sum(summary.BodyInitializers))}" : ""));
        if (summary.ConstantWeights.Count > 0)
            o.WriteLine($"    weights in Constant nodes: {summary.ConstantWeights.Count}, {Size(Sum(summary.ConstantWeights))} (emulation and inspection treat them as weights)");
        foreach (var i in summary.Initializers.Concat(summary.BodyInitializers).Concat(summary.ConstantWeights).OrderByDescending(x => x.Bytes).Take(5))
            o.WriteLine($"      {i.Name}: {Size(i.Bytes)}{(i.External ? " (external)" : "")}");
        if (summary.ExternalFiles.Count > 0) o.WriteLine($"    external data files: {string.Join(", ", summary.ExternalFiles)}");
        if (layers)
        {
            o.WriteLine("    layers:");
            for (int n = 0; n < g.Node.Count; n++)
            {
                var node = g.Node[n];
                o.WriteLine($"      #{n} {(string.IsNullOrEmpty(node.Name) ? "(unnamed)" : node.Name)} {node.OpType}({string.Join(", ", node.Input)}) -> {string.Join(", ", node.Output)}");
                if (attributes)
                    foreach (var a in node.Attribute) o.WriteLine($"          {a.Name} = {Attr(a)}");
            }
        }
        if (ortCheck)
        {
            OrtRuntime.Initialize(ortLibrary);
            var r = OrtSupport.Check(model);
            if (r.Unsupported.Count == 0 && r.OtherError is null)
                o.WriteLine("    ONNX Runtime's CPU provider can run every node");
            foreach (var u in r.Unsupported)
                o.WriteLine($"    ONNX Runtime's CPU provider cannot run node #{u.Index} {(string.IsNullOrEmpty(u.Name) ? "(unnamed)" : $"'{u.Name}'")} ({u.OpType}){(u.Downstream > 0 ? $"; {u.Downstream} node(s) after it were not checked" : "")}: {u.Reason}");
            if (r.OtherError is { } err) o.WriteLine($"    ONNX Runtime cannot load the model: {err}");
        }
        if (broken is null) return ExitCodes.Success;
        e.WriteLine($"polynet: error: {ErrorText.OneLine(broken)}");
        return ExitCodes.BadInput;
    }

    private static string Attr(AttributeProto a) => a.Type switch
    {
        AttributeProto.Types.AttributeType.Float => a.F.ToString("R", CultureInfo.InvariantCulture),
        AttributeProto.Types.AttributeType.Int => a.I.ToString(CultureInfo.InvariantCulture),
        AttributeProto.Types.AttributeType.String => $"\"{a.S.ToStringUtf8()}\"",
        AttributeProto.Types.AttributeType.Ints => "[" + string.Join(", ", a.Ints) + "]",
        AttributeProto.Types.AttributeType.Floats => "[" + string.Join(", ", a.Floats.Select(f => f.ToString("R", CultureInfo.InvariantCulture))) + "]",
        AttributeProto.Types.AttributeType.Strings => "[" + string.Join(", ", a.Strings.Select(x => $"\"{x.ToStringUtf8()}\"")) + "]",
        // A type that says tensor or graph with no such field set (a damaged or hand-made model) is shown as missing.
        AttributeProto.Types.AttributeType.Tensor => a.T is { } t ? $"tensor {(ElementType)t.DataType} [{string.Join(", ", t.Dims)}]" : "tensor (missing)",
        AttributeProto.Types.AttributeType.Graph => a.G is { } g ? $"graph '{g.Name}' ({g.Node.Count} nodes)" : "graph (missing)",
        AttributeProto.Types.AttributeType.Graphs => $"{a.Graphs.Count} graphs",
        _ => a.Type.ToString(),
    };

    private static string Size(long bytes) => Format.Bytes(bytes);

    private static string F(double v) => Format.Number(v);
}
