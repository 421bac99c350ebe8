using Google.Protobuf;
using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using PolyNet.Onnx.Proto;
using PolyNet.Tests;
using Xunit;

namespace PolyNet.Onnx.Tests.Data;

public class TensorProtosTests
{
    [Fact]
    public void Typed_fields_decode_for_every_storage_form()
    {
        var f = new TensorProto { DataType = (int)ElementType.Float, Dims = { 2 }, FloatData = { 1.5f, -3f } };
        Assert.Equal(new[] { 1.5f, -3f }, TensorProtos.ToTensorData(f, "t").ToArray<float>());
        var h = new TensorProto { DataType = (int)ElementType.Float16, Dims = { 1 }, Int32Data = { BitConverter.HalfToUInt16Bits((Half)2.5f) } };
        Assert.Equal((Half)2.5f, TensorProtos.ToTensorData(h, "t").Span<Half>()[0]);
        var u32 = new TensorProto { DataType = (int)ElementType.UInt32, Dims = { 1 }, Uint64Data = { uint.MaxValue } };
        Assert.Equal(uint.MaxValue, TensorProtos.ToTensorData(u32, "t").Span<uint>()[0]);
        var b = new TensorProto { DataType = (int)ElementType.Bool, Dims = { 3 }, Int32Data = { 1, 0, 1 } };
        Assert.Equal(new[] { true, false, true }, TensorProtos.ToTensorData(b, "t").ToArray<bool>());
        var s = new TensorProto { DataType = (int)ElementType.String, Dims = { 2 }, StringData = { ByteString.CopyFromUtf8("héllo"), ByteString.CopyFromUtf8("") } };
        Assert.Equal(new[] { "héllo", "" }, TensorProtos.ToTensorData(s, "t").Strings);
    }

    [Fact]
    public void Raw_data_round_trips_and_size_mismatches_are_named()
    {
        var t = TensorData.Create<long>([3], 1, -1, long.MaxValue);
        var p = TensorProtos.FromTensorData("idx", t);
        Assert.True(t.ContentEquals(TensorProtos.ToTensorData(p, "f.pb")));
        p.Dims[0] = 4;
        var e = Assert.Throws<InvalidInputException>(() => TensorProtos.ToTensorData(p, "f.pb"));
        Assert.Equal("f.pb: tensor 'idx' declares shape 4 (32 bytes of int64) but holds 24 bytes", e.Message);
    }

    [Fact]
    public void Backend_layout_loads_samples_by_position_and_names_them_after_the_model()
    {
        using var dir = new TempDir();
        for (int k = 0; k < 2; k++)
            BackendTestData.WriteSet(Path.Combine(dir.Path, $"test_data_set_{k}"), DataRole.Inputs,
                new ValueMap { { "whatever", TensorData.Create<float>([1], k) }, { "second", TensorData.Create<long>([1], 10 + k) } });
        var specs = new[]
        {
            new ValueSpec("a", ValueKind.Tensor, ElementType.Float, null),
            new ValueSpec("b", ValueKind.Tensor, ElementType.Int64, null),
        };
        var samples = BackendTestData.Load(dir.Path, DataRole.Inputs, specs);
        Assert.Equal(2, samples.Count);
        Assert.Equal(new[] { "a", "b" }, samples[1].Keys);
        Assert.Equal(11L, samples[1].Tensor("b").Span<long>()[0]);

        File.Delete(Path.Combine(dir.Path, "test_data_set_1", "input_0.pb"));
        Assert.Contains("input_0.pb is missing", Assert.Throws<InvalidInputException>(() => BackendTestData.Load(dir.Path, DataRole.Inputs, specs)).Message);
    }

    [Fact]
    public void Real_backend_test_data_loads()
    {
        var dir = Path.Combine(TestPaths.BackendData, "node", "test_sequence_insert_at_back");
        if (!Directory.Exists(dir)) Assert.Skip("Debian's libonnx-testdata is not installed (./setup.sh --test installs it)");
        var model = OnnxModel.Load(Path.Combine(dir, "model.onnx"));
        var sample = Assert.Single(BackendTestData.Load(dir, DataRole.Inputs, model.Inputs));
        var seq = Assert.IsType<SequenceData>(sample[0].Value);
        Assert.Equal(3, seq.Items.Count);
    }
}

public class DataFilesTests
{
    [Fact]
    public void Several_samples_go_to_one_npz_and_come_back()
    {
        using var dir = new TempDir();
        var samples = Enumerable.Range(0, 3).Select(k => new ValueMap { { "x", TensorData.Create<float>([2], k, k + 0.5f) } }).ToList();
        DataFiles.Save(dir.File("s.npz"), samples, DataRole.Inputs);
        var back = DataFiles.Load(dir.File("s.npz"), DataRole.Inputs);
        Assert.Equal(3, back.Samples.Count);
        Assert.Equal(new[] { 2f, 2.5f }, back.Samples[2].Tensor("x").ToArray<float>());
    }

    [Fact]
    public void Unknown_formats_and_missing_paths_are_named()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("x.csv"), "1,2");
        Assert.Contains("unknown data format '.csv'", Assert.Throws<InvalidInputException>(() => DataFiles.Load(dir.File("x.csv"), DataRole.Inputs)).Message);
        Assert.Contains("no such file", Assert.Throws<InvalidInputException>(() => DataFiles.Load(dir.File("nope.npz"), DataRole.Inputs)).Message);
        Assert.Contains("neither test_data_set_N", Assert.Throws<InvalidInputException>(() => DataFiles.Load(dir.Path, DataRole.Inputs)).Message);
    }
}
