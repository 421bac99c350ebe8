using System.CommandLine;
using PolyNet.Onnx;
using PolyNet.Reports;
using PolyNet.Reports.Capability;
using PolyNet.Runners;
using PolyNet.Runners.Inspect;
using PolyNet.Runners.Inspect.TensorRt;
using PolyNet.Runners.Native;

namespace PolyNet.Cli.Commands;

/// <summary>`polynet inspect capability MODEL`: which nodes TensorRT's ONNX parser takes, and where the graph splits.</summary>
internal static class CapabilityCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var model = new Argument<string>("model") { Description = "The ONNX model" };
        var version = TrtVersionOption();
        var noCheck = new Option<bool>("--no-trt-check") { Description = "Do not check the static answer against TensorRT even where it is installed" };
        var reports = new ReportOptions<CapabilityReport>(ReportFormats.Capability);
        var cmd = new Command("capability", "Which nodes TensorRT would take, from its ONNX parser's published support table (no TensorRT needed), "
            + "and the graph cut into engines and ONNX Runtime fallback, with every unsupported node and why.");
        cmd.Arguments.Add(model);
        cmd.Options.Add(version);
        cmd.Options.Add(noCheck);
        reports.AddTo(cmd);
        cmd.SetAction(p => Execute(p.GetValue(model)!, p.GetValue(version), !p.GetValue(noCheck), reports.Read(p), GlobalOptions.OrtLibrary(p), GlobalOptions.Verbose(p), output, error));
        return cmd;
    }

    public static Option<string?> TrtVersionOption() => new("--trt-version")
    {
        Description = $"The TensorRT version whose support table applies: {string.Join(", ", TrtSupportMatrix.Versions)} (default {TrtSupportMatrix.Newest})",
        HelpName = "VERSION",
    };

    /// <summary>The static answer for <paramref name="model"/>, with the tensor types ONNX Runtime infers (declared ones where it cannot build the model).</summary>
    public static TrtCapabilityResult Analyze(OnnxModel model, string? version, TextWriter error)
    {
        var matrix = TrtSupportMatrix.For(version);
        IReadOnlyDictionary<string, ValueSpec> types;
        try
        {
            types = ModelWalker.GraphAndSubgraphs(model.Graph).Skip(1).Any() ? OrtTypes.InferAll(model) : OrtTypes.Infer(model);
        }
        catch (RunnerException e)
        {
            error.WriteLine($"[W] ONNX Runtime cannot build the model to infer its tensor types ({e.Message}); types are checked only where the model declares them");
            types = Declared(model);
        }
        return TrtCapability.Analyze(model, matrix, types);
    }

    private static Dictionary<string, ValueSpec> Declared(OnnxModel model)
    {
        var types = new Dictionary<string, ValueSpec>(StringComparer.Ordinal);
        foreach (var g in ModelWalker.GraphAndSubgraphs(model.Graph))
        {
            foreach (var vi in g.Input.Concat(g.Output).Concat(g.ValueInfo))
                if (ValueSpec.FromValueInfo(vi) is { } s) types.TryAdd(vi.Name, s);
            foreach (var t in g.Initializer)
                types.TryAdd(t.Name, new ValueSpec(t.Name, ValueKind.Tensor, (ElementType)t.DataType, new SymbolicShape(t.Dims.Select(SymbolicDim.Fixed).ToList())));
        }
        return types;
    }

    public static int Execute(string path, string? version, bool realCheck, IReadOnlyList<ReportRequest<CapabilityReport>> reports, string? ortLibrary, bool verbose, TextWriter o, TextWriter e)
    {
        TrtSupportMatrix.For(version);
        Onnx.AtomicFile.CheckTargets(reports.Select(r => r.Path).ToList(), [path]);
        var model = OnnxModel.Load(path);
        // Without ONNX Runtime the answer still comes, from the types the model declares.
        string? noOrt = null;
        try { OrtRuntime.Initialize(ortLibrary); }
        catch (PolyNetException x) { noOrt = x.Message; }
        TrtCapabilityResult c;
        if (noOrt is null) c = Analyze(model, version, e);
        else
        {
            e.WriteLine($"[W] ONNX Runtime is not available ({noOrt}); types are checked only where the model declares them");
            c = TrtCapability.Analyze(model, TrtSupportMatrix.For(version), Declared(model));
        }
        var real = noOrt is not null ? new TrtRealCheck(false, "ONNX Runtime is not available", null, null, [])
            : realCheck ? TrtRealCheck.Run(model, c) : new TrtRealCheck(false, "--no-trt-check", null, null, []);
        o.WriteLine($"[I] {path}: opset {c.Opset?.ToString() ?? "?"}, {c.Nodes.Count} node(s); TensorRT {c.TrtVersion}'s ONNX parser support table ({c.Source})");
        o.WriteLine($"[I] {CapabilityHtml.Verdict(c)}");
        foreach (var p in c.Partitions)
        {
            o.WriteLine($"[I] engine {p.Index}: {p.Nodes.Count} node(s), {p.Nodes[0]}{(p.Nodes.Count > 1 ? $" … {p.Nodes[^1]}" : "")}; inputs {List(p.Inputs)}; outputs {List(p.Outputs)}");
            if (verbose) o.WriteLine($"        nodes: {string.Join(", ", p.Nodes)}");
        }
        foreach (var n in c.Unsupported)
            o.WriteLine($"[W] falls back to ONNX Runtime: {n.Name}{(n.Name.StartsWith('#') ? "" : $" ({n.OpType})")}: {string.Join("; ", n.Reasons)}");
        if (c.CrossingTensors.Count > 0)
            o.WriteLine($"[I] {c.CrossingTensors.Count} tensor(s) cross between TensorRT and ONNX Runtime: {List(c.CrossingTensors)}");
        foreach (var cav in c.Caveats) o.WriteLine($"[W] {cav}");
        o.WriteLine(real.Available ? $"[{(real.Differences.Count == 0 ? "I" : "W")}] {CapabilityHtml.Real(real)}" : $"[I] {CapabilityHtml.Real(real)}");
        if (c.Partitions.Count > 1)
            o.WriteLine($"[I] each engine as its own model: polynet surgeon extract {path} --trt-partition N -o engineN.onnx (N from 0 to {c.Partitions.Count - 1})");
        foreach (var written in ReportRequest<CapabilityReport>.WriteAll(reports, new CapabilityReport(c, real)))
            o.WriteLine($"[I] wrote {written}");
        return ExitCodes.Success;
    }

    private static string List(IReadOnlyList<string> names) => names.Count == 0 ? "(none)" : names.Count <= 8 ? string.Join(", ", names) : $"{string.Join(", ", names.Take(8))} and {names.Count - 8} more";
}
