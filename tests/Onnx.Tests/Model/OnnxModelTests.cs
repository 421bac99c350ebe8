using Google.Protobuf;
using PolyNet.Onnx;
using PolyNet.Onnx.Proto;
using PolyNet.Tests;
using Xunit;

namespace PolyNet.Onnx.Tests.Model;

public class OnnxModelTests
{
    private static ModelProto Small()
    {
        var b = new ModelBuilder("g", opset: 17);
        var x = b.Input("x", ElementType.Float, "batch", 4);
        var w = b.Initializer("w", TensorData.Create<float>([4, 2], Enumerable.Range(0, 8).Select(i => (float)i).ToArray()));
        b.Node("MatMul", [x, w], name: "mm", output: "y");
        b.Output("y", ElementType.Float, "batch", 2);
        return b.Build();
    }

    [Fact]
    public void Load_save_round_trip_keeps_fields_this_proto_does_not_know()
    {
        using var dir = new TempDir();
        var proto = Small();
        // Unknown fields at the top level (field 99, varint: tag bytes 98 06) and inside a node (field 77, bytes: EA 04).
        var bytes = proto.ToByteArray().Concat(new byte[] { 0x98, 0x06, 0x2A }).ToArray();
        var nodeBytes = proto.Graph.Node[0].ToByteArray().Concat(new byte[] { 0xEA, 0x04, 3, (byte)'n', (byte)'e', (byte)'w' }).ToArray();
        var withNode = ModelProto.Parser.ParseFrom(bytes);
        withNode.Graph.Node[0] = NodeProto.Parser.ParseFrom(nodeBytes);
        File.WriteAllBytes(dir.File("in.onnx"), withNode.ToByteArray());

        var model = OnnxModel.Load(dir.File("in.onnx"));
        model.Save(dir.File("out.onnx"));
        var saved = File.ReadAllBytes(dir.File("out.onnx"));
        var reread = ModelProto.Parser.ParseFrom(saved);
        Assert.Equal(withNode.ToByteArray(), reread.ToByteArray());
        Assert.Contains(Windows(saved), w => w.SequenceEqual(new byte[] { 0x98, 0x06, 0x2A }));
        Assert.Contains(Windows(reread.Graph.Node[0].ToByteArray()), w => w.SequenceEqual(new byte[] { 0xEA, 0x04, 3, (byte)'n', (byte)'e', (byte)'w' }));
    }

    private static IEnumerable<byte[]> Windows(byte[] data)
    {
        for (int n = 3; n <= 6; n++)
            for (int i = 0; i + n <= data.Length; i++) yield return data[i..(i + n)];
    }

    [Fact]
    public void Missing_file_folder_empty_text_and_truncated_files_are_named_errors()
    {
        using var dir = new TempDir();
        var e1 = Assert.Throws<InvalidInputException>(() => OnnxModel.Load(dir.File("nope.onnx")));
        Assert.Equal($"{dir.File("nope.onnx")}: no such file", e1.Message);
        Assert.Contains("is a folder", Assert.Throws<InvalidInputException>(() => OnnxModel.Load(dir.Path)).Message);

        File.WriteAllBytes(dir.File("empty.onnx"), []);
        Assert.Contains("empty file, not an ONNX model", Assert.Throws<InvalidInputException>(() => OnnxModel.Load(dir.File("empty.onnx"))).Message);

        File.WriteAllText(dir.File("text.onnx"), "hello, I am not a model\n");
        var e2 = Assert.Throws<InvalidInputException>(() => OnnxModel.Load(dir.File("text.onnx")));
        Assert.StartsWith(dir.File("text.onnx") + ": not", e2.Message);

        var good = Small().ToByteArray();
        File.WriteAllBytes(dir.File("cut.onnx"), good[..(good.Length - 7)]);
        var e3 = Assert.Throws<InvalidInputException>(() => OnnxModel.Load(dir.File("cut.onnx")));
        Assert.Contains("cut.onnx", e3.Message);
        Assert.DoesNotContain("\n", e3.Message);
        Assert.Equal(ExitCodes.BadInput, e3.ExitCode);
    }

    [Fact]
    public void Inputs_exclude_initializers_and_keep_symbolic_dims()
    {
        var proto = Small();
        proto.Graph.Input.Add(ModelBuilder.MakeValueInfo("w", ElementType.Float, [4L, 2L])); // an overridable initializer
        var m = OnnxModel.FromProto(proto);
        var input = Assert.Single(m.Inputs);
        Assert.Equal("x", input.Name);
        Assert.Equal("[batch, 4]", input.Shape!.ToString());
        Assert.Equal(17, m.OpsetVersion());
    }

    [Fact]
    public void External_data_round_trip_reads_the_same_values()
    {
        using var dir = new TempDir();
        var m = OnnxModel.FromProto(Small());
        m.Save(dir.File("m.onnx"), new ModelSaveOptions { ExternalData = ExternalDataPolicy.External, SizeThreshold = 16 });
        Assert.True(File.Exists(dir.File("m.onnx.data")));
        var loaded = OnnxModel.Load(dir.File("m.onnx"));
        Assert.True(loaded.HasExternalData);
        var w = loaded.ReadTensor(loaded.Graph.Initializer[0]);
        Assert.Equal(Enumerable.Range(0, 8).Select(i => (float)i), w.ToArray<float>());
        var offset = long.Parse(loaded.Graph.Initializer[0].ExternalData.Single(e => e.Key == "offset").Value);
        Assert.Equal(0, offset % 4096);

        // Loading with Load mode embeds the weights; saving that elsewhere is self-contained.
        var embedded = OnnxModel.Load(dir.File("m.onnx"), ExternalDataMode.Load);
        Assert.False(embedded.HasExternalData);
        Directory.CreateDirectory(Path.Combine(dir.Path, "sub"));
        embedded.Save(Path.Combine(dir.Path, "sub", "copy.onnx"));
        Assert.False(File.Exists(Path.Combine(dir.Path, "sub", "copy.onnx.data")));
        var copy = OnnxModel.Load(Path.Combine(dir.Path, "sub", "copy.onnx"));
        Assert.Equal(w.ToArray<float>(), copy.ReadTensor(copy.Graph.Initializer[0]).ToArray<float>()); // the copy's own bytes
    }

    [Theory]
    [InlineData("../outside.bin", "escapes the model's folder")]
    [InlineData("/etc/passwd", "absolute path")]
    [InlineData("sub/../../outside.bin", "escapes the model's folder")]
    [InlineData("missing.bin", "does not exist")]
    public void External_locations_outside_the_folder_or_missing_are_refused(string location, string problem)
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(Path.Combine(dir.Path, "model"));
        File.WriteAllBytes(dir.File("outside.bin"), new byte[32]);
        var proto = Small();
        var w = proto.Graph.Initializer[0];
        w.ClearRawData();
        w.DataLocation = TensorProto.Types.DataLocation.External;
        w.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        var path = Path.Combine(dir.Path, "model", "m.onnx");
        File.WriteAllBytes(path, proto.ToByteArray());
        var e = Assert.Throws<InvalidInputException>(() => OnnxModel.Load(path));
        Assert.Contains(problem, e.Message);
        Assert.Contains("'w'", e.Message);
        Assert.StartsWith(path, e.Message);
    }

    [Fact]
    public void A_symbolic_link_pointing_out_of_the_folder_is_refused()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(Path.Combine(dir.Path, "model"));
        File.WriteAllBytes(dir.File("secret.bin"), new byte[32]);
        File.CreateSymbolicLink(Path.Combine(dir.Path, "model", "weights.bin"), dir.File("secret.bin"));
        var proto = Small();
        var w = proto.Graph.Initializer[0];
        w.ClearRawData();
        w.DataLocation = TensorProto.Types.DataLocation.External;
        w.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "weights.bin" });
        var path = Path.Combine(dir.Path, "model", "m.onnx");
        File.WriteAllBytes(path, proto.ToByteArray());
        Assert.Contains("through a symbolic link", Assert.Throws<InvalidInputException>(() => OnnxModel.Load(path)).Message);
    }

    [Theory]
    [InlineData("etcdir/secret.bin")]          // a folder on the way is a link out (issue 15: etcdir -> /etc)
    [InlineData("inner/up/secret.bin")]        // a link whose ".." leaves the folder, though the path stays inside lexically
    public void A_folder_on_the_path_that_links_out_of_the_model_folder_is_refused(string location)
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("model/inner"));
        Directory.CreateDirectory(dir.File("outside"));
        File.WriteAllBytes(dir.File("outside/secret.bin"), new byte[32]);
        Directory.CreateSymbolicLink(dir.File("model/etcdir"), dir.File("outside"));
        Directory.CreateSymbolicLink(dir.File("model/inner/up"), "../../outside");
        var proto = Small();
        var w = proto.Graph.Initializer[0];
        w.ClearRawData();
        w.DataLocation = TensorProto.Types.DataLocation.External;
        w.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        var path = dir.File("model/m.onnx");
        File.WriteAllBytes(path, proto.ToByteArray());
        var e = Assert.Throws<InvalidInputException>(() => OnnxModel.Load(path));
        Assert.Contains("outside the model's folder", e.Message);
        Assert.StartsWith(path, e.Message);
    }

    [Fact]
    public void A_location_with_a_nul_character_or_a_length_that_overflows_is_refused()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("w.bin"), new byte[64]);
        foreach (var (entries, problem) in new[]
                 {
                     (new[] { ("location", "w.bin\0x") }, "NUL"),
                     (new[] { ("location", "w.bin"), ("offset", "8"), ("length", "9223372036854775807") }, "beyond the end"),
                 })
        {
            var proto = Small();
            var w = proto.Graph.Initializer[0];
            w.ClearRawData();
            w.DataLocation = TensorProto.Types.DataLocation.External;
            foreach (var (k, v) in entries) w.ExternalData.Add(new StringStringEntryProto { Key = k, Value = v });
            var path = dir.File("m.onnx");
            File.WriteAllBytes(path, proto.ToByteArray());
            var e = Assert.ThrowsAny<InvalidInputException>(() => OnnxModel.Load(path));
            Assert.Contains(problem, e.Message);
        }
    }

    [Fact]
    public void External_data_beyond_the_end_of_its_file_or_of_the_wrong_size_is_refused()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("w.bin"), new byte[40]);
        ModelProto Make(string offset, string length)
        {
            var proto = Small();
            var w = proto.Graph.Initializer[0];
            w.ClearRawData();
            w.DataLocation = TensorProto.Types.DataLocation.External;
            w.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "w.bin" });
            w.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset });
            w.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = length });
            return proto;
        }
        File.WriteAllBytes(dir.File("a.onnx"), Make("16", "32").ToByteArray());
        Assert.Contains("beyond the end", Assert.Throws<InvalidInputException>(() => OnnxModel.Load(dir.File("a.onnx"))).Message);
        File.WriteAllBytes(dir.File("b.onnx"), Make("0", "16").ToByteArray());
        Assert.Contains("needs 32", Assert.Throws<InvalidInputException>(() => OnnxModel.Load(dir.File("b.onnx"))).Message);
        File.WriteAllBytes(dir.File("c.onnx"), Make("8", "32").ToByteArray());
        Assert.NotNull(OnnxModel.Load(dir.File("c.onnx")));
    }

    [Fact]
    public void Saving_over_the_side_file_the_model_reads_is_refused()
    {
        using var dir = new TempDir();
        OnnxModel.FromProto(Small()).Save(dir.File("m.onnx"), new ModelSaveOptions { ExternalData = ExternalDataPolicy.External, SizeThreshold = 16 });
        var m = OnnxModel.Load(dir.File("m.onnx"));
        var e = Assert.Throws<InvalidInputException>(() => m.Save(dir.File("m.onnx")));
        Assert.Contains("refusing to overwrite", e.Message);
        Assert.True(File.Exists(dir.File("m.onnx.data")));
        Assert.NotNull(OnnxModel.Load(dir.File("m.onnx")).ReadTensor(m.Graph.Initializer[0]));
    }

    [Fact]
    [Trait("Category", "Large")]
    public void A_model_over_2_GB_is_saved_with_external_data_and_loads_back()
    {
        using var dir = new TempDir();
        long free = new DriveInfo(dir.Path).AvailableFreeSpace;
        if (free < 6L << 30) Assert.Skip($"needs 6 GiB of free disk for a 2.2 GiB model; {dir.Path} has {free >> 20} MiB");
        const int size = 760 << 20; // three of these make 2.2 GiB
        var block = GC.AllocateUninitializedArray<byte>(size);
        new Random(5).NextBytes(block.AsSpan(0, 1 << 20));
        block[^1] = 0xAB;
        var b = new ModelBuilder("big", opset: 17);
        var x = b.Input("x", ElementType.Float, 1);
        var proto = b.Build();
        for (int i = 0; i < 3; i++)
        {
            var t = new TensorProto { Name = $"w{i}", DataType = (int)ElementType.UInt8, RawData = UnsafeByteOperations.UnsafeWrap(block) };
            t.Dims.Add(size);
            proto.Graph.Initializer.Add(t);
        }
        proto.Graph.Node.Add(new NodeProto { OpType = "Identity", Input = { "x" }, Output = { "y" } });
        proto.Graph.Output.Add(ModelBuilder.MakeValueInfo("y", ElementType.Float, [1L]));
        var model = OnnxModel.FromProto(proto);
        Assert.Throws<InvalidInputException>(() => model.Save(dir.File("embedded.onnx"), new ModelSaveOptions { ExternalData = ExternalDataPolicy.Embed }));

        model.Save(dir.File("big.onnx")); // Auto: too big to embed, so external
        Assert.True(new FileInfo(dir.File("big.onnx")).Length < 4096);
        Assert.True(new FileInfo(dir.File("big.onnx.data")).Length >= 3L * size);
        var loaded = OnnxModel.Load(dir.File("big.onnx"));
        Assert.True(loaded.HasExternalData);
        var w2 = loaded.ReadTensor(loaded.Graph.Initializer[2]);
        Assert.Equal(size, w2.ByteCount);
        Assert.Equal(block.AsSpan(0, 1 << 20).ToArray(), w2.Bytes[..(1 << 20)].ToArray());
        Assert.Equal(0xAB, w2.Bytes[^1]);
    }
}
