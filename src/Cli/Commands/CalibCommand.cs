using System.CommandLine;
using PolyNet.Runners.Native;
using System.Globalization;
using PolyNet.Calibration;
using PolyNet.Compare;
using PolyNet.Jobs;
using PolyNet.Reports;
using PolyNet.Reports.Json;
using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using PolyNet.Runners.Inputs;

namespace PolyNet.Cli.Commands;

/// <summary>`polynet calib inspect | generate | diff | sensitivity`: INT8 calibration caches.</summary>
internal static class CalibCommand
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static Command Create(TextWriter output, TextWriter error)
    {
        var cmd = new Command("calib", "INT8 calibration caches: inspect, generate, diff, and which tensors' quantization costs most.");

        var cache = new Argument<string>("cache") { Description = "A TensorRT calibration cache, or ONNX Runtime's calibration.cache, calibration.json or calibration.flatbuffers" };
        var model = new Option<string?>("--model") { Description = "Check the cache against this model: tensors without a range, entries that are not model tensors, ranges shared by consecutive tensors", HelpName = "MODEL" };
        var data = MultiValue.Create("--data", "Inputs to run the model on (every sample of each file); with --model, compares each range with the values seen", "PATH", MultiValue.NotAModel);
        var inspectReports = new ReportOptions<CalibInspectReport>(ReportFormats.CalibInspect);
        var inspect = new Command("inspect", "Every entry with its scale, range and flags (infinite, NaN, zero, subnormal, absurd, outlier); with --model and --data, what INT8 would clip.");
        inspect.Arguments.Add(cache);
        foreach (var o in new Option[] { model, data }) inspect.Options.Add(o);
        inspectReports.AddTo(inspect);
        inspect.SetAction(p => Inspect(p.GetValue(cache)!, p.GetValue(model), p.GetValue(data) ?? [], inspectReports.Read(p), GlobalOptions.OrtLibrary(p), GlobalOptions.Verbose(p), GlobalOptions.Quiet(p), output, error));

        var gmodel = new Argument<string>("model") { Description = "The ONNX model" };
        var gdata = MultiValue.Create("--data", "Calibration inputs (.npz, .npy, .pb, Polygraphy .json, backend folders); several files accumulate", "PATH", MultiValue.NotAModel);
        gdata.Required = true;
        var method = new Option<string>("--method") { Description = "minmax (largest |x|), entropy (TensorRT's KL-divergence search; the default) or percentile", DefaultValueFactory = _ => "entropy", HelpName = "METHOD" };
        var percentile = new Option<double>("--percentile") { Description = "With --method percentile: the share of values kept unclipped (default 99.99)", DefaultValueFactory = _ => 99.99, HelpName = "P" };
        var save = new Option<string>("--output", "-o") { Description = "The cache to write (TensorRT's format)", HelpName = "CACHE", Required = true };
        var version = new Option<string>("--trt-version") { Description = "The TensorRT version in the header (TensorRT refuses caches of another version; default 10.3.0)", DefaultValueFactory = _ => "10.3.0", HelpName = "X.Y.Z" };
        var algorithm = new Option<string?>("--algorithm") { Description = "The calibrator named in the header (default: MinMaxCalibration for minmax, else EntropyCalibration2)", HelpName = "NAME" };
        var generate = new Command("generate", "Run the model on calibration data through ONNX Runtime and write a TensorRT-format cache.");
        generate.Arguments.Add(gmodel);
        foreach (var o in new Option[] { gdata, method, percentile, save, version, algorithm }) generate.Options.Add(o);
        generate.SetAction(p => Generate(p.GetValue(gmodel)!, p.GetValue(gdata) ?? [], p.GetValue(method)!, p.GetValue(percentile), p.GetValue(save)!, p.GetValue(version)!,
            p.GetValue(algorithm), GlobalOptions.OrtLibrary(p), GlobalOptions.Verbose(p), GlobalOptions.Quiet(p), output, error));

        var a = new Argument<string>("a") { Description = "The first cache" };
        var b = new Argument<string>("b") { Description = "The second cache" };
        var maxRatio = new Option<double?>("--max-ratio") { Description = "Exit 1 when a range changed by more than this factor, or an entry is on one side only", HelpName = "R" };
        var top = new Option<int>("--top") { Description = "Changed entries to list (default 20; 0: all)", DefaultValueFactory = _ => 20, HelpName = "N" };
        var diff = new Command("diff", "Per tensor: the ratio of the ranges (B / A), largest change first; entries only in one cache.");
        diff.Arguments.Add(a);
        diff.Arguments.Add(b);
        diff.Options.Add(maxRatio);
        diff.Options.Add(top);
        diff.SetAction(p => Diff(p.GetValue(a)!, p.GetValue(b)!, p.GetValue(maxRatio), p.GetValue(top), output));

        var smodel = new Argument<string>("model") { Description = "The ONNX model" };
        var scalib = new Option<string>("--calib") { Description = "The calibration cache", HelpName = "CACHE", Required = true };
        var sdata = MultiValue.Create("--data", "Inputs (default: one sample generated from seed 1)", "PATH", MultiValue.NotAModel);
        var stop = new Option<int>("--top") { Description = "Tensors to list (default 10)", DefaultValueFactory = _ => 10, HelpName = "N" };
        var butOne = new Option<bool>("--all-but-one") { Description = "Quantize everything but one tensor at a time (default: one tensor at a time)" };
        var sensReports = new ReportOptions<SensitivityReport>(ReportFormats.Sensitivity);
        var sens = new Command("sensitivity", "Which tensors' quantization costs the most accuracy: one run per tensor, the output error against float32.");
        sens.Arguments.Add(smodel);
        foreach (var o in new Option[] { scalib, sdata, stop, butOne }) sens.Options.Add(o);
        sensReports.AddTo(sens);
        sens.SetAction(p => SensitivityCommand(p.GetValue(smodel)!, p.GetValue(scalib)!, p.GetValue(sdata) ?? [], p.GetValue(stop), p.GetValue(butOne), sensReports.Read(p),
            GlobalOptions.OrtLibrary(p), GlobalOptions.Verbose(p), GlobalOptions.Quiet(p), output, error));

        cmd.Subcommands.Add(inspect);
        cmd.Subcommands.Add(generate);
        cmd.Subcommands.Add(diff);
        cmd.Subcommands.Add(sens);
        return cmd;
    }

    /// <summary>Every sample of the --data files (or, with none, one generated from seed 1), checked against the model.</summary>
    private static IReadOnlyList<ValueMap> Samples(OnnxModel model, IReadOnlyList<string> data, IJobLog log) =>
        InputSamples.LoadOrGenerate(data, model.Inputs, 1, 1, ValueRanges.Parse([]), InputShapes.Parse([]), log);

    private static string Describe(CalibrationCache c, string path) => c.Format switch
    {
        CacheFormat.TensorRt => $"{path}: TensorRT calibration cache, {c.Header} (TensorRT {c.Version}, {c.Algorithm}), {c.Entries.Count} entries",
        CacheFormat.OrtText => $"{path}: ONNX Runtime calibration.cache (dynamic ranges as text), {c.Entries.Count} entries",
        CacheFormat.OrtJson => $"{path}: ONNX Runtime calibration.json (min and max per tensor), {c.Entries.Count} entries",
        _ => $"{path}: ONNX Runtime calibration.flatbuffers, {c.Entries.Count} entries",
    };

    private static string F(double v) => Format.Number(v);

    public static int Inspect(string path, string? modelPath, IReadOnlyList<string> data, IReadOnlyList<ReportRequest<CalibInspectReport>> reports, string? ortLibrary, bool verbose, bool quiet, TextWriter output, TextWriter error)
    {
        var cache = CacheReader.Read(path);
        if (data.Count > 0 && modelPath is null) throw new InvalidInputException("--data needs --model: the values come from running the model");
        AtomicFile.CheckTargets(reports.Select(r => r.Path).ToList(), [path, modelPath, .. data]);
        IReadOnlyList<ModelTensor>? tensors = null;
        Dictionary<string, TensorHistogram>? observed = null;
        if (modelPath is not null)
        {
            OrtRuntime.Initialize(ortLibrary);
            var model = OnnxModel.Load(modelPath);
            tensors = CalibrationJob.Tensors(model);
            if (data.Count > 0)
            {
                var log = new WriterLog(output, error, verbose, quiet);
                observed = CalibrationJob.Collect(model, tensors, Samples(model, data, log), log);
            }
        }
        var r = CacheInspection.Inspect(cache, tensors, observed);
        output.WriteLine($"[I] {Describe(cache, path)}");
        int nw = Math.Clamp(r.Entries.Count == 0 ? 6 : r.Entries.Max(e => e.Entry.Name.Length), 6, 48);
        output.WriteLine($"    {"tensor".PadRight(nw)}  {"scale",12}  {"bits",8}  {"range",12}{(observed is null ? "" : $"  {"seen max",10}  {"clipped",9}  {"used",7}")}  flags");
        foreach (var e in r.Entries)
        {
            var o = e.Observed;
            var name = e.Entry.Name.Length > nw ? e.Entry.Name[..(nw - 1)] + "…" : e.Entry.Name;
            output.WriteLine($"    {name.PadRight(nw)}  {F(e.Entry.Scale),12}  {e.Entry.ScaleBits.ToString("x8", Inv)}  {F(e.Entry.DynamicRange),12}"
                + (observed is null ? "" : o is null ? $"  {"",10}  {"",9}  {"",7}" : $"  {F(o.AbsMax),10}  {F(o.ClippedPercent) + "%",9}  {F(o.UsedPercent) + "%",7}")
                + $"  {string.Join(", ", e.Flags)}");
        }
        if (r.Entries.Count == 0) output.WriteLine("[W] the cache holds no tensor ranges: INT8 has nothing to quantize with");
        var flagged = r.Entries.Where(e => e.Flags.Count > 0).ToList();
        if (flagged.Count > 0) output.WriteLine($"[W] {flagged.Count} of {r.Entries.Count} entr{(flagged.Count == 1 ? "y" : "ies")} flagged");
        if (tensors is not null)
        {
            if (r.MissingFromCache.Count > 0)
                output.WriteLine($"[W] {r.MissingFromCache.Count} model tensor(s) have no range (INT8 cannot quantize them; TensorRT keeps them in higher precision or fails): {List(r.MissingFromCache)}");
            if (r.TensorRtInternal.Count > 0)
                output.WriteLine($"[I] {r.TensorRtInternal.Count} entr{(r.TensorRtInternal.Count == 1 ? "y names" : "ies name")} TensorRT's own tensors, not in the ONNX model by construction: {List(r.TensorRtInternal)}");
            if (r.NotInModel.Count > 0)
                output.WriteLine($"[W] {r.NotInModel.Count} entr{(r.NotInModel.Count == 1 ? "y names" : "ies name")} no tensor of the model (a cache for another model or export?): {List(r.NotInModel)}");
            foreach (var run in r.SharedRanges)
                output.WriteLine($"[W] {run.Count} consecutive tensors share one range exactly, across ops that change values: {List(run)}");
        }
        foreach (var f in ReportRequest<CalibInspectReport>.WriteAll(reports, new CalibInspectReport(path, r))) output.WriteLine($"[I] wrote {f}");
        return ExitCodes.Success;
    }

    private static string List(IReadOnlyList<string> names) => string.Join(", ", names.Take(10)) + (names.Count > 10 ? $", ... ({names.Count - 10} more)" : "");

    public static int Generate(string modelPath, IReadOnlyList<string> data, string methodText, double percentile, string save, string versionText, string? algorithm,
        string? ortLibrary, bool verbose, bool quiet, TextWriter output, TextWriter error)
    {
        var method = methodText.ToLowerInvariant() switch
        {
            "minmax" => CalibrationMethod.MinMax,
            "entropy" => CalibrationMethod.Entropy,
            "percentile" => CalibrationMethod.Percentile,
            _ => throw new InvalidInputException($"--method {methodText}: expected minmax, entropy or percentile"),
        };
        if (method == CalibrationMethod.Percentile && !(percentile > 0 && percentile <= 100)) throw new InvalidInputException($"--percentile {percentile}: must be in (0, 100]");
        var version = TrtVersion.Parse(versionText);
        if (algorithm is not null && !System.Text.RegularExpressions.Regex.IsMatch(algorithm, "^[A-Za-z][A-Za-z0-9_]*$"))
            throw new InvalidInputException($"--algorithm '{algorithm}': letters and digits only (e.g. EntropyCalibration2)");
        AtomicFile.CheckTargets([save], [modelPath, .. data]);
        var log = new WriterLog(output, error, verbose, quiet);
        OrtRuntime.Initialize(ortLibrary);
        var model = OnnxModel.Load(modelPath);
        var samples = Samples(model, data, log);
        var cache = CalibrationJob.Generate(model, samples, method, percentile, version, algorithm, log);
        var entries = cache.Entries;
        cache.WriteTensorRt(save);
        int zero = entries.Count(e => e.Scale == 0);
        output.WriteLine($"[I] wrote {save}: {cache.Header}, {entries.Count} tensor(s){(zero > 0 ? $"; {zero} saw only zeros (scale 0)" : "")}");
        return ExitCodes.Success;
    }

    public static int Diff(string a, string b, double? maxRatio, int top, TextWriter output)
    {
        if (maxRatio is { } mr && !(mr > 1)) throw new InvalidInputException($"--max-ratio {mr.ToString(Inv)}: must be above 1");
        if (top < 0) throw new InvalidInputException($"--top {top}: must be at least 0");
        var ca = CacheReader.Read(a);
        var cb = CacheReader.Read(b);
        var diff = CacheInspection.Diff(ca, cb);
        output.WriteLine($"[I] A = {Describe(ca, a)}");
        output.WriteLine($"[I] B = {Describe(cb, b)}");
        var differing = diff.Differing;
        output.WriteLine($"[I] {diff.Changed.Count} tensor(s) in both, {differing.Count} with different ranges; {diff.OnlyA.Count} only in A, {diff.OnlyB.Count} only in B");
        int nw = Math.Clamp(differing.Count == 0 ? 6 : differing.Max(x => x.Name.Length), 6, 48);
        var shown = top == 0 ? differing : differing.Take(top).ToList();
        if (shown.Count > 0) output.WriteLine($"    {"tensor".PadRight(nw)}  {"range A",12}  {"range B",12}  {"B / A",10}");
        foreach (var c in shown)
            output.WriteLine($"    {(c.Name.Length > nw ? c.Name[..(nw - 1)] + "…" : c.Name).PadRight(nw)}  {F(c.RangeA),12}  {F(c.RangeB),12}  {F(c.Ratio),10}");
        if (shown.Count < differing.Count) output.WriteLine($"    ({differing.Count - shown.Count} more; --top 0 lists all)");
        if (diff.OnlyA.Count > 0) output.WriteLine($"[W] only in A: {List(diff.OnlyA)}");
        if (diff.OnlyB.Count > 0) output.WriteLine($"[W] only in B: {List(diff.OnlyB)}");
        if (maxRatio is { } m && diff.Beyond(m) is { Count: > 0 } why)
        {
            output.WriteLine($"[E] {string.Join("; ", why)}");
            return ExitCodes.Mismatch;
        }
        return ExitCodes.Success;
    }

    public static int SensitivityCommand(string modelPath, string cachePath, IReadOnlyList<string> data, int top, bool allButOne, IReadOnlyList<ReportRequest<SensitivityReport>> reports,
        string? ortLibrary, bool verbose, bool quiet, TextWriter output, TextWriter error)
    {
        if (top < 1) throw new InvalidInputException($"--top {top}: must be at least 1");
        AtomicFile.CheckTargets(reports.Select(r => r.Path).ToList(), [modelPath, cachePath, .. data]);
        var cache = CacheReader.Read(cachePath);
        var log = new WriterLog(output, error, verbose, quiet);
        OrtRuntime.Initialize(ortLibrary);
        var model = OnnxModel.Load(modelPath);
        var samples = Samples(model, data, log);
        var result = CalibrationJob.Sensitivities(model, cache, samples, allButOne, log);
        output.WriteLine(allButOne
            ? $"[I] error left with every tensor quantized but one (smallest first: the tensors whose quantization costs most), over {samples.Count} sample(s):"
            : $"[I] error of the outputs against float32 with one tensor quantized at a time (largest first), over {samples.Count} sample(s):");
        int nw = Math.Clamp(result.Count == 0 ? 6 : result.Max(x => x.Tensor.Length), 6, 56);
        output.WriteLine($"    {"tensor".PadRight(nw)}  {"rel L2",10}  {"max abs",10}");
        foreach (var x in result.Take(top)) output.WriteLine($"    {x.Tensor.PadRight(nw)}  {F(x.RelL2),10}  {F(x.MaxAbs),10}");
        foreach (var f in ReportRequest<SensitivityReport>.WriteAll(reports, new SensitivityReport(allButOne, result))) output.WriteLine($"[I] wrote {f}");
        return ExitCodes.Success;
    }
}
