using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using PolyNet.Onnx.Proto;
using PolyNet.Tests;
using Google.Protobuf;
using Xunit;

namespace PolyNet.Onnx.Tests.Data;

/// <summary>Sizes a file declares are checked against what it holds before anything is allocated (issue 15's cases).</summary>
public class DeclaredSizeTests
{
    /// <summary>Runs <paramref name="read"/>, expecting bad input, and returns its message and what this thread allocated.</summary>
    private static (string Message, long Allocated) Refused(Action read)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.ThrowsAny<InvalidInputException>(read);
        Assert.DoesNotContain("\n", e.Message);
        return (e.Message, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void A_tiny_tensorproto_declaring_half_a_billion_floats_in_typed_fields_allocates_nothing()
    {
        using var dir = new TempDir();
        var t = new TensorProto { DataType = (int)ElementType.Float, Name = "x" };
        t.Dims.Add(500_000_000);
        t.FloatData.Add(1f);
        File.WriteAllBytes(dir.File("x.pb"), t.ToByteArray());
        Assert.True(new FileInfo(dir.File("x.pb")).Length < 32);
        var (message, allocated) = Refused(() => BackendTestData.ReadValueFile(dir.File("x.pb"), ValueKind.Tensor));
        Assert.Contains("holds 1 values", message);
        Assert.True(allocated < 1 << 20, $"allocated {allocated} bytes");
    }

    [Fact]
    public void A_shape_whose_byte_size_wraps_around_to_zero_is_refused()
    {
        using var dir = new TempDir();
        // 2^62 float32 elements "need" 2^64 bytes: 0 in 64-bit arithmetic, which an empty raw_data would match.
        var t = new TensorProto { DataType = (int)ElementType.Float, RawData = ByteString.Empty };
        t.Dims.Add(1L << 31);
        t.Dims.Add(1L << 31);
        File.WriteAllBytes(dir.File("x.pb"), t.ToByteArray());
        var (message, _) = Refused(() => BackendTestData.ReadValueFile(dir.File("x.pb"), ValueKind.Tensor));
        Assert.Contains("more than one tensor may hold", message);
    }

    [Fact]
    public void A_small_json_declaring_a_huge_array_is_refused_before_allocation()
    {
        using var dir = new TempDir();
        var npy = NpyTests.Build("{'descr': '<f4', 'fortran_order': False, 'shape': (500000000,), }", new byte[64]);
        var json = "{\"lst\": [[\"r\", [{\"outputs\": {\"y\": {\"array\": \"" + Convert.ToBase64String(npy)
                   + "\", \"polygraphy_class\": \"ndarray\"}}}]]], \"polygraphy_class\": \"RunResults\"}";
        File.WriteAllText(dir.File("x.json"), json);
        var (message, allocated) = Refused(() => PolygraphyJson.Read(dir.File("x.json")));
        Assert.StartsWith(dir.File("x.json"), message);
        Assert.True(allocated < 1 << 20, $"allocated {allocated} bytes");
    }

    [Fact]
    public void Two_hundred_million_zero_width_strings_in_a_128_byte_npy_are_refused()
    {
        var npy = NpyTests.Build("{'descr': '<U0', 'fortran_order': False, 'shape': (200000000,), }", []);
        var (message, allocated) = Refused(() => Npy.Read(new MemoryStream(npy), "u0.npy"));
        Assert.Contains("zero-width strings", message);
        Assert.True(allocated < 1 << 20, $"allocated {allocated} bytes");
    }

    [Fact]
    public void An_npz_whose_compressed_members_declare_more_than_memory_is_refused_before_inflating()
    {
        using var dir = new TempDir();
        using (var fs = File.Create(dir.File("bomb.npz")))
        using (var zip = new System.IO.Compression.ZipArchive(fs, System.IO.Compression.ZipArchiveMode.Create))
            for (int k = 0; k < 40; k++)
            {
                using var s = zip.CreateEntry($"x{k}.npy", System.IO.Compression.CompressionLevel.Optimal).Open();
                s.Write(new byte[1000]);
            }
        // Each member now declares 4 GB uncompressed in the central directory: 160 GB in all.
        var bytes = File.ReadAllBytes(dir.File("bomb.npz"));
        for (int i = 0; i + 46 <= bytes.Length; i++)
            if (bytes[i] == 0x50 && bytes[i + 1] == 0x4b && bytes[i + 2] == 1 && bytes[i + 3] == 2)
                BitConverter.GetBytes(0xFFFFFFF0u).CopyTo(bytes, i + 24);
        File.WriteAllBytes(dir.File("bomb.npz"), bytes);
        var (message, _) = Refused(() => Npz.Read(dir.File("bomb.npz")));
        Assert.Contains("more than this process may hold", message);
    }
}
