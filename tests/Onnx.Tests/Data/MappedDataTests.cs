using System.Runtime.InteropServices;
using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using PolyNet.Onnx.Proto;
using Google.Protobuf;
using PolyNet.Tests;
using Xunit;

namespace PolyNet.Onnx.Tests.Data;

/// <summary>Reading data files without copying: mapped windows, their alignment, checksums and the fast base64 path.</summary>
public class MappedDataTests
{
    /// <summary>A float32 tensor of <paramref name="n"/> distinct values (large enough that its file is mapped).</summary>
    private static TensorData Ramp(int n, float scale = 1e-3f)
    {
        var t = TensorData.Allocate(ElementType.Float, new TensorShape(n));
        var s = t.Span<float>();
        for (int i = 0; i < n; i++) s[i] = i * scale;
        return t;
    }

    private static bool IsWindowOfAFile(TensorData t) => !MemoryMarshal.TryGetArray<byte>(t.Memory, out _);

    private static unsafe long Address(TensorData t)
    {
        using var pin = t.Memory.Pin();
        return (long)pin.Pointer;
    }

    [Fact]
    public void A_stored_npz_member_is_a_window_of_the_file_aligned_to_64_bytes_and_writes_stay_private()
    {
        using var dir = new TempDir();
        var x = Ramp(600_000);
        Npz.Write(dir.File("a.npz"), new ValueMap { { "small", TensorData.Create<int>([3], 1, 2, 3) }, { "x", x } });
        var back = Npz.Read(dir.File("a.npz"));
        var t = back.Tensor("x");
        Assert.True(t.ContentEquals(x));
        Assert.True(IsWindowOfAFile(t));
        Assert.Equal(0, Address(t) % 64);
        Assert.Equal(new[] { 1, 2, 3 }, back.Tensor("small").ToArray<int>());
        // Writing to the loaded tensor changes this process's copy, never the file.
        t.Span<float>()[5] = -1;
        Assert.Equal(x.Span<float>()[5], Npz.Read(dir.File("a.npz")).Tensor("x").Span<float>()[5]);
    }

    [Fact]
    public void A_flipped_byte_in_a_stored_member_fails_its_crc()
    {
        using var dir = new TempDir();
        Npz.Write(dir.File("a.npz"), new ValueMap { { "x", Ramp(400_000) } });
        var bytes = File.ReadAllBytes(dir.File("a.npz"));
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(dir.File("a.npz"), bytes);
        var e = Assert.Throws<InvalidInputException>(() => Npz.Read(dir.File("a.npz")));
        Assert.StartsWith(dir.File("a.npz") + "[x.npy]", e.Message);
        Assert.Contains("CRC-32", e.Message);
    }

    [Fact]
    public void A_compressed_member_that_inflates_past_its_declared_size_is_refused()
    {
        using var dir = new TempDir();
        var npy = new MemoryStream();
        Npy.Write(npy, Ramp(1000));
        using (var fs = File.Create(dir.File("c.npz")))
        using (var zip = new System.IO.Compression.ZipArchive(fs, System.IO.Compression.ZipArchiveMode.Create))
        using (var s = zip.CreateEntry("x.npy", System.IO.Compression.CompressionLevel.Optimal).Open())
            s.Write(npy.ToArray());
        Assert.Equal(1000, Npz.Read(dir.File("c.npz")).Tensor("x").ElementCount);
        // Shrink the uncompressed size the central directory declares: the member now inflates past it.
        var bytes = File.ReadAllBytes(dir.File("c.npz"));
        int cd = LastIndexOf(bytes, [0x50, 0x4b, 0x01, 0x02]);
        BitConverter.GetBytes((uint)(npy.Length - 100)).CopyTo(bytes, cd + 24);
        File.WriteAllBytes(dir.File("c.npz"), bytes);
        var e = Assert.Throws<InvalidInputException>(() => Npz.Read(dir.File("c.npz")));
        Assert.Contains("c.npz[x.npy]", e.Message);
    }

    private static int LastIndexOf(byte[] data, byte[] pattern)
    {
        for (int i = data.Length - pattern.Length; i >= 0; i--)
            if (data.AsSpan(i, pattern.Length).SequenceEqual(pattern)) return i;
        return -1;
    }

    [Fact]
    public void Numpy_written_archives_are_read_mapped_even_unaligned_and_compressed_ones_inflated()
    {
        if (Python.WhyUnavailable is { } why) Assert.Skip(why);
        using var dir = new TempDir();
        Assert.Equal("ok", Python.Check($$"""
            import numpy as np
            x = (np.arange(500000, dtype=np.float32) * np.float32(1e-3))
            np.savez('{{dir.File("n.npz")}}', x=x, flags=np.array([True, False, True]))
            np.savez_compressed('{{dir.File("z.npz")}}', x=x)
            print('ok')
            """).Trim());
        var expected = Ramp(500_000);
        var n = Npz.Read(dir.File("n.npz"));
        Assert.True(n.Tensor("x").ContentEquals(expected));
        Assert.True(IsWindowOfAFile(n.Tensor("x")));
        Assert.Equal(new[] { true, false, true }, n.Tensor("flags").ToArray<bool>());
        Assert.True(Npz.Read(dir.File("z.npz")).Tensor("x").ContentEquals(expected));
    }

    [Fact]
    public void An_npy_file_is_a_window_and_a_truncated_one_is_refused()
    {
        using var dir = new TempDir();
        var x = Ramp(300_000);
        using (var fs = File.Create(dir.File("x.npy"))) Npy.Write(fs, x);
        var t = Npy.ReadFile(dir.File("x.npy"));
        Assert.True(t.ContentEquals(x));
        Assert.True(IsWindowOfAFile(t));
        var bytes = File.ReadAllBytes(dir.File("x.npy"));
        File.WriteAllBytes(dir.File("x.npy"), bytes[..^4]);
        var e = Assert.Throws<InvalidInputException>(() => Npy.ReadFile(dir.File("x.npy")));
        Assert.Contains("holds only", e.Message);
    }

    [Fact]
    public void A_tensorproto_file_raw_data_is_a_window_whatever_the_field_order()
    {
        using var dir = new TempDir();
        var x = Ramp(300_000);
        var proto = TensorProtos.FromTensorData("x", x);
        File.WriteAllBytes(dir.File("a.pb"), proto.ToByteArray());
        // raw_data first, then the name and dims: the wire order is free.
        var raw = new MemoryStream();
        var w = new CodedOutputStream(raw);
        w.WriteTag(9, WireFormat.WireType.LengthDelimited); w.WriteBytes(ByteString.CopyFrom(x.Bytes));
        w.WriteTag(8, WireFormat.WireType.LengthDelimited); w.WriteString("y");
        w.WriteTag(2, WireFormat.WireType.Varint); w.WriteInt32((int)ElementType.Float);
        w.WriteTag(1, WireFormat.WireType.Varint); w.WriteInt64(300_000);
        w.Flush();
        File.WriteAllBytes(dir.File("b.pb"), raw.ToArray());
        foreach (var (file, name) in new[] { ("a.pb", "x"), ("b.pb", "y") })
        {
            var (n, v) = BackendTestData.ReadValueFile(dir.File(file), ValueKind.Tensor);
            Assert.Equal(name, n);
            Assert.True(((TensorData)v).ContentEquals(x));
            Assert.True(IsWindowOfAFile((TensorData)v));
        }
        // A raw_data shorter than the dims declare is still refused.
        var shortProto = TensorProtos.FromTensorData("x", x);
        shortProto.Dims[0] = 300_001;
        File.WriteAllBytes(dir.File("c.pb"), shortProto.ToByteArray());
        var e = Assert.Throws<InvalidInputException>(() => BackendTestData.ReadValueFile(dir.File("c.pb"), ValueKind.Tensor));
        Assert.Contains("holds 1200000 bytes", e.Message);
    }

    /// <summary>A RunResults file by hand: one array, its base64 text as given.</summary>
    private static string Json(string base64)
        => "{\"lst\": [[\"r\", [{\"outputs\": {\"y\": {\"array\": \"" + base64 + "\", \"polygraphy_class\": \"ndarray\"}}, \"runtime\": null, \"runner_name\": \"r\", \"polygraphy_class\": \"IterationResult\"}]]], \"polygraphy_class\": \"RunResults\"}";

    [Theory]
    [InlineData(3_000_000)] // every length mod 3 puts the data's first and last bytes in a different place of a base64 group
    [InlineData(3_000_001)]
    [InlineData(3_000_002)]
    [InlineData(10)]
    public void Base64_arrays_decode_in_parallel_chunks_at_every_alignment(int n)
    {
        using var dir = new TempDir();
        var t = TensorData.Allocate(ElementType.UInt8, new TensorShape(n));
        new Random(n).NextBytes(t.Bytes);
        var npy = new MemoryStream();
        Npy.Write(npy, t);
        var b64 = Convert.ToBase64String(npy.ToArray());
        File.WriteAllText(dir.File("a.json"), Json(b64));
        Assert.True(PolygraphyJson.Read(dir.File("a.json"))[0].Iterations[0].Tensor("y").ContentEquals(t));
        // Line breaks inside the base64 (other writers wrap it): the streaming path reads the same array.
        File.WriteAllText(dir.File("b.json"), Json(System.Text.RegularExpressions.Regex.Replace(b64, ".{76}", "$0\\n").Replace("\\n", "\n")));
        Assert.True(PolygraphyJson.Read(dir.File("b.json"))[0].Iterations[0].Tensor("y").ContentEquals(t));
        // A bad character in the middle is bad base64, named as such.
        var bad = b64.ToCharArray();
        bad[bad.Length / 2] = '*';
        File.WriteAllText(dir.File("c.json"), Json(new string(bad)));
        var e = Assert.Throws<InvalidInputException>(() => PolygraphyJson.Read(dir.File("c.json")));
        Assert.Contains("base64", e.Message);
        Assert.StartsWith(dir.File("c.json"), e.Message);
    }

    [Fact]
    public void Several_files_load_in_parallel_in_order_and_the_first_bad_one_is_reported()
    {
        using var dir = new TempDir();
        Npz.Write(dir.File("a.npz"), new ValueMap { { "x", Ramp(300_000) } });
        Npz.Write(dir.File("b.npz"), new ValueMap { { "x", Ramp(300_000, 2e-3f) } });
        File.WriteAllText(dir.File("bad1.npz"), "no");
        File.WriteAllText(dir.File("bad2.npz"), "no");
        var runs = DataFiles.LoadRuns([dir.File("a.npz"), dir.File("b.npz")]);
        Assert.Equal(["a.npz", "b.npz"], runs.Select(r => r.Label));
        Assert.Equal(1 * 2e-3f, runs[1].Samples[0].Tensor("x").Span<float>()[1]);
        var e = Assert.Throws<InvalidInputException>(() => DataFiles.LoadRuns([dir.File("a.npz"), dir.File("bad1.npz"), dir.File("bad2.npz")]));
        Assert.StartsWith(dir.File("bad1.npz"), e.Message);
    }
}
