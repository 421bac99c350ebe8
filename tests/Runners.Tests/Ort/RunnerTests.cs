using PolyNet.Onnx;
using PolyNet.Runners.Native;
using PolyNet.Runners.Ort;
using PolyNet.Runners.Specs;
using PolyNet.Tests;
using Xunit;

namespace PolyNet.Runners.Tests.Ort;

/// <summary>A machine described by hand: which files exist, which libraries load.</summary>
internal sealed class FakeProbe(bool driver = false, string[]? libraries = null, Dictionary<string, string>? env = null, string[]? files = null) : ISystemProbe
{
    public bool FileExists(string path) => (driver && path == "/proc/driver/nvidia/version") || (files?.Contains(path) ?? false);
    public bool CanLoadLibrary(string name) => libraries?.Contains(name) ?? false;
    public string? Environment(string name) => env?.GetValueOrDefault(name);
}

public class CpuRunnerTests
{
    private static RunnerContext Ctx(string fixture) => new() { Model = OnnxModel.Load(TestPaths.Model(fixture)) };

    [Fact]
    public void Runs_with_session_keys_and_reports_what_it_is()
    {
        using var r = RunnerRegistry.Create(RunnerSpec.Parse("onnxrt:opt=basic,intra=1,inter=1,exec=sequential,deterministic=1,arena=0,mem_pattern=0,config.session.set_denormal_as_zero=1,name=ref"), Ctx("mlp.onnx"));
        r.Activate();
        Assert.Equal("ref", r.Name);
        Assert.Contains(r.Notes, n => n.Contains("CPU execution provider"));
        var outs = r.Infer(new ValueMap { { "x", TensorData.Create<float>([1, 16], new float[16]) } });
        var probs = outs.Tensor("probs").ToArray<float>();
        Assert.Equal(1.0, probs.Sum(), 5);
        Assert.True(r.LastInferenceTime > TimeSpan.Zero);
    }

    [Fact]
    public void Unknown_keys_and_bad_values_fail_before_any_session_is_built()
    {
        var e1 = Assert.Throws<InvalidInputException>(() => RunnerRegistry.Create(RunnerSpec.Parse("onnxrt:tf32=0"), Ctx("mlp.onnx")));
        Assert.Contains("unknown key 'tf32' for onnxrt", e1.Message);
        var e2 = Assert.Throws<InvalidInputException>(() => RunnerRegistry.Create(RunnerSpec.Parse("onnxrt:opt=fast"), Ctx("mlp.onnx")));
        Assert.Contains("opt=fast is not valid (expected disable|basic|extended|layout|all)", e2.Message);
        var e3 = Assert.Throws<InvalidInputException>(() => RunnerRegistry.Create(RunnerSpec.Parse("tensorflow"), Ctx("mlp.onnx")));
        Assert.Contains("unknown runner kind 'tensorflow'", e3.Message);
    }

    [Fact]
    public void An_onnx_runtime_error_while_building_is_a_runner_failure_naming_the_runner()
    {
        var b = new ModelBuilder("bad", opset: 17);
        var x = b.Input("x", ElementType.Float, 2);
        b.Node("NoSuchOp", [x], output: "y");
        b.Output("y", ElementType.Float, 2);
        using var r = RunnerRegistry.Create(RunnerSpec.Parse("onnxrt"), new RunnerContext { Model = b.BuildModel() });
        var e = Assert.Throws<RunnerException>(r.Activate);
        Assert.StartsWith("onnxrt: ONNX Runtime CreateSessionFromArray failed", e.Message);
        Assert.Contains("NoSuchOp", e.Message);
        Assert.Equal(ExitCodes.RunnerFailed, e.ExitCode);
    }

    [Fact]
    public void Extra_outputs_expose_intermediate_tensors()
    {
        var ctx = new RunnerContext { Model = OnnxModel.Load(TestPaths.Model("mlp.onnx")), ExtraOutputs = ["relu1_out", "fc1_out"] };
        using var r = RunnerRegistry.Create(RunnerSpec.Parse("onnxrt"), ctx);
        r.Activate();
        Assert.Equal(new[] { "logits", "probs", "relu1_out", "fc1_out" }, r.Outputs.Select(o => o.Name));
        var outs = r.Infer(new ValueMap { { "x", TensorData.Create<float>([1, 16], Enumerable.Range(0, 16).Select(i => i / 8f - 1).ToArray()) } });
        var pre = outs.Tensor("fc1_out").ToArray<float>();
        Assert.Equal(pre.Select(v => Math.Max(v, 0)), outs.Tensor("relu1_out").ToArray<float>());
    }

    [Fact]
    public void A_model_with_external_data_runs_from_its_file_and_from_memory()
    {
        var model = OnnxModel.Load(TestPaths.Model("external/mlp_external.onnx"));
        Assert.True(model.HasExternalData);
        var feed = new ValueMap { { "x", TensorData.Create<float>([1, 16], new float[16]) } };
        using var fromFile = RunnerRegistry.Create(RunnerSpec.Parse("onnxrt"), new RunnerContext { Model = model });
        fromFile.Activate();
        using var fromMemory = RunnerRegistry.Create(RunnerSpec.Parse("onnxrt"), new RunnerContext { Model = model, ExtraOutputs = ["relu1_out"] });
        fromMemory.Activate();
        Assert.Equal(fromFile.Infer(feed).Tensor("logits").ToArray<float>(), fromMemory.Infer(feed).Tensor("logits").ToArray<float>());
    }
}

public class GpuRunnerTests
{
    private static RunnerContext Ctx => new() { Model = OnnxModel.Load(TestPaths.Model("mlp.onnx")) };

    [Fact]
    public void Cuda_without_a_gpu_says_so_in_one_line()
    {
        using var r = new CudaRunner(RunnerSpec.Parse("cuda"), Ctx, new FakeProbe(driver: false));
        var e = Assert.Throws<RunnerException>(r.Activate);
        Assert.Equal("cuda: unavailable: no NVIDIA GPU or driver on this machine (no /proc/driver/nvidia/version, no /dev/nvidiactl, no libcuda.so.1)", e.Message);
        Assert.Equal(ExitCodes.RunnerFailed, e.ExitCode);
    }

    [Fact]
    public void Cuda_with_a_driver_but_no_usable_provider_says_what_is_missing()
    {
        var rt = OrtRuntime.Current;
        if (rt.ProviderLibraryBeside(CudaRunner.ProviderLibraryFile) is not null) Assert.Skip("a CUDA provider library sits next to this ONNX Runtime");
        using var r = new CudaRunner(RunnerSpec.Parse("cuda"), Ctx, new FakeProbe(driver: true));
        var e = Assert.Throws<RunnerException>(r.Activate);
        if (rt.AvailableProviders.Contains(CudaRunner.ProviderName))
            // Built with the CUDA provider as a separate library that is not installed (onnxruntime-node's build is one).
            Assert.Matches(@"could not start its CUDA execution provider: libonnxruntime_providers_\w+\.so is missing \(not on the library path", e.Message);
        else
            Assert.Contains("is a CPU build without the CUDA execution provider, and no CUDA provider library was found", e.Message);
        Assert.Contains(rt.LibraryPath, e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void Cuda_with_a_provider_library_that_does_not_load_reports_ORTs_reason()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("libonnxruntime_providers_cuda.so"), "not a library");
        var probe = new FakeProbe(driver: true, files: ["/proc/driver/nvidia/version", dir.File("libonnxruntime_providers_cuda.so")]);
        using var missing = new CudaRunner(RunnerSpec.Parse($"cuda:provider_lib={dir.File("nope.so")}"), Ctx, probe);
        Assert.Contains("does not exist", Assert.Throws<RunnerException>(missing.Activate).Message);
        using var bad = new CudaRunner(RunnerSpec.Parse($"cuda:provider_lib={dir.File("libonnxruntime_providers_cuda.so")}"), Ctx, probe);
        var e = Assert.Throws<RunnerException>(bad.Activate);
        Assert.StartsWith("cuda:provider_lib=", e.Message);
        Assert.Contains("could not load", e.Message);
    }

    [Fact]
    public void Cuda_keys_become_provider_options()
    {
        var r = new CudaRunner(RunnerSpec.Parse("cuda:tf32=0,conv_algo=heuristic,mem_limit=2G,cuda_graph=1,ep.prefer_nhwc=1"), Ctx, new FakeProbe());
        Assert.Equal(new Dictionary<string, string>
        {
            ["use_tf32"] = "0",
            ["cudnn_conv_algo_search"] = "HEURISTIC",
            ["gpu_mem_limit"] = (2L << 30).ToString(),
            ["enable_cuda_graph"] = "1",
            ["prefer_nhwc"] = "1",
        }, r.ProviderOptions().ToDictionary(p => p.Key, p => p.Value));
        Assert.Contains("tf32=maybe is not valid", Assert.Throws<InvalidInputException>(() => new CudaRunner(RunnerSpec.Parse("cuda:tf32=maybe"), Ctx)).Message);
    }

    [Fact]
    public void TensorRT_names_everything_that_is_missing_in_one_line()
    {
        var rt = OrtRuntime.Current;
        using var r = new TensorRtRunner(RunnerSpec.Parse("trt:fp16=1"), Ctx, new FakeProbe(driver: false));
        var e = Assert.Throws<RunnerException>(r.Activate);
        Assert.StartsWith("trt:fp16=1: unavailable: no NVIDIA GPU or driver", e.Message);
        Assert.Contains("TensorRT is not installed (libnvinfer.so.10 / libnvinfer.so.8 not found on the library path)", e.Message);
        if (!rt.AvailableProviders.Contains(TensorRtRunner.ProviderName))
            Assert.Contains("has no TensorRT execution provider", e.Message);
        Assert.DoesNotContain("\n", e.Message);

        using var onlyOrt = new TensorRtRunner(RunnerSpec.Parse("trt"), Ctx, new FakeProbe(driver: true, libraries: ["libnvinfer.so.10"]));
        var missing = onlyOrt.WhatIsMissing(rt);
        if (rt.AvailableProviders.Contains(TensorRtRunner.ProviderName)) Assert.Null(missing);
        else Assert.Equal($"ONNX Runtime {rt.Version} at {rt.LibraryPath} has no TensorRT execution provider (use a GPU build with TensorRT support via --ort-library or POLYNET_ORT_LIBRARY)", missing);
    }

    [Fact]
    public void TensorRT_keys_become_trt_provider_options()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("calib.cache"), "TRT-100300-EntropyCalibration2\nx: 3c010204\n");
        var r = new TensorRtRunner(RunnerSpec.Parse(
            $"trt:fp16=1,int8=1,calib={dir.File("calib.cache")},engine_cache={dir.Path},workspace=4G,min_shapes=x:1x16,max_shapes=x:8x16,opt_shapes=x:4x16,builder_opt=3"),
            Ctx, new FakeProbe());
        var o = r.ProviderOptions().ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("1", o["trt_fp16_enable"]);
        Assert.Equal("1", o["trt_int8_enable"]);
        Assert.Equal("1", o["trt_int8_use_native_calibration_table"]);
        Assert.Equal(dir.Path, o["trt_engine_cache_path"]);
        Assert.Equal((4L << 30).ToString(), o["trt_max_workspace_size"]);
        Assert.Equal("x:1x16", o["trt_profile_min_shapes"]);
        Assert.Equal("x:8x16", o["trt_profile_max_shapes"]);
        Assert.Equal("3", o["trt_builder_optimization_level"]);
        Assert.Equal(dir.File("calib.cache"), o["trt_int8_calibration_table_name"]);
        Assert.Contains("int8=1 together with calib=", Assert.Throws<InvalidInputException>(() => new TensorRtRunner(RunnerSpec.Parse("trt:int8=1"), Ctx)).Message);
        // The cache is read first: a malformed one is refused with its line; ONNX Runtime's text format is converted.
        File.WriteAllText(dir.File("bad.cache"), "TRT-100300-EntropyCalibration2\nx 3c010204\n");
        Assert.Contains("bad.cache:2: no ': '", Assert.Throws<InvalidInputException>(() => new TensorRtRunner(RunnerSpec.Parse($"trt:int8=1,calib={dir.File("bad.cache")}"), Ctx, new FakeProbe())).Message);
        // ONNX Runtime's text format, and TensorRT caches whose names hold ':' (ORT's native reader cuts them at the
        // first ':'), go to the provider as ORT's calibration.flatbuffers, whose keys hold any name.
        File.WriteAllText(dir.File("ort.cache"), "x 1.0\n");
        File.WriteAllText(dir.File("colon.cache"), "TRT-8601-EntropyCalibration2\ninput_1:0: 3c010204\n");
        foreach (var (file, name) in new[] { ("ort.cache", "x"), ("colon.cache", "input_1:0") })
        {
            string converted;
            using (var ort = new TensorRtRunner(RunnerSpec.Parse($"trt:int8=1,calib={dir.File(file)}"), Ctx, new FakeProbe()))
            {
                var oo = ort.ProviderOptions().ToDictionary(p => p.Key, p => p.Value);
                Assert.Equal("0", oo["trt_int8_use_native_calibration_table"]);
                converted = oo["trt_int8_calibration_table_name"];
                var back = PolyNet.Calibration.CacheReader.Read(converted);
                Assert.Equal(PolyNet.Calibration.CacheFormat.OrtFlatBuffers, back.Format);
                Assert.Equal(name, Assert.Single(back.Entries).Name);
                Assert.Equal(1f, back.Entries[0].DynamicRange, 6);
            }
            Assert.False(File.Exists(converted)); // deleted with the runner
        }
        Assert.Contains("NAME:DIMS", Assert.Throws<InvalidInputException>(() => new TensorRtRunner(RunnerSpec.Parse("trt:min_shapes=1x16"), Ctx)).Message);
    }

    [Fact]
    public void Cuda_runner_agrees_with_cpu_on_a_real_gpu()
    {
        if (GpuChecks.NoNvidiaDriver(SystemProbe.Default) is { } why) Assert.Skip($"needs a GPU: {why}");
        var feed = new ValueMap { { "x", TensorData.Create<float>([1, 16], Enumerable.Range(0, 16).Select(i => i / 16f).ToArray()) } };
        using var cpu = RunnerRegistry.Create(RunnerSpec.Parse("onnxrt"), Ctx);
        using var gpu = RunnerRegistry.Create(RunnerSpec.Parse("cuda:tf32=0"), Ctx);
        cpu.Activate();
        gpu.Activate();
        var a = cpu.Infer(feed).Tensor("probs").ToArray<float>();
        var b = gpu.Infer(feed).Tensor("probs").ToArray<float>();
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i], 4);
    }

    [Fact]
    public void TensorRT_runner_agrees_with_cpu_where_TensorRT_exists()
    {
        using var probe = new TensorRtRunner(RunnerSpec.Parse("trt"), Ctx);
        if (probe.WhatIsMissing(OrtRuntime.Current) is { } missing) Assert.Skip($"needs TensorRT: {missing}");
        probe.Activate();
        var feed = new ValueMap { { "x", TensorData.Create<float>([1, 16], Enumerable.Range(0, 16).Select(i => i / 16f).ToArray()) } };
        using var cpu = RunnerRegistry.Create(RunnerSpec.Parse("onnxrt"), Ctx);
        cpu.Activate();
        var a = cpu.Infer(feed).Tensor("probs").ToArray<float>();
        var b = probe.Infer(feed).Tensor("probs").ToArray<float>();
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i], 4);
    }
}
