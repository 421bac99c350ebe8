using System.Security.Cryptography;
using System.Text.Json;
using Google.Protobuf;
using PolyNet.Calibration;
using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using PolyNet.Tests;
using Xunit;
using static PolyNet.Cli.Tests.CliHarness;

namespace PolyNet.Cli.Tests.Commands;

public class CalibCommandTests
{
    private static string Calib(string name) => Path.Combine(TestPaths.Fixtures, "calib", name);
    private static string ConvNet => TestPaths.Model("convnet.onnx");
    private static string ConvNetData => Path.Combine(TestPaths.Fixtures, "data", "convnet_calib.npz");

    /// <summary>x [3]; y = x·2, z = x + 5, w = y + z (the output).</summary>
    private static string SmallModel(TempDir dir)
    {
        var b = new ModelBuilder("m", 17);
        b.Input("x", ElementType.Float, 3);
        b.Initializer("two", TensorData.Scalar(2f));
        b.Initializer("five", TensorData.Scalar(5f));
        b.Node("Mul", ["x", "two"], name: "mul", output: "y");
        b.Node("Add", ["x", "five"], name: "add", output: "z");
        b.Node("Add", ["y", "z"], name: "sum", output: "w");
        b.Output("w", ElementType.Float, 3);
        var path = dir.File("m.onnx");
        File.WriteAllBytes(path, b.Build().ToByteArray());
        return path;
    }

    [Fact]
    public void Minmax_on_known_data_gives_exactly_the_expected_scales_across_batches()
    {
        using var dir = new TempDir();
        var model = SmallModel(dir);
        Npz.Write(dir.File("a.npz"), new ValueMap { { "x", TensorData.Create<float>([3], [-3.5f, 1f, 2f]) } });
        Npz.Write(dir.File("b.npz"), new ValueMap { { "x", TensorData.Create<float>([3], [0.5f, -1f, 3.25f]) } });
        // Several data files after one --data stop at the model (and at -o), wherever the model comes.
        var r = Run("calib", "generate", "--data", dir.File("a.npz"), dir.File("b.npz"), model, "--method", "minmax", "-o", dir.File("m.cache"));
        Assert.True(r.Code == 0, r.Out + r.Err);
        Assert.Contains("calibration data: sample 2 of 2", r.Out); // progress
        // Scales are float32(range) / 127 written as TensorRT does (bits from numpy: np.float32(v) / np.float32(127)).
        // x: max |x| = 3.5 (first file); y = 2x: 7; z = x + 5: 8.25 (second file); w = 3x + 5: 14.75.
        var text = File.ReadAllText(dir.File("m.cache"));
        Assert.Equal("TRT-100300-MinMaxCalibration\nx: 3ce1c387\ny: 3d61c387\nz: 3d850a14\nw: 3deddbb7\n", text);
    }

    [Fact]
    public void Generate_entropy_and_percentile_write_readable_caches_with_the_header_asked_for()
    {
        using var dir = new TempDir();
        foreach (var m in new[] { "entropy", "percentile" })
        {
            var r = Run("calib", "generate", ConvNet, "--data", ConvNetData, "--method", m, "-o", dir.File(m + ".cache"), "--trt-version", "8.6.1");
            Assert.True(r.Code == 0, r.Out + r.Err);
            var c = CacheReader.Read(dir.File(m + ".cache"));
            Assert.Equal(8601, c.Version!.Value.Raw);
            Assert.Equal("EntropyCalibration2", c.Algorithm);
            Assert.Equal(11, c.Entries.Count);
            Assert.All(c.Entries, e => Assert.True(e.Scale > 0 && float.IsFinite(e.Scale), e.Name));
        }
        // The committed entropy cache is what generate writes from the committed data (to within 1%: ONNX Runtime's
        // kernels may round differently on another CPU, and a value can cross a histogram bin).
        var again = CacheReader.Read(dir.File("entropy.cache"));
        var committed = CacheReader.Read(Calib("convnet.entropy.cache"));
        Assert.Equal(committed.Entries.Select(e => e.Name), again.Entries.Select(e => e.Name));
        foreach (var (c, g) in committed.Entries.Zip(again.Entries))
            Assert.True(Math.Abs(g.DynamicRange / c.DynamicRange - 1) < 0.01, $"{c.Name}: {g.DynamicRange} vs committed {c.DynamicRange}");
    }

    [Fact]
    public void Inspect_lists_flags_and_writes_json_without_touching_the_cache()
    {
        using var dir = new TempDir();
        var path = Calib("flags.cache");
        var before = SHA256.HashData(File.ReadAllBytes(path));
        var stamp = File.GetLastWriteTimeUtc(path);
        var r = Run("calib", "inspect", path, "--json", dir.File("i.json"));
        Assert.True(r.Code == 0, r.Out + r.Err);
        Assert.Contains("TRT-8601-EntropyCalibration2 (TensorRT 8.6.1, EntropyCalibration2), 12 entries", r.Out);
        Assert.Matches(@"infinite\s+inf\s+7f800000\s+inf\s+infinite", r.Out);
        Assert.Contains("[W] 7 of 12 entries flagged", r.Out);
        using var doc = JsonDocument.Parse(File.ReadAllText(dir.File("i.json")));
        var h = doc.RootElement.GetProperty("header");
        Assert.Equal(8601, h.GetProperty("version").GetInt32());
        Assert.Equal("8.6.1", h.GetProperty("tensorrt_version").GetString());
        Assert.Equal("EntropyCalibration2", h.GetProperty("algorithm").GetString());
        var t = doc.RootElement.GetProperty("tensors").EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!);
        Assert.Equal(12, t.Count);
        Assert.Equal(0.01, t["a"].GetProperty("scale").GetDouble(), 6);
        Assert.Equal(1.27, t["a"].GetProperty("dynamic_range").GetDouble(), 5);
        Assert.Equal(["zero"], t["zero"].GetProperty("flags").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal(["outlier"], t["outlier"].GetProperty("flags").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal(before, SHA256.HashData(File.ReadAllBytes(path)));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(path));
    }

    [Fact]
    public void Inspect_with_model_and_data_reports_clipping_sorted_by_risk()
    {
        using var dir = new TempDir();
        // Halve every range of the minmax cache: each tensor now clips the values above half its largest |x|.
        var c = CacheReader.Read(Calib("convnet.minmax.cache"));
        var halved = new CalibrationCache { Version = c.Version, Algorithm = c.Algorithm, Entries = c.Entries.Select(e => CacheEntry.FromRange(e.Name, e.DynamicRange / 2)).Append(new CacheEntry("ONNXTRT_Broadcast_3", 0x3c010204)).Append(new CacheEntry("old_name", 0x3c010204)).ToList() };
        halved.WriteTensorRt(dir.File("half.cache"));
        var r = Run("calib", "inspect", dir.File("half.cache"), "--model", ConvNet, "--data", ConvNetData, "--json", dir.File("i.json"));
        Assert.True(r.Code == 0, r.Out + r.Err);
        Assert.Contains("seen max", r.Out);
        Assert.Contains("[I] 1 entry names TensorRT's own tensors, not in the ONNX model by construction: ONNXTRT_Broadcast_3", r.Out);
        Assert.Contains("[W] 1 entry names no tensor of the model (a cache for another model or export?): old_name", r.Out);
        using var doc = JsonDocument.Parse(File.ReadAllText(dir.File("i.json")));
        var rows = doc.RootElement.GetProperty("tensors").EnumerateArray().Where(e => e.TryGetProperty("observed", out _)).ToList();
        Assert.Equal(11, rows.Count);
        foreach (var row in rows)
        {
            var o = row.GetProperty("observed");
            Assert.InRange(o.GetProperty("range_used_percent").GetDouble(), 199.9, 200.1); // seen max is twice the range
            Assert.True(o.GetProperty("clipped_percent").GetDouble() > 0, row.GetProperty("name").GetString());
        }
        var clipped = rows.Select(x => x.GetProperty("observed").GetProperty("clipped_percent").GetDouble()).ToList();
        Assert.Equal(clipped.OrderByDescending(x => x), clipped); // riskiest first
        // With the model alone: tensors without a range are listed.
        var cut = new CalibrationCache { Version = c.Version, Algorithm = c.Algorithm, Entries = c.Entries.Where(e => e.Name != "conv2_out").ToList() };
        cut.WriteTensorRt(dir.File("cut.cache"));
        var m = Run("calib", "inspect", dir.File("cut.cache"), "--model", ConvNet);
        Assert.Contains("[W] 1 model tensor(s) have no range", m.Out);
        Assert.Contains(": conv2_out", m.Out);
    }

    [Fact]
    public void Diff_sorts_by_change_and_fails_beyond_max_ratio()
    {
        var a = Calib("convnet.minmax.cache");
        var b = Calib("convnet.entropy.cache");
        var r = Run("calib", "diff", a, b);
        Assert.True(r.Code == 0, r.Out + r.Err);
        Assert.Contains("11 tensor(s) in both", r.Out);
        Assert.Matches(@"tensor\s+range A\s+range B\s+B / A", r.Out);
        var same = Run("calib", "diff", a, a, "--max-ratio", "1.0001");
        Assert.Equal(0, same.Code);
        var strict = Run("calib", "diff", a, b, "--max-ratio", "1.0001");
        Assert.Equal(1, strict.Code);
        Assert.Contains("changed by more than 1.0001x", strict.Out);
        var one = Run("calib", "diff", a, Calib("trt8601_entropy.cache"), "--max-ratio", "100");
        Assert.Equal(1, one.Code);
        Assert.Contains("[W] only in A: x, conv1_out", one.Out);
        Assert.Contains("[E] 18 entries on one side only", one.Out);
    }

    [Fact]
    public void Int8_emulation_runs_beside_fp32_and_differs_from_it()
    {
        using var dir = new TempDir();
        var r = Run("run", ConvNet, "--runner", "onnxrt", "--runner", $"onnxrt:precision=int8,calib={Calib("convnet.entropy.cache")}",
            "--load-inputs", ConvNetData, "--save-outputs", dir.File("out.json"));
        Assert.True(r.Code == 0, r.Out + r.Err);
        Assert.Contains("int8 emulation: 8 tensor(s) quantized", r.Out);
        // As TensorRT does, each BatchNormalization is folded into its Conv first: the Conv outputs (and their cache entries) are gone.
        Assert.Contains("2 BatchNormalization node(s) folded in float32 as TensorRT does (2 into the Conv before them", r.Out);
        Assert.Contains("conv1_out: folded with the BatchNormalization after it, as TensorRT does", r.Out + r.Err);
        Assert.Contains("3 weight tensor(s) per channel", r.Out);
        Assert.Contains("[int8 default]", r.Out);
        var results = PolygraphyJson.Read(dir.File("out.json"));
        var fp32 = results[0].Iterations[0]["logits"] as TensorData;
        var int8 = results[1].Iterations[0]["logits"] as TensorData;
        var d = fp32!.Span<float>().ToArray().Zip(int8!.Span<float>().ToArray(), (p, q) => Math.Abs(p - q)).Max();
        Assert.InRange(d, 1e-5f, 0.05f); // quantization moves the outputs, a little
        // The Q/DQ pairs run as written (ORT's QDQ fusion off): the same as asking for it explicitly, to the bit.
        var same = Run("run", ConvNet, "--runner", $"onnxrt:precision=int8,calib={Calib("convnet.entropy.cache")}",
            "--runner", $"onnxrt:precision=int8,calib={Calib("convnet.entropy.cache")},config.session.disable_quant_qdq=1", "--load-inputs", ConvNetData, "--atol", "0", "--rtol", "0");
        Assert.True(same.Code == 0, same.Out + same.Err);
        // Strict tolerances make the INT8 error visible.
        var strict = Run("run", ConvNet, "--runner", "onnxrt", "--runner", $"onnxrt:precision=int8,calib={Calib("convnet.entropy.cache")}", "--atol", "1e-6", "--rtol", "0");
        Assert.Equal(1, strict.Code);
    }

    [Fact]
    public void Int8_runner_options_are_checked()
    {
        AssertOneLineError(Run("run", ConvNet, "--runner", "onnxrt", "onnxrt:precision=int8"), 2, "calib");
        AssertOneLineError(Run("run", ConvNet, "--runner", "onnxrt", $"onnxrt:calib={Calib("convnet.entropy.cache")}"), 2, "precision=int8");
        AssertOneLineError(Run("run", ConvNet, "--runner", "onnxrt", $"onnxrt:precision=int8,calib={Calib("bad_hex.cache")}"), 2, "bad_hex.cache:2");
    }

    [Fact]
    public void Sensitivity_ranks_tensors_by_the_error_their_quantization_causes()
    {
        using var dir = new TempDir();
        var r = Run("calib", "sensitivity", ConvNet, "--calib", Calib("convnet.entropy.cache"), "--data", ConvNetData, "--top", "3", "--json", dir.File("s.json"));
        Assert.True(r.Code == 0, r.Out + r.Err);
        Assert.Contains("one tensor quantized at a time (largest first), over 8 sample(s)", r.Out);
        using var doc = JsonDocument.Parse(File.ReadAllText(dir.File("s.json")));
        var errs = doc.RootElement.GetProperty("tensors").EnumerateArray().Select(t => t.GetProperty("rel_l2").GetDouble()).ToList();
        Assert.Equal(10, errs.Count);
        Assert.Equal(errs.OrderByDescending(x => x), errs);
        Assert.True(errs[0] > 0, "quantizing the worst tensor changes the outputs");
        var butOne = Run("calib", "sensitivity", ConvNet, "--calib", Calib("convnet.entropy.cache"), "--data", ConvNetData, "--all-but-one");
        Assert.True(butOne.Code == 0, butOne.Out + butOne.Err);
        Assert.Contains("every tensor quantized but one", butOne.Out);
    }

    [Theory]
    [InlineData("bad_header.cache", "bad_header.cache:1: bad header")]
    [InlineData("no_colon.cache", "no_colon.cache:3: no ': '")]
    [InlineData("bad_hex.cache", "bad_hex.cache:2: scale '3c01020g'")]
    [InlineData("long_hex.cache", "long_hex.cache:2: scale '13c010204'")]
    [InlineData("duplicate.cache", "duplicate.cache:4: tensor 'x' appears twice")]
    [InlineData("empty.cache", "empty.cache: is empty")]
    [InlineData("binary.cache", "binary.cache: is a binary file")]
    public void Bad_caches_are_one_line_with_exit_2(string name, string message)
    {
        AssertOneLineError(Run("calib", "inspect", Calib(name)), 2, message);
        AssertOneLineError(Run("calib", "diff", Calib(name), Calib("trt8601_entropy.cache")), 2, message);
    }

    [Fact]
    public void Bad_options_are_one_line_with_exit_2()
    {
        using var dir = new TempDir();
        AssertOneLineError(Run("calib", "generate", ConvNet, "--data", ConvNetData, "--method", "kl", "-o", dir.File("x.cache")), 2, "--method kl");
        AssertOneLineError(Run("calib", "generate", ConvNet, "--data", ConvNetData, "-o", dir.File("x.cache"), "--trt-version", "ten"), 2, "ten");
        AssertOneLineError(Run("calib", "generate", ConvNet, "--data", ConvNetData, "-o", dir.File("none/x.cache")), 2, "does not exist");
        AssertOneLineError(Run("calib", "inspect", Calib("flags.cache"), "--data", ConvNetData), 2, "--data needs --model");
        AssertOneLineError(Run("calib", "diff", Calib("flags.cache"), Calib("flags.cache"), "--max-ratio", "0.5"), 2, "--max-ratio");
        Assert.False(File.Exists(dir.File("x.cache")));
    }

    [Fact]
    public void Outputs_never_overwrite_inputs()
    {
        using var dir = new TempDir();
        File.Copy(Calib("flags.cache"), dir.File("c.cache"));
        var before = File.ReadAllBytes(dir.File("c.cache"));
        AssertOneLineError(Run("calib", "inspect", dir.File("c.cache"), "--json", dir.File("c.cache")), 2, "would overwrite an input");
        AssertOneLineError(Run("calib", "sensitivity", ConvNet, "--calib", dir.File("c.cache"), "--json", dir.File("c.cache")), 2, "would overwrite an input");
        AssertOneLineError(Run("calib", "generate", ConvNet, "--data", ConvNetData, "-o", ConvNetData), 2, "would overwrite an input");
        Assert.Equal(before, File.ReadAllBytes(dir.File("c.cache")));
    }

    [Fact]
    public void Generate_warns_of_non_finite_values_and_keeps_ranges_finite()
    {
        using var dir = new TempDir();
        var b = new ModelBuilder("m", 17);
        b.Input("x", ElementType.Float, 4);
        b.Node("Log", ["x"], name: "log", output: "l");
        b.Node("Abs", ["l"], name: "abs", output: "y");
        b.Output("y", ElementType.Float, 4);
        File.WriteAllBytes(dir.File("m.onnx"), b.Build().ToByteArray());
        Npz.Write(dir.File("x.npz"), new ValueMap { { "x", TensorData.Create<float>([4], [-1f, 0f, 1f, (float)Math.E]) } });
        var r = Run("calib", "generate", dir.File("m.onnx"), "--data", dir.File("x.npz"), "--method", "minmax", "-o", dir.File("m.cache"));
        Assert.True(r.Code == 0, r.Out + r.Err);
        Assert.Contains("[W] 2 tensor(s) took NaN or infinite values", r.Err);
        Assert.Contains("l (1 NaN, 1 inf)", r.Err);
        var c = CacheReader.Read(dir.File("m.cache"));
        Assert.Equal(1f, c["l"]!.DynamicRange, 5); // |log e| = 1: the largest finite magnitude
        Assert.All(c.Entries, e => Assert.True(float.IsFinite(e.Scale), e.Name));
    }
}
