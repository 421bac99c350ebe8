using System.Diagnostics;
using PolyNet.Onnx;
using PolyNet.Onnx.Transforms;
using PolyNet.Runners.Inspect;
using PolyNet.Runners.Native;
using PolyNet.Runners.Specs;

namespace PolyNet.Runners.Ort;

/// <summary>
/// Base of every runner on ONNX Runtime: parses the session keys every ORT runner shares, creates the session
/// (from the file when the model is unchanged, from bytes otherwise), runs it, and times it. A subclass adds its
/// execution provider in <see cref="ConfigureProvider"/> and may change the model in <see cref="PrepareModel"/>.
/// </summary>
public abstract class OrtRunner : IBindableRunner
{
    /// <summary>Keys every ORT-based runner accepts.</summary>
    public static readonly IReadOnlyList<RunnerKey> SessionKeys =
    [
        new("opt", "disable|basic|extended|layout|all", "graph optimization level (default all)"),
        new("intra", "N", "intra-op threads (0: ORT's default, one per physical core)"),
        new("inter", "N", "inter-op threads (used with exec=parallel)"),
        new("exec", "sequential|parallel", "execution mode (default sequential)"),
        new("deterministic", "0|1", "ask kernels for deterministic algorithms"),
        new("arena", "0|1", "CPU memory arena (default 1)"),
        new("mem_pattern", "0|1", "memory pattern planning (default 1)"),
        new("save_optimized", "PATH", "write the model as ORT optimized it to PATH"),
        new("profile", "PREFIX", "write ORT's JSON profile with this file prefix"),
        new("config.*", "VALUE", "any session config entry, e.g. config.session.set_denormal_as_zero=1"),
    ];

    /// <summary>Keys of runners that can run the model converted to float16 (<see cref="Float16Conversion"/>).</summary>
    public static readonly IReadOnlyList<RunnerKey> PrecisionKeys =
    [
        new("precision", "fp32|fp16|fp16-naive|int8", "fp16: run the model as a TensorRT float16 engine computes it (constants and BatchNormalization folded in float32, float16 weights and tensors between kernels, no rounding inside Conv/Gemm/MatMul+bias+activation, reductions and normalizations accumulating in float32; inputs and outputs keep their types); fp16-naive: every tensor between nodes in float16, nothing folded or fused (on cuda both are the model converted to float16 on CUDA's float16 kernels); int8: quantize every tensor the calibration cache gives a range (Q/DQ pairs) and the weights per channel, BatchNormalization folded first"),
        new("fp32_ops", "OP+OP...", "with precision=fp16 or fp16-naive: op types to keep in float32, e.g. fp32_ops=Exp+Softmax"),
        new("calib", "PATH", "with precision=int8: the calibration cache (TensorRT's, or ONNX Runtime's calibration.cache/.json/.flatbuffers)"),
    ];

    private readonly Stopwatch _watch = new();
    private OrtSession? _session;
    private readonly List<string> _notes = [];
    private OrtRuntime.LogRoute? _logRoute;
    private HashSet<string>? _tolerate;

    public IReadOnlyDictionary<string, string> Unreadable => Session.LastUnreadable;

    protected OrtRunner(RunnerSpec spec, RunnerContext context, IReadOnlyList<RunnerKey> accepted)
    {
        Spec = spec;
        Context = context;
        Keys = new RunnerKeys(spec, accepted);
        // Validate values now, so a bad spec fails before any model is built.
        _ = OptimizationLevel;
        _ = Keys.GetInt("intra", 0);
        _ = Keys.GetInt("inter", 0);
        _ = Keys.GetChoice("exec", "sequential", "parallel");
        _ = Keys.GetBool("deterministic");
        _ = Keys.GetBool("arena");
        _ = Keys.GetBool("mem_pattern");
        if (accepted.Any(k => k.Key == "precision"))
        {
            _precision = Keys.GetChoice("precision", "fp32", "fp16", "fp16-naive", "int8") ?? "fp32";
            if (Keys.Get("fp32_ops") is not null && _precision is not ("fp16" or "fp16-naive"))
                throw new InvalidInputException($"--runner {spec.Text}: fp32_ops applies to precision=fp16 and fp16-naive only");
            if (_precision == "int8")
                _cache = Calibration.CacheReader.Read(Keys.Get("calib") ?? throw new InvalidInputException($"--runner {spec.Text}: precision=int8 needs the calibration cache: calib=PATH"));
            else if (Keys.Get("calib") is not null)
                throw new InvalidInputException($"--runner {spec.Text}: calib applies to precision=int8 only");
        }
    }

    private readonly string _precision = "fp32";
    private readonly Calibration.CalibrationCache? _cache;

    /// <summary>
    /// Whether the float16 conversion keeps nodes without a native float16 kernel of this provider in float32 between
    /// float16 tensors (the CPU runner, to emulate faithfully), or converts every node and lets ORT place it (GPU
    /// providers, whose float16 kernels are the point).
    /// </summary>
    protected virtual bool Float16NeedsNativeKernels => true;

    public RunnerSpec Spec { get; }
    public RunnerContext Context { get; }
    protected RunnerKeys Keys { get; }
    public string Name => Spec.Name;
    public TimeSpan LastInferenceTime { get; private set; }
    /// <summary>The part of <see cref="LastInferenceTime"/> spent inside ONNX Runtime's Run.</summary>
    public TimeSpan LastNativeRunTime => Session.LastNativeRunTime;
    public TimeSpan ActivationTime { get; private set; }
    public IReadOnlyList<string> Notes => _notes;
    public virtual ComputePrecision Precision => _precision switch
    {
        "fp16" or "fp16-naive" => ComputePrecision.Fp16,
        "int8" => ComputePrecision.Int8,
        _ => ComputePrecision.Fp32,
    };
    public IReadOnlyList<ValueSpec> Inputs => Session.Inputs;
    public IReadOnlyList<ValueSpec> Outputs => Session.Outputs;

    protected OrtSession Session => _session ?? throw new InvalidOperationException($"runner {Name} is not activated");

    protected void Note(string note) => _notes.Add(note);

    private readonly List<string> _warnings = [];
    public IReadOnlyList<string> Warnings => _warnings;
    protected void Warn(string warning) => _warnings.Add($"{Name}: {warning}");

    private int OptimizationLevel => Keys.GetChoice("opt", "disable", "basic", "extended", "layout", "all") switch
    {
        "disable" => 0,
        "basic" => 1,
        "extended" => 2,
        "layout" => 3,
        _ => 99,
    };

    /// <summary>Adds this runner's execution provider to the session options (nothing for the CPU runner).</summary>
    protected abstract void ConfigureProvider(OrtRuntime runtime, OrtSessionOptionsHandle options);

    /// <summary>The model to run if it differs from the file (null: run the file as is): marked tensors exposed, converted to float16 with precision=fp16.</summary>
    protected virtual OnnxModel? PrepareModel(OnnxModel model)
    {
        var (hoisted, constants) = _precision is "int8" or "fp16" or "fp16-naive" ? ConstantHoisting.Apply(model) : (model, 0);
        IReadOnlyList<string> expose = Context.ExtraOutputs;
        var fusedAway = new HashSet<string>(StringComparer.Ordinal);
        // The CPU emulates an engine; the CUDA provider's precision=fp16 is its own float16 kernels on the model as converted.
        bool engine = _precision == "fp16" && Float16NeedsNativeKernels;
        if (_precision == "int8" || engine)
        {
            // As TensorRT's builder does before choosing precisions: constants folded and BatchNormalization computed
            // away, in float32.
            var (constantFree, foldedConstants) = ConstantFolding.Apply(hoisted, expose);
            if (foldedConstants > 0)
            {
                hoisted = constantFree;
                Note($"{foldedConstants} constant node(s) computed in float32 and made weights, as TensorRT's builder folds constants");
            }
            var rankTypes = OrtTypes.Infer(hoisted);
            var bn = BatchNormFolding.Apply(hoisted, x => rankTypes.TryGetValue(x, out var t) ? t.Shape?.Rank : null);
            if (bn.Folded + bn.Scaled > 0)
            {
                hoisted = bn.Model;
                fusedAway.UnionWith(bn.FusedAway);
                Note($"{bn.Folded + bn.Scaled} BatchNormalization node(s) folded in float32 as TensorRT does ({bn.Folded} into the Conv before them, {bn.Scaled} made a scale and shift)");
                var gone = expose.Intersect(bn.FusedAway, StringComparer.Ordinal).ToList();
                if (gone.Count > 0)
                {
                    Note($"{gone.Count} marked tensor(s) do not exist in this engine (a Conv's output folded with the BatchNormalization after it): {string.Join(", ", gone.Take(4))}{(gone.Count > 4 ? ", ..." : "")}");
                    expose = expose.Except(gone, StringComparer.Ordinal).ToList();
                }
            }
        }
        if (_precision == "int8")
        {
            var q = Calibration.Int8Emulation.Apply(hoisted, _cache!, Int8Tensors(hoisted));
            // A Conv output folded with its BatchNormalization no longer exists, in TensorRT's engine either.
            q = q with { Skipped = q.Skipped.Select(x => x.IndexOf(':') is int c and > 0 && fusedAway.Contains(x[..c]) ? $"{x[..c]}: folded with the BatchNormalization after it, as TensorRT does" : x).ToList() };
            Note($"int8 emulation: {q.Quantized.Count} tensor(s) quantized with ranges from {Keys.Get("calib")} ({(_cache!.Version is { } v ? $"TensorRT {v} {_cache.Algorithm}" : _cache.Format.ToString())}), {q.Weights} weight tensor(s) {(q.PerChannel ? "per channel" : "per tensor (opset < 13)")}{(constants > 0 ? $" (weights include {constants} Constant node(s))" : "")}"
                 + (q.Skipped.Count > 0 ? $"; {q.Skipped.Count} cache entr{(q.Skipped.Count == 1 ? "y" : "ies")} not used ({string.Join("; ", q.Skipped.Take(3))}{(q.Skipped.Count > 3 ? "; ..." : "")})" : ""));
            if (q.Quantized.Count == 0)
                throw new InvalidInputException($"{Keys.Get("calib")}: none of its {_cache!.Entries.Count} entries names a float tensor {model.DisplayName} reads ({string.Join("; ", q.Skipped.Take(3))}{(q.Skipped.Count > 3 ? "; ..." : "")}): INT8 emulation with this cache would quantize no activation (a cache for another model or export?)");
            if (q.Skipped.Count > 0) Warn($"{q.Skipped.Count} of {_cache!.Entries.Count} calibration cache entries are not used: {string.Join("; ", q.Skipped.Take(3))}{(q.Skipped.Count > 3 ? "; ..." : "")}");
            return expose.Count == 0 ? q.Model : ModelOutputs.Expose(q.Model, expose);
        }
        if (_precision is not ("fp16" or "fp16-naive"))
            return Context.ExtraOutputs.Count == 0 ? null : ModelOutputs.Expose(model, Context.ExtraOutputs);
        var keep = (Keys.Get("fp32_ops") ?? "").Split('+', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        var types = OrtTypes.Infer(hoisted);
        var r = Float16Conversion.Convert(hoisted, types, new OrtKernelProbe(hoisted, requireNative: Float16NeedsNativeKernels), expose, keep,
            (body, outer) => OrtTypes.InferBody(hoisted, body, outer), engine);
        var compute32 = r.Kept.Where(k => k.Mode == Float16Mode.Float32Compute).ToList();
        var present = ModelWalker.GraphAndSubgraphs(hoisted.Graph).SelectMany(g => g.Node).Select(n => n.OpType).ToHashSet(StringComparer.Ordinal);
        foreach (var op in keep.Where(k => !present.Contains(k)))
            Warn($"fp32_ops: the model has no {op} node{Names.Suggest(op, present)}; that entry changes nothing");
        if (r.Native == 0 && compute32.Count == 0 && r.Kept.Count == 0)
            Warn("float16 emulation changes nothing: the model computes no float32 tensor");
        var asked = r.Kept.Where(k => k.Mode == Float16Mode.Float32).ToList();
        Note($"{(Float16NeedsNativeKernels ? "float16 emulation" : "float16")}: {r.Native} node(s) on float16 kernels, {compute32.Count} computing in float32 between float16 tensors, {asked.Count} kept in float32 as asked, {r.Casts} cast(s)"
             + (r.ClampedWeights > 0 ? $", {r.ClampedWeights} weight value(s) beyond ±65504 clamped" : "")
             + (constants > 0 ? $" (weights include {constants} Constant node(s))" : ""));
        if (compute32.Count > 0)
            Note("in float32 between float16 tensors: " + string.Join(", ", compute32.GroupBy(k => (k.OpType, k.Reason)).Select(grp => $"{grp.Key.OpType} ×{grp.Count()} ({grp.Key.Reason})")));
        if (asked.Count > 0)
            Note("in float32: " + string.Join(", ", asked.GroupBy(k => k.OpType).Select(grp => $"{grp.Key} ×{grp.Count()}")));
        return r.Model;
    }

    /// <summary>
    /// The tensors INT8 may quantize: float32 tensors the graph computes or takes as inputs, not weights (initializers)
    /// and not Constant outputs (TensorRT folds both). Calibration and sensitivity use the same set.
    /// </summary>
    public static HashSet<string> Int8Tensors(OnnxModel model)
    {
        var graphs = ModelWalker.GraphAndSubgraphs(model.Graph).ToList();
        var constants = graphs.SelectMany(g => g.Initializer.Select(i => i.Name).Concat(g.Node.Where(n => n.OpType == "Constant").SelectMany(n => n.Output))).ToHashSet(StringComparer.Ordinal);
        return (graphs.Count > 1 ? OrtTypes.InferAll(model) : OrtTypes.Infer(model)).Where(kv => kv.Value.Kind == ValueKind.Tensor && kv.Value.ElementType == ElementType.Float && !constants.Contains(kv.Key))
            .Select(kv => kv.Key).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>ONNX Runtime has no kernels older than opset 7; a model that old is refused with a pointer to the upgrade.</summary>
    internal static string OldOpsetHint(OnnxModel model, OrtException e)
        => e.Code == OrtErrorCode.NotImplemented && model.OpsetVersion() is { } v && v < 7
            ? $" (the model imports opset {v}, older than ONNX Runtime's oldest kernels, opset 7: add --upgrade-opset 13, or convert it once with 'polynet surgeon upgrade MODEL -o OUT --opset 13')"
            : "";

    public void Activate()
    {
        if (_session is not null) return;
        var start = Stopwatch.GetTimestamp();
        var runtime = OrtRuntime.Current;
        var api = runtime.Api;
        try
        {
            using var options = api.CreateSessionOptions();
            api.SetSessionGraphOptimizationLevel(options, OptimizationLevel);
            if (Keys.GetInt("intra", 0) is { } intra) api.SetIntraOpNumThreads(options, intra);
            if (Keys.GetInt("inter", 0) is { } inter) api.SetInterOpNumThreads(options, inter);
            if (Keys.GetChoice("exec", "sequential", "parallel") == "parallel") api.SetSessionExecutionMode(options, 1);
            if (Keys.GetBool("deterministic") == true) api.SetDeterministicCompute(options, true);
            if (Keys.GetBool("arena") == false) api.DisableCpuMemArena(options);
            if (Keys.GetBool("mem_pattern") == false) api.DisableMemPattern(options);
            if (Keys.Get("save_optimized") is { } opt) api.SetOptimizedModelFilePath(options, opt);
            if (Keys.Get("profile") is { } prefix) api.EnableProfiling(options, prefix);
            if (Context.Log is { } log)
            {
                _logRoute ??= OrtRuntime.Route(log);
                api.SetSessionLogId(options, _logRoute.Id);
            }
            else api.SetSessionLogId(options, Name);
            var config = Keys.WithPrefix("config.").ToList();
            foreach (var (k, v) in config) api.AddSessionConfigEntry(options, k, v);
            // INT8 emulation runs its Q/DQ pairs as written (quantization simulated in float32, the same arithmetic on
            // every provider); ORT would otherwise fuse QDQ groups into its own int8 kernels on the CPU, a different
            // rounding. config.session.disable_quant_qdq=0 asks for the fusion.
            if (_precision == "int8" && !config.Any(c => c.Key == "session.disable_quant_qdq"))
                api.AddSessionConfigEntry(options, "session.disable_quant_qdq", "1");
            ConfigureProvider(runtime, options);

            var prepared = PrepareModel(Context.Model);
            if (prepared is null && Context.Model.Path is { } path)
                _session = OrtSession.Create(path, options);
            else
            {
                var model = prepared ?? Context.Model;
                if (model.HasExternalData && model.BaseDirectory is { } dir)
                    api.AddSessionConfigEntry(options, "session.model_external_initializers_file_folder_path", dir);
                _session = OrtSession.Create(model.ToBytes(), options);
            }
        }
        catch (OrtException e)
        {
            throw new RunnerException($"{Name}: {e.Message}{OldOpsetHint(Context.Model, e)}", e);
        }
        ActivationTime = Stopwatch.GetElapsedTime(start);
    }

    public ValueMap Infer(ValueMap feeds)
    {
        var session = Session;
        try
        {
            _watch.Restart();
            var result = session.Run(feeds, tolerate: _tolerate ??= Context.ExtraOutputs.ToHashSet(StringComparer.Ordinal));
            _watch.Stop();
            LastInferenceTime = _watch.Elapsed;
            return result;
        }
        catch (OrtException e)
        {
            throw new RunnerException($"{Name}: {e.Message}", e);
        }
        catch (TimeoutException e)
        {
            throw new RunnerException($"{Name}: {e.Message}", e);
        }
    }

    public BoundRun Bind(ValueMap feeds, bool copyEachRun = false)
    {
        try
        {
            return Session.Bind(feeds, copyEachRun);
        }
        catch (OrtException e)
        {
            throw new RunnerException($"{Name}: {e.Message}", e);
        }
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the session (and, in derived runners, files they made).</summary>
    protected virtual void Dispose(bool disposing)
    {
        _session?.Dispose();
        _logRoute?.Dispose();
        _session = null;
    }
}
