using System.Globalization;
using PolyNet.Runners.Native;
using PolyNet.Runners.Specs;

namespace PolyNet.Runners.Ort;

/// <summary>
/// TensorRT through ONNX Runtime's TensorRT execution provider (`--runner trt[:key=value,...]`). Needs TensorRT
/// (libnvinfer.so.10) and a GPU build of ONNX Runtime that includes the provider. Where either is missing the
/// runner fails with one line naming what is missing (exit 3). Keys map to ORT's trt_* provider options.
/// </summary>
public sealed class TensorRtRunner : OrtRunner
{
    public const string Kind = "trt";
    public const string ProviderName = "TensorrtExecutionProvider";
    /// <summary>TensorRT's core library names PolyNet looks for, newest first.</summary>
    public static readonly string[] TensorRtLibraries = ["libnvinfer.so.10", "libnvinfer.so.8"];

    public static RunnerKind Definition => new(Kind, "TensorRT through ONNX Runtime's TensorRT execution provider", AcceptedKeys, UsesGpu: true, (s, c) => new TensorRtRunner(s, c));

    public static readonly IReadOnlyList<RunnerKey> AcceptedKeys =
    [
        .. SessionKeys,
        new("device", "N", "CUDA device ordinal (default 0)"),
        new("fp16", "0|1", "allow FP16 kernels (trt_fp16_enable)"),
        new("int8", "0|1", "allow INT8 kernels (trt_int8_enable); needs calib="),
        new("calib", "PATH", "INT8 calibration table, read and checked first: a TensorRT cache (used natively unless names hold ':'), or ONNX Runtime's calibration.flatbuffers, .cache or .json (handed over as flatbuffers)"),
        new("engine_cache", "DIR", "cache built engines in DIR (trt_engine_cache_enable, trt_engine_cache_path)"),
        new("timing_cache", "DIR", "keep TensorRT's timing cache in DIR"),
        new("workspace", "BYTES", "builder workspace limit, e.g. 4G (trt_max_workspace_size)"),
        new("min_shapes", "NAME:DIMS", "optimization profile minimum shape of an input, e.g. x:1x3x224x224; repeat per input"),
        new("opt_shapes", "NAME:DIMS", "optimization profile optimal shape; repeat per input"),
        new("max_shapes", "NAME:DIMS", "optimization profile maximum shape; repeat per input"),
        new("builder_opt", "0..5", "builder optimization level (trt_builder_optimization_level)"),
        new("fallback", "0|1", "let nodes TensorRT cannot take fall back to CUDA/CPU (default 1)"),
        new("ep.*", "VALUE", "any TensorRT provider option verbatim, e.g. ep.trt_dla_enable=1"),
    ];

    private readonly ISystemProbe _probe;

    public TensorRtRunner(RunnerSpec spec, RunnerContext context, ISystemProbe? probe = null) : base(spec, context, AcceptedKeys)
    {
        _probe = probe ?? SystemProbe.Default;
        // The cache is read and checked here, not handed to TensorRT unread: a malformed cache is one line with its
        // file and line number (exit 2) before any engine is built.
        if (Keys.Get("calib") is { } calib) _calibration = Calibration.CacheReader.Read(calib);
        try { _ = ProviderOptions(); }
        catch
        {
            DeleteConverted();
            throw;
        }
        if (Keys.GetBool("int8") == true && Keys.Get("calib") is null)
            throw Keys.Bad("int8", "1", "int8=1 together with calib=CALIBRATION_TABLE");
    }

    private readonly Calibration.CalibrationCache? _calibration;
    private string? _convertedCalibration;

    /// <summary>
    /// The table ORT's TensorRT provider reads, and whether it is TensorRT's own format. A TensorRT cache goes as it is
    /// (native) unless a tensor name holds ':': ORT splits native lines at the first ':', so such a range would be lost;
    /// then, and for ONNX Runtime's text and JSON files, the ranges go as ORT's calibration.flatbuffers, written to the
    /// temp folder (deleted with the runner), whose keys hold any name.
    /// </summary>
    private (string Path, bool Native) CalibrationTable(string calib)
    {
        var c = _calibration!;
        if (c.Format == Calibration.CacheFormat.OrtFlatBuffers) return (Path.GetFullPath(calib), false);
        if (c.Format == Calibration.CacheFormat.TensorRt && !c.Entries.Any(e => e.Name.Contains(':', StringComparison.Ordinal))) return (Path.GetFullPath(calib), true);
        if (_convertedCalibration is null)
        {
            var path = Path.Combine(Path.GetTempPath(), $"polynet-calib-{Environment.ProcessId}-{Guid.NewGuid():N}.flatbuffers");
            Onnx.AtomicFile.Write(path, c.ToOrtFlatBuffers());
            _convertedCalibration = path;
            Note($"calibration ranges from {calib} handed to TensorRT as ONNX Runtime's calibration.flatbuffers ({(c.Format == Calibration.CacheFormat.TensorRt ? "tensor names with ':', which ORT's reader of TensorRT caches cuts" : "ORT's TensorRT provider reads no other ORT format")})");
        }
        return (_convertedCalibration, false);
    }

    private void DeleteConverted()
    {
        if (_convertedCalibration is not null) File.Delete(_convertedCalibration);
        _convertedCalibration = null;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        DeleteConverted();
    }

    public override Onnx.ComputePrecision Precision => Keys.GetBool("int8") == true ? Onnx.ComputePrecision.Int8
        : Keys.GetBool("fp16") == true ? Onnx.ComputePrecision.Fp16 : Onnx.ComputePrecision.Tf32;

    /// <summary>The trt_* provider options ORT receives, from the spec's keys.</summary>
    public List<KeyValuePair<string, string>> ProviderOptions()
    {
        var o = new List<KeyValuePair<string, string>>();
        string B(bool b) => b ? "1" : "0";
        o.Add(new("device_id", (Keys.GetInt("device", 0) ?? 0).ToString(CultureInfo.InvariantCulture)));
        if (Keys.GetBool("fp16") is { } fp16) o.Add(new("trt_fp16_enable", B(fp16)));
        if (Keys.GetBool("int8") is { } int8) o.Add(new("trt_int8_enable", B(int8)));
        if (Keys.Get("calib") is { } calib)
        {
            var (table, native) = CalibrationTable(calib);
            o.Add(new("trt_int8_calibration_table_name", table));
            o.Add(new("trt_int8_use_native_calibration_table", B(native)));
        }
        if (Keys.Get("engine_cache") is { } cache)
        {
            o.Add(new("trt_engine_cache_enable", "1"));
            o.Add(new("trt_engine_cache_path", cache));
        }
        if (Keys.Get("timing_cache") is { } timing)
        {
            o.Add(new("trt_timing_cache_enable", "1"));
            o.Add(new("trt_timing_cache_path", timing));
        }
        if (Keys.GetBytes("workspace") is { } ws) o.Add(new("trt_max_workspace_size", ws.ToString(CultureInfo.InvariantCulture)));
        foreach (var (key, option) in new[] { ("min_shapes", "trt_profile_min_shapes"), ("opt_shapes", "trt_profile_opt_shapes"), ("max_shapes", "trt_profile_max_shapes") })
        {
            var shapes = Keys.GetAll(key).ToList();
            foreach (var s in shapes)
            {
                int c = s.LastIndexOf(':');
                if (c <= 0 || !Onnx.TensorShape.TryParse(s[(c + 1)..], out _, out var err))
                    throw Keys.Bad(key, s, "NAME:DIMS such as x:1x3x224x224");
            }
            if (shapes.Count > 0) o.Add(new(option, string.Join(",", shapes)));
        }
        if (!Keys.GetAll("min_shapes").Any() && !Keys.GetAll("opt_shapes").Any() && !Keys.GetAll("max_shapes").Any() && SweepProfile() is { } profile)
            o.AddRange(profile);
        if (Keys.GetInt("builder_opt", 0) is { } level) o.Add(new("trt_builder_optimization_level", level.ToString(CultureInfo.InvariantCulture)));
        o.AddRange(Keys.WithPrefix("ep."));
        return o;
    }

    /// <summary>
    /// With a shape sweep and no profile keys: the optimization profile spans the sweep, per input and dimension the
    /// smallest (min) and largest (max) of its sets, the first set as opt. Null without a sweep.
    /// </summary>
    private List<KeyValuePair<string, string>>? SweepProfile()
    {
        var sets = Context.ShapeSets;
        if (sets.Count < 2) return null;
        var names = sets[0].Keys.Where(n => sets.All(s => s.TryGetValue(n, out var shape) && shape.Rank == sets[0][n].Rank) && sets.Any(s => !s[n].Equals(sets[0][n]))).ToList();
        if (names.Count == 0) return null;
        string Spec(Func<string, int, long> dim) => string.Join(",", names.Select(n => $"{n}:{string.Join("x", Enumerable.Range(0, sets[0][n].Rank).Select(d => dim(n, d)))}"));
        var min = Spec((n, d) => sets.Min(s => s[n][d]));
        var opt = Spec((n, d) => sets[0][n][d]);
        var max = Spec((n, d) => sets.Max(s => s[n][d]));
        if (!_profileNoted)
        {
            Note($"optimization profile from the {sets.Count} shape sets of the sweep: min {min}, opt {opt}, max {max} (min_shapes/opt_shapes/max_shapes set it by hand)");
            _profileNoted = true;
        }
        return [new("trt_profile_min_shapes", min), new("trt_profile_opt_shapes", opt), new("trt_profile_max_shapes", max)];
    }

    private bool _profileNoted;

    /// <summary>Null when TensorRT can run here; otherwise one line naming everything that is missing.</summary>
    public string? WhatIsMissing(OrtRuntime runtime)
    {
        var missing = new List<string>();
        if (GpuChecks.NoNvidiaDriver(_probe) is { } noGpu) missing.Add(noGpu);
        if (!TensorRtLibraries.Any(_probe.CanLoadLibrary))
            missing.Add($"TensorRT is not installed ({string.Join(" / ", TensorRtLibraries)} not found on the library path)");
        if (!runtime.AvailableProviders.Contains(ProviderName))
            missing.Add($"ONNX Runtime {runtime.Version} at {runtime.LibraryPath} has no TensorRT execution provider (use a GPU build with TensorRT support via --ort-library or POLYNET_ORT_LIBRARY)");
        return missing.Count == 0 ? null : string.Join("; ", missing);
    }

    protected override void ConfigureProvider(OrtRuntime runtime, OrtSessionOptionsHandle options)
    {
        if (WhatIsMissing(runtime) is { } missing)
            throw new RunnerException($"{Name}: unavailable: {missing}");
        var api = runtime.Api;
        if (Keys.GetBool("fallback") == false) api.AddSessionConfigEntry(options, "session.disable_cpu_ep_fallback", "1");
        using var trt = api.CreateTensorRTProviderOptions();
        api.UpdateTensorRTProviderOptions(trt, ProviderOptions());
        api.SessionOptionsAppendExecutionProvider_TensorRT_V2(options, trt);
        Note($"ONNX Runtime {runtime.Version}, TensorRT execution provider");
    }
}
