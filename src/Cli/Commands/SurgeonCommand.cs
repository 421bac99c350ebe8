using System.CommandLine;
using PolyNet.Runners.Native;
using PolyNet.Onnx;
using PolyNet.Onnx.Transforms;
using PolyNet.Onnx.Transforms.Opsets;
using PolyNet.Jobs;
using PolyNet.Runners.Inspect;

namespace PolyNet.Cli.Commands;

/// <summary>`polynet surgeon extract` and `polynet surgeon sanitize`: cut and clean ONNX graphs.</summary>
internal static class SurgeonCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var cmd = new Command("surgeon", "Cut subgraphs out of a model and clean models up.");

        var model = new Argument<string>("model") { Description = "The ONNX model" };
        var inputs = MultiValue.Create("--inputs", "The new inputs, NAME[:SHAPE[:DTYPE]] (SHAPE like 1x3x224x224, 'auto' to keep what is known; default: the model's inputs that are needed)", "NAME[:SHAPE[:DTYPE]]", MultiValue.NotAModel);
        var outputs = MultiValue.Create("--outputs", "The new outputs, NAME[:DTYPE] (default: the model's outputs)", "NAME[:DTYPE]", MultiValue.NotAModel);
        var save = new Option<string>("--output", "-o") { Description = "Where to write the new model", HelpName = "FILE.onnx", Required = true };
        var partition = new Option<int?>("--trt-partition") { Description = "Instead of --inputs/--outputs: the N-th TensorRT engine that 'polynet inspect capability' finds (from 0)", HelpName = "N" };
        var trtVersion = CapabilityCommand.TrtVersionOption();
        var extract = new Command("extract", "Keep only what computes the given outputs from the given inputs (or one TensorRT engine's region); value infos and shapes are completed by ONNX Runtime's inference.");
        extract.Arguments.Add(model);
        foreach (var o in new Option[] { inputs, outputs, save, partition, trtVersion }) extract.Options.Add(o);
        extract.SetAction(p => Extract(p.GetValue(model)!, p.GetValue(inputs) ?? [], p.GetValue(outputs) ?? [], p.GetValue(save)!, GlobalOptions.OrtLibrary(p), output, error,
            p.GetValue(partition), p.GetValue(trtVersion)));

        var model2 = new Argument<string>("model") { Description = "The ONNX model" };
        var save2 = new Option<string>("--output", "-o") { Description = "Where to write the new model", HelpName = "FILE.onnx", Required = true };
        var cleanup = new Option<bool>("--cleanup") { Description = "Remove nodes no output depends on, and unused initializers and value infos" };
        var toposort = new Option<bool>("--toposort") { Description = "Sort the nodes topologically" };
        var fold = new Option<bool>("--fold-constants") { Description = "Replace what depends only on constants (and shapes that are known) by its value, computed by ONNX Runtime" };
        var foldLimit = new Option<string?>("--fold-size-limit") { Description = "Leave folded tensors larger than this computed at run time (default 1G)", HelpName = "SIZE" };
        var shapes = MultiValue.Create("--override-input-shapes", "Set input shapes, INPUT:1x3x224x224 (other shapes are then re-inferred)", "INPUT:DIMS", MultiValue.LooksLikeShape);
        var sanitize = new Command("sanitize", "Clean a model up: with no option, --cleanup and --toposort; shapes are re-inferred after an override or a fold.");
        sanitize.Arguments.Add(model2);
        foreach (var o in new Option[] { save2, cleanup, toposort, fold, foldLimit, shapes }) sanitize.Options.Add(o);
        sanitize.SetAction(p => Sanitize(p.GetValue(model2)!, p.GetValue(save2)!, p.GetValue(cleanup), p.GetValue(toposort), p.GetValue(fold), p.GetValue(foldLimit),
            p.GetValue(shapes) ?? [], GlobalOptions.OrtLibrary(p), output, error));

        var model3 = new Argument<string>("model") { Description = "The ONNX model" };
        var save3 = new Option<string>("--output", "-o") { Description = "Where to write the upgraded model", HelpName = "FILE.onnx", Required = true };
        var opset = new Option<long>("--opset") { Description = $"The ONNX opset to upgrade to ({OpsetUpgrade.MinTarget}-{OpsetUpgrade.MaxTarget})", HelpName = "N", Required = true };
        var upgrade = new Command("upgrade", "Convert the model to a newer ONNX opset node by node, as ONNX's change log defines (from opset 1); what cannot be converted is refused, naming each node and why.");
        upgrade.Arguments.Add(model3);
        upgrade.Options.Add(save3);
        upgrade.Options.Add(opset);
        upgrade.SetAction(p => Upgrade(p.GetValue(model3)!, p.GetValue(save3)!, p.GetValue(opset), output));

        cmd.Subcommands.Add(extract);
        cmd.Subcommands.Add(sanitize);
        cmd.Subcommands.Add(upgrade);
        return cmd;
    }

    public static int Upgrade(string path, string save, long opset, TextWriter output)
    {
        AtomicFile.CheckTargets([save], [path]);
        var model = OnnxModel.Load(path);
        var r = OpsetUpgrade.Apply(model, opset);
        r.Model.Save(save);
        output.WriteLine($"[I] {save}: opset {r.FromOpset} → {r.ToOpset}, IR version {r.FromIrVersion} → {r.ToIrVersion}; " + (r.FromOpset == r.ToOpset
            ? "the model already was at that opset, nothing changed"
            : r.OnlyVersionChanged ? "no node needed a change" : ModelUpgrade.Describe(r)));
        return ExitCodes.Success;
    }

    public static int Extract(string path, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, string save, string? ortLibrary, TextWriter output, TextWriter error,
                              int? trtPartition = null, string? trtVersion = null)
    {
        AtomicFile.CheckTargets([save], [path]);
        if (trtPartition is not null && (inputs.Count > 0 || outputs.Count > 0))
            throw new InvalidInputException("--trt-partition chooses the inputs and outputs itself: drop --inputs and --outputs, or --trt-partition");
        if (trtPartition is null && trtVersion is not null) throw new InvalidInputException("--trt-version applies to --trt-partition");
        var model = OnnxModel.Load(path);
        (IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs)? partitionBoundary = null;
        if (trtPartition is { } index)
        {
            OrtRuntime.Initialize(ortLibrary);
            var c = CapabilityCommand.Analyze(model, trtVersion, error);
            if (c.Partitions.Count == 0)
                throw new InvalidInputException($"--trt-partition {index}: TensorRT {c.TrtVersion} would build no engine for {path} (every node falls back; 'polynet inspect capability' says why)");
            if (index < 0 || index >= c.Partitions.Count)
                throw new InvalidInputException($"--trt-partition {index}: {path} has {c.Partitions.Count} TensorRT engine(s) for TensorRT {c.TrtVersion} (0 to {c.Partitions.Count - 1}; 'polynet inspect capability' lists them)");
            var p = c.Partitions[index];
            output.WriteLine($"[I] TensorRT {c.TrtVersion} engine {index}: {p.Nodes.Count} node(s), inputs {(p.Inputs.Count == 0 ? "(none)" : string.Join(", ", p.Inputs))}, outputs {string.Join(", ", p.Outputs)}");
            partitionBoundary = (p.Inputs, p.Outputs);
        }
        // An engine's boundary is tensor names as they are (names may hold ':'); given --inputs/--outputs are NAME[:SHAPE[:DTYPE]].
        var ins = partitionBoundary is { } pb ? pb.Inputs.Select(n => (Name: n, Shape: (TensorShape?)null, Type: ElementType.Undefined)).ToList() : inputs.Select(s => Boundary(s, allowShape: true)).ToList();
        var outs = partitionBoundary is { } pb2 ? pb2.Outputs.Select(n => (Name: n, Shape: (TensorShape?)null, Type: ElementType.Undefined)).ToList() : outputs.Select(s => Boundary(s, allowShape: false)).ToList();
        if (outs.Count == 0) outs = model.Graph.Output.Select(o => (o.Name, (TensorShape?)null, ElementType.Undefined)).ToList();
        if (ins.Count == 0 && outputs.Count == 0 && partitionBoundary is null) throw new InvalidInputException("give --inputs, --outputs or both: with neither there is nothing to extract");
        OrtRuntime.Initialize(ortLibrary);
        var types = OrtTypes.Infer(model).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        foreach (var (name, shape, type) in ins.Concat(outs))
            if ((shape is not null || type != ElementType.Undefined) && types.TryGetValue(name, out var spec))
                types[name] = spec with
                {
                    ElementType = type == ElementType.Undefined ? spec.ElementType : type,
                    Shape = shape is { } s ? new SymbolicShape(Enumerable.Range(0, s.Rank).Select(d => SymbolicDim.Fixed(s[d])).ToList()) : spec.Shape,
                };
        var x = Subgraph.Between(model, ins.Select(i => i.Name).ToList(), outs.Select(o => o.Name).ToList(), types);
        x.Model.Save(save);
        output.WriteLine($"[I] {save}: {x.Nodes.Count} of {model.Graph.Node.Count} node(s); inputs {string.Join(", ", x.Inputs)}; outputs {string.Join(", ", x.Outputs)}");
        if (x.AddedInputs.Count > 0)
            output.WriteLine($"[I] the outputs also need the model's input(s) {string.Join(", ", x.AddedInputs)}, kept as inputs");
        return ExitCodes.Success;
    }

    /// <summary>NAME[:SHAPE[:DTYPE]] (NAME[:DTYPE] for outputs), 'auto' for what is known; names may hold ':'.</summary>
    private static (string Name, TensorShape? Shape, ElementType Type) Boundary(string spec, bool allowShape)
    {
        var parts = spec.Split(':');
        int end = parts.Length;
        bool IsType(string p) => p == "auto" || ElementTypes.TryParse(p, out _);
        bool IsShape(string p) => p == "auto" || LooksLikeShape(p);
        string? shapeText = null, typeText = null;
        if (allowShape && end >= 3 && IsShape(parts[end - 2]) && IsType(parts[end - 1])) (shapeText, typeText, end) = (parts[end - 2], parts[end - 1], end - 2);
        else if (allowShape && end >= 2 && IsShape(parts[end - 1])) (shapeText, end) = (parts[end - 1], end - 1);
        else if (end >= 2 && IsType(parts[end - 1])) (typeText, end) = (parts[end - 1], end - 1);
        TensorShape? shape = null;
        if (shapeText is not null && shapeText != "auto")
        {
            if (!TensorShape.TryParse(shapeText, out var parsed, out var why)) throw new InvalidInputException($"'{spec}': bad shape '{shapeText}': {why}");
            shape = parsed;
        }
        var type = ElementType.Undefined;
        if (typeText is not null && typeText != "auto") ElementTypes.TryParse(typeText, out type);
        var name = string.Join(':', parts[..end]);
        if (name.Length == 0) throw new InvalidInputException($"'{spec}': no tensor name");
        return (name, shape, type);
    }

    private static bool LooksLikeShape(string s) => s.Length > 0 && s.All(c => char.IsDigit(c) || c is 'x' or '[' or ']' or ',' or ' ');

    public static int Sanitize(string path, string save, bool cleanup, bool toposort, bool fold, string? foldLimit, IReadOnlyList<string> shapes,
        string? ortLibrary, TextWriter output, TextWriter error)
    {
        var model = OnnxModel.Load(path);
        long limit = foldLimit is null ? 1L << 30 : Sizes.Parse("--fold-size-limit", foldLimit);
        if (foldLimit is not null && !fold) throw new InvalidInputException("--fold-size-limit applies to --fold-constants");
        var overrides = Runners.Inputs.InputShapes.Parse(shapes, "--override-input-shapes").RequireSingle("polynet surgeon sanitize").Shapes;
        if (!cleanup && !toposort && !fold && overrides.Count == 0) cleanup = toposort = true;
        int before = model.Graph.Node.Count;
        if (overrides.Count > 0 || fold) OrtRuntime.Initialize(ortLibrary);
        if (overrides.Count > 0)
        {
            model = Cleanup.OverrideInputShapes(model, overrides);
            output.WriteLine($"[I] input shapes: {string.Join(", ", overrides.Select(kv => $"{kv.Key} {kv.Value}"))}");
        }
        if (fold)
        {
            var r = ConstantFolding.Fold(model, limit);
            model = r.Model;
            output.WriteLine($"[I] folded {r.NodesFolded} node(s) into {r.TensorsMade} constant(s)");
            foreach (var s in r.Skipped) output.WriteLine($"[I] not folded: {s}");
        }
        if (cleanup)
        {
            var r = Cleanup.Apply(model);
            model = r.Model;
            output.WriteLine($"[I] cleanup: removed {r.NodesRemoved} node(s) no output depends on, {r.InitializersRemoved} unused initializer(s), {r.ValueInfosRemoved} value info(s)");
        }
        if (toposort) model = Cleanup.TopologicalSort(model);
        if (overrides.Count > 0 || fold) model = Cleanup.AddValueInfos(model, OrtTypes.Infer(model));
        model.Save(save);
        output.WriteLine($"[I] {save}: {model.Graph.Node.Count} node(s) (was {before})");
        return ExitCodes.Success;
    }
}
