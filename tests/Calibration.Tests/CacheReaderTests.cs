using System.Text;
using PolyNet.Calibration;
using PolyNet.Onnx;
using PolyNet.Tests;
using Xunit;

namespace PolyNet.Calibration.Tests;

public class CacheReaderTests
{
    private static string Calib(string name) => Path.Combine(TestPaths.Fixtures, "calib", name);

    [Fact]
    public void A_TensorRT_8_cache_decodes_header_names_and_scales()
    {
        var c = CacheReader.Read(Calib("trt8601_entropy.cache"));
        Assert.Equal(CacheFormat.TensorRt, c.Format);
        Assert.Equal(8601, c.Version!.Value.Raw);
        Assert.Equal((8, 6, 1), c.Version.Value.Parts);
        Assert.Equal("EntropyCalibration2", c.Algorithm);
        Assert.Equal(["images", "input_1:0", "/model.0/conv/Conv_output_0", "(Unnamed Layer* 12) [Shuffle]_output", "onnx::Gemm_42_output", "366", "tiny"],
            c.Entries.Select(e => e.Name));
        Assert.Equal(1f / 127f, c["input_1:0"]!.Scale);        // 3c010204 is 1/127
        Assert.Equal(1f, c["input_1:0"]!.DynamicRange, 6);
        Assert.Equal(0.125f, c["onnx::Gemm_42_output"]!.Scale);  // 3e000000
        Assert.Equal(0u, c["366"]!.ScaleBits);                   // "0" is a legal scale
        Assert.Equal(0x1000u, c["tiny"]!.ScaleBits);            // unpadded hex
        Assert.Equal(3, c["input_1:0"]!.Line);
    }

    [Fact]
    public void A_TensorRT_10_version_decodes_under_its_own_numbering()
    {
        var c = CacheReader.Read(Calib("trt100300_minmax.cache"));
        Assert.Equal("10.3.0", c.Version!.Value.ToString());
        Assert.Equal("MinMaxCalibration", c.Algorithm);
        Assert.Equal("8.6.1", new TrtVersion(8601).ToString());
        Assert.Equal("10.12.1", new TrtVersion(101201).ToString());
        Assert.Equal(100300, TrtVersion.Parse("10.3.0").Raw);
        Assert.Equal(8601, TrtVersion.Parse("8.6.1").Raw);
    }

    [Theory]
    [InlineData("trt8601_entropy.cache")]
    [InlineData("trt100300_minmax.cache")]
    [InlineData("flags.cache")]
    public void Writing_a_TensorRT_cache_back_gives_the_same_bytes(string name)
    {
        var bytes = File.ReadAllBytes(Calib(name));
        var c = CacheReader.Parse(bytes, name);
        Assert.Equal(Encoding.UTF8.GetString(bytes), c.ToTensorRtText());
    }

    [Fact]
    public void A_round_trip_keeps_every_bit_of_every_scale()
    {
        var rng = new Random(5);
        var entries = new List<CacheEntry>();
        uint[] special = [0, 1, 0x7f800000, 0xff800000, 0x7fc00001, 0x7fbfffff, 0x80000000, 0x3c010204, 0xffffffff, 0x00800000];
        for (int i = 0; i < 500; i++)
        {
            uint bits = i < special.Length ? special[i] : (uint)rng.NextInt64(0, 1L << 32);
            entries.Add(new CacheEntry($"t{i}: odd/name [x] {i}", bits));
        }
        var c = new CalibrationCache { Version = new TrtVersion(100300), Algorithm = "EntropyCalibration2", Entries = entries };
        var text = c.ToTensorRtText();
        var back = CacheReader.Parse(Encoding.UTF8.GetBytes(text), "mem");
        Assert.Equal(entries.Select(e => (e.Name, e.ScaleBits)), back.Entries.Select(e => (e.Name, e.ScaleBits)));
        Assert.Equal(text, back.ToTensorRtText());
        // TensorRT's spelling: lowercase, no leading zeros, one entry per line, a final newline.
        Assert.Contains("\nt0: odd/name [x] 0: 0\n", text);
        Assert.Contains("\nt1: odd/name [x] 1: 1\n", text);
        Assert.Contains("\nt8: odd/name [x] 8: ffffffff\n", text);
        Assert.StartsWith("TRT-100300-EntropyCalibration2\n", text);
        Assert.EndsWith("\n", text);
    }

    [Fact]
    public void Writing_is_atomic_and_reads_back()
    {
        using var dir = new TempDir();
        var c = CacheReader.Read(Calib("trt8601_entropy.cache"));
        c.WriteTensorRt(dir.File("out.cache"));
        Assert.Equal(File.ReadAllBytes(Calib("trt8601_entropy.cache")), File.ReadAllBytes(dir.File("out.cache")));
        Assert.Single(Directory.GetFiles(dir.Path)); // no temporary left behind
    }

    [Theory]
    [InlineData("bad_header.cache", ":1: bad header 'TensorRT calibration v1'")]
    [InlineData("no_colon.cache", ":3: no ': ' between tensor name and scale in 'y 3c010204'")]
    [InlineData("bad_hex.cache", ":2: scale '3c01020g' of 'x' is not hexadecimal")]
    [InlineData("long_hex.cache", ":2: scale '13c010204' of 'x' is not hexadecimal float32 bits (1 to 8 hex digits)")]
    [InlineData("duplicate.cache", ":4: tensor 'x' appears twice (first on line 2)")]
    [InlineData("empty.cache", ": is empty")]
    [InlineData("binary.cache", ": is a binary file")]
    public void Each_malformed_cache_is_one_line_naming_file_and_line(string name, string expected)
    {
        var path = Calib(name);
        var before = File.ReadAllBytes(path);
        var e = Assert.Throws<InvalidInputException>(() => CacheReader.Read(path));
        Assert.StartsWith(path, e.Message);
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Equal(before, File.ReadAllBytes(path)); // reading never modifies
    }

    [Fact]
    public void A_missing_file_and_a_folder_are_refused_plainly()
    {
        using var dir = new TempDir();
        Assert.Contains("no such file", Assert.Throws<InvalidInputException>(() => CacheReader.Read(dir.File("nope.cache"))).Message);
        Assert.Contains("is a folder", Assert.Throws<InvalidInputException>(() => CacheReader.Read(dir.Path)).Message);
    }

    [Fact]
    public void OnnxRuntime_text_cache_holds_dynamic_ranges()
    {
        var c = CacheReader.Read(Calib("calibration.cache"));
        Assert.Equal(CacheFormat.OrtText, c.Format);
        Assert.Equal(["input", "conv_out", "relu_out"], c.Entries.Select(e => e.Name));
        Assert.Equal(2.5f / 127f, c["conv_out"]!.Scale);
        Assert.Equal(2.5f, c["conv_out"]!.DynamicRange, 5);
    }

    [Theory]
    [InlineData("calibration.json", CacheFormat.OrtJson)]
    [InlineData("calibration_tensorsdata.json", CacheFormat.OrtJson)]
    [InlineData("calibration.flatbuffers", CacheFormat.OrtFlatBuffers)]
    public void OnnxRuntime_json_and_flatbuffers_give_the_larger_magnitude_as_range(string name, CacheFormat format)
    {
        var c = CacheReader.Read(Calib(name));
        Assert.Equal(format, c.Format);
        Assert.Equal(1f / 127f, c["input"]!.Scale);
        Assert.Equal(2.5f / 127f, c["conv_out"]!.Scale); // [-2.5, 1.5] → 2.5
        if (format == CacheFormat.OrtFlatBuffers) Assert.Equal(2.5f / 127f, c["relu_out"]!.Scale);
    }

    [Fact]
    public void A_truncated_flatbuffers_table_is_refused_not_misread()
    {
        var bytes = File.ReadAllBytes(Calib("calibration.flatbuffers"));
        for (int cut = 8; cut < bytes.Length; cut += 7)
        {
            var e = Assert.Throws<InvalidInputException>(() => CacheReader.Parse(bytes[..cut], "t.flatbuffers"));
            Assert.StartsWith("t.flatbuffers: ", e.Message);
        }
    }

    [Theory]
    [InlineData("\uFEFF", "is empty")]
    [InlineData("\uFEFF \n\n", "is empty")]
    [InlineData("{\"x\": [0, 1], \"x\": [0, 2]}", "tensor 'x' appears twice")]
    [InlineData("[[\"x\", 1]]", "is a JSON array")]
    [InlineData("\n\nTRT-x-Entropy\n", ":3: bad header")]
    [InlineData("TRT-\u0668\u0666\u0660\u0661-EntropyCalibration2\n", ":1: bad header")]
    public void Odd_files_are_refused_with_the_right_line(string text, string expected)
    {
        var e = Assert.Throws<InvalidInputException>(() => CacheReader.Parse(Encoding.UTF8.GetBytes(text), "odd.cache"));
        Assert.StartsWith("odd.cache", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void CRLF_a_byte_order_mark_and_leading_blank_lines_read_the_same_entries()
    {
        var plain = CacheReader.Parse(Encoding.UTF8.GetBytes("TRT-8601-EntropyCalibration2\na: 3c010204\nb:c: 0\n"), "p");
        var odd = CacheReader.Parse(Encoding.UTF8.GetBytes("\uFEFF\r\nTRT-8601-EntropyCalibration2\r\na: 3C010204\r\n\r\nb:c: 00000000"), "o");
        Assert.Equal(plain.Entries.Select(e => (e.Name, e.ScaleBits)), odd.Entries.Select(e => (e.Name, e.ScaleBits)));
        Assert.Equal(plain.ToTensorRtText(), odd.ToTensorRtText()); // written back the way TensorRT writes
        Assert.Equal(3, odd["a"]!.Line);
    }

    [Fact]
    public void A_header_only_cache_has_no_entries()
    {
        var c = CacheReader.Parse(Encoding.UTF8.GetBytes("TRT-100300-EntropyCalibration2\n"), "h");
        Assert.Empty(c.Entries);
        Assert.Equal("TRT-100300-EntropyCalibration2\n", c.ToTensorRtText());
    }

    [Fact]
    public void OnnxRuntime_flatbuffers_written_here_read_back_with_names_holding_colons()
    {
        var c = new CalibrationCache { Entries = [CacheEntry.FromRange("input_1:0", 2.5f), CacheEntry.FromRange("onnx::Gemm_42", 0.125f), CacheEntry.FromRange("z", 3e-5f)] };
        var back = CacheReader.Parse(c.ToOrtFlatBuffers(), "t.flatbuffers");
        Assert.Equal(CacheFormat.OrtFlatBuffers, back.Format);
        foreach (var e in c.Entries) Assert.Equal(e.DynamicRange, back[e.Name]!.DynamicRange);
    }

    [Fact]
    public void Versions_that_cannot_be_written_in_a_header_are_refused()
    {
        foreach (var v in new[] { "10.3", "a.b.c", "214749.0.0", "8.10.0", "10.100.0" })
            Assert.Throws<InvalidInputException>(() => TrtVersion.Parse(v));
    }
}
