using PolyNet.Runners.Native;
using PolyNet.Runners.Specs;

namespace PolyNet.Runners.Ort;

/// <summary>
/// ONNX Runtime's CUDA execution provider (`--runner cuda[:key=value,...]`). Two ways in:
/// on a GPU build of ORT, the classic SessionOptionsAppendExecutionProvider_CUDA_V2; on a CPU build, the provider
/// library loaded as a plugin (RegisterExecutionProviderLibrary, GetEpDevices, SessionOptionsAppendExecutionProvider_V2).
/// The plugin library is provider_lib=PATH, else $POLYNET_CUDA_PROVIDER_LIBRARY, else libonnxruntime_providers_cuda.so
/// next to the ORT library. What is missing (driver, provider, CUDA libraries, device) is reported in one line.
/// </summary>
public sealed class CudaRunner : OrtRunner
{
    public const string Kind = "cuda";
    public const string ProviderName = "CUDAExecutionProvider";
    public const string ProviderLibraryVariable = "POLYNET_CUDA_PROVIDER_LIBRARY";
    public const string ProviderLibraryFile = "libonnxruntime_providers_cuda.so";

    public static RunnerKind Definition => new(Kind, "ONNX Runtime, CUDA execution provider", AcceptedKeys, UsesGpu: true, (s, c) => new CudaRunner(s, c));

    private static readonly HashSet<string> Registered = new(StringComparer.Ordinal);
    private static readonly Lock Gate = new();

    public static readonly IReadOnlyList<RunnerKey> AcceptedKeys =
    [
        .. SessionKeys,
        new("device", "N", "CUDA device ordinal (default 0)"),
        new("tf32", "0|1", "TF32 math in convolutions and GEMMs (ORT's use_tf32; ORT's default is on)"),
        new("conv_algo", "exhaustive|heuristic|default", "cuDNN convolution algorithm search"),
        new("mem_limit", "BYTES", "GPU memory arena limit, e.g. 8G"),
        new("cuda_graph", "0|1", "capture and replay a CUDA graph"),
        new("fallback", "0|1", "let nodes the provider cannot run fall back to the CPU (default 1)"),
        new("provider_lib", "PATH", "CUDA provider library to load as a plugin (CPU builds of ORT)"),
        new("ep.*", "VALUE", "any CUDA provider option verbatim, e.g. ep.cudnn_conv_use_max_workspace=1"),
        .. PrecisionKeys,
    ];

    private readonly ISystemProbe _probe;

    public CudaRunner(RunnerSpec spec, RunnerContext context, ISystemProbe? probe = null) : base(spec, context, AcceptedKeys)
    {
        _probe = probe ?? SystemProbe.Default;
        _ = Keys.GetInt("device", 0);
        _ = Keys.GetBool("tf32");
        _ = Keys.GetChoice("conv_algo", "exhaustive", "heuristic", "default");
        _ = Keys.GetBytes("mem_limit");
        _ = Keys.GetBool("cuda_graph");
        _ = Keys.GetBool("fallback");
    }

    /// <summary>float16 or int8 with precision=fp16 or int8; else TF32 unless tf32=0: ORT's CUDA provider enables TF32 by default.</summary>
    public override Onnx.ComputePrecision Precision => base.Precision is Onnx.ComputePrecision.Fp16 or Onnx.ComputePrecision.Int8 ? base.Precision
        : Keys.GetBool("tf32") == false ? Onnx.ComputePrecision.Fp32 : Onnx.ComputePrecision.Tf32;

    /// <summary>The CUDA provider's float16 kernels are the point: convert every node and let ORT place it.</summary>
    protected override bool Float16NeedsNativeKernels => false;

    /// <summary>The provider options ORT receives, from the spec's keys.</summary>
    public List<KeyValuePair<string, string>> ProviderOptions()
    {
        var o = new List<KeyValuePair<string, string>>();
        if (Keys.GetBool("tf32") is { } tf32) o.Add(new("use_tf32", tf32 ? "1" : "0"));
        if (Keys.GetChoice("conv_algo", "exhaustive", "heuristic", "default") is { } algo) o.Add(new("cudnn_conv_algo_search", algo.ToUpperInvariant()));
        if (Keys.GetBytes("mem_limit") is { } lim) o.Add(new("gpu_mem_limit", lim.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        if (Keys.GetBool("cuda_graph") is { } g) o.Add(new("enable_cuda_graph", g ? "1" : "0"));
        o.AddRange(Keys.WithPrefix("ep."));
        return o;
    }

    /// <summary>The provider library named by provider_lib= or $POLYNET_CUDA_PROVIDER_LIBRARY, or null.</summary>
    public string? ExplicitProviderLibrary => Keys.Get("provider_lib") ?? _probe.Environment(ProviderLibraryVariable);

    /// <summary>
    /// Chooses the way in: an explicitly named provider library is loaded as a plugin; otherwise a build that
    /// lists the CUDA provider gets the classic call; otherwise a provider library next to ORT is loaded as a plugin.
    /// Each dead end is one line saying what is missing.
    /// </summary>
    protected override void ConfigureProvider(OrtRuntime runtime, OrtSessionOptionsHandle options)
    {
        var api = runtime.Api;
        if (GpuChecks.NoNvidiaDriver(_probe) is { } noGpu)
            throw new RunnerException($"{Name}: unavailable: {noGpu}");
        int device = Keys.GetInt("device", 0) ?? 0;
        if (Keys.GetBool("fallback") == false) api.AddSessionConfigEntry(options, "session.disable_cpu_ep_fallback", "1");
        var providerOptions = ProviderOptions();

        if (ExplicitProviderLibrary is { } named)
        {
            AppendPlugin(runtime, options, named, device, providerOptions);
            return;
        }
        if (runtime.AvailableProviders.Contains(ProviderName))
        {
            try
            {
                using var cuda = api.CreateCUDAProviderOptions();
                api.UpdateCUDAProviderOptions(cuda, [new("device_id", device.ToString(System.Globalization.CultureInfo.InvariantCulture)), .. providerOptions]);
                api.SessionOptionsAppendExecutionProvider_CUDA_V2(options, cuda);
                Note($"ONNX Runtime {runtime.Version}, CUDA execution provider on device {device}");
                return;
            }
            catch (OrtException e)
            {
                throw new RunnerException($"{Name}: unavailable: ONNX Runtime {runtime.Version} at {runtime.LibraryPath} could not start its CUDA execution provider: {GpuChecks.ExplainLoadFailure(e.OrtMessage)}", e);
            }
        }
        var beside = runtime.ProviderLibraryBeside(ProviderLibraryFile)
            ?? throw new RunnerException($"{Name}: unavailable: ONNX Runtime {runtime.Version} at {runtime.LibraryPath} is a CPU build without the CUDA execution provider, and no CUDA provider library was found ({ProviderLibraryFile} beside it, provider_lib=PATH, or ${ProviderLibraryVariable})");
        AppendPlugin(runtime, options, beside, device, providerOptions);
    }

    private void AppendPlugin(OrtRuntime runtime, OrtSessionOptionsHandle options, string lib, int device, List<KeyValuePair<string, string>> providerOptions)
    {
        var api = runtime.Api;
        if (!_probe.FileExists(lib))
            throw new RunnerException($"{Name}: unavailable: CUDA provider library {lib} does not exist");
        lock (Gate)
        {
            if (!Registered.Contains(lib))
            {
                try
                {
                    api.RegisterExecutionProviderLibrary(runtime.Env, "CUDA", lib);
                }
                catch (OrtException e)
                {
                    throw new RunnerException($"{Name}: unavailable: ONNX Runtime {runtime.Version} could not load {lib}: {GpuChecks.ExplainLoadFailure(e.OrtMessage)}", e);
                }
                Registered.Add(lib);
            }
        }
        var cudaDevices = api.GetEpDevices(runtime.Env).Where(d => api.EpDevice_EpName(d) == ProviderName).ToArray();
        if (cudaDevices.Length == 0)
            throw new RunnerException($"{Name}: unavailable: {lib} loaded, but ONNX Runtime found no CUDA device");
        if (device >= cudaDevices.Length)
            throw new RunnerException($"{Name}: device={device} does not exist (ONNX Runtime sees {cudaDevices.Length} CUDA device(s))");
        api.SessionOptionsAppendExecutionProvider_V2(options, runtime.Env, [cudaDevices[device]], providerOptions);
        Note($"ONNX Runtime {runtime.Version} with the CUDA provider plugin {lib}, device {device}");
    }
}
