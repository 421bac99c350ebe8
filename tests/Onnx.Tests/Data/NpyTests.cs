using System.Text;
using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using PolyNet.Tests;
using Xunit;

namespace PolyNet.Onnx.Tests.Data;

public class NpyTests
{
    public static TheoryData<ElementType> Types => new(ElementType.Float, ElementType.Double, ElementType.Float16, ElementType.Int8,
        ElementType.Int16, ElementType.Int32, ElementType.Int64, ElementType.UInt8, ElementType.UInt16, ElementType.UInt32, ElementType.UInt64, ElementType.Bool);

    private static TensorData Sample(ElementType type)
    {
        var t = TensorData.Allocate(type, new TensorShape(2, 3));
        var r = new Random(3);
        r.NextBytes(t.Bytes);
        if (type == ElementType.Bool) for (int i = 0; i < t.ByteCount; i++) t.Bytes[i] &= 1;
        if (type == ElementType.Float16) { var h = t.Span<Half>(); for (int i = 0; i < h.Length; i++) h[i] = (Half)(i - 2.5f); }
        if (type == ElementType.Float) { var f = t.Span<float>(); for (int i = 0; i < f.Length; i++) f[i] = i * 0.25f - 1; }
        if (type == ElementType.Double) { var d = t.Span<double>(); for (int i = 0; i < d.Length; i++) d[i] = Math.PI * i; }
        return t;
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Write_then_read_keeps_every_bit(ElementType type)
    {
        var t = Sample(type);
        using var ms = new MemoryStream();
        Npy.Write(ms, t);
        Assert.Equal(0, (ms.Length - t.ByteCount) % 64);
        ms.Position = 0;
        Assert.True(t.ContentEquals(Npy.Read(ms, "mem.npy")));
    }

    [Fact]
    public void Big_endian_and_fortran_order_are_read_correctly()
    {
        // 2x3 int32 [[1,2,3],[4,5,6]] stored big-endian in Fortran order: 1,4,2,5,3,6.
        var header = "{'descr': '>i4', 'fortran_order': True, 'shape': (2, 3), }";
        var data = new[] { 1, 4, 2, 5, 3, 6 }.SelectMany(v => BitConverter.GetBytes(v).Reverse()).ToArray();
        var t = Npy.Read(new MemoryStream(Build(header, data)), "f.npy");
        Assert.Equal(new[] { 1, 2, 3, 4, 5, 6 }, t.ToArray<int>());
        Assert.Equal(new TensorShape(2, 3), t.Shape);
    }

    [Fact]
    public void Unicode_strings_read_as_strings()
    {
        var header = "{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }";
        var data = Encoding.UTF32.GetBytes("ab\0xyz");
        Assert.Equal(new[] { "ab", "xyz" }, Npy.Read(new MemoryStream(Build(header, data)), "s.npy").Strings);
    }

    [Theory]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (10,), }", 8, "declares shape (10,)")]
    [InlineData("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", 8, "pickle")]
    [InlineData("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", 8, "complex")]
    [InlineData("{'descr': '<f4', 'shape': (1,), }", 4, "fortran_order")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (1,", 4, "bad .npy header")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000,), }", 4, "more than allowed")]
    public void Bad_arrays_are_named_errors(string header, int dataBytes, string problem)
    {
        var e = Assert.Throws<InvalidInputException>(() => Npy.Read(new MemoryStream(Build(header, new byte[dataBytes])), "bad.npy", 1 << 20));
        Assert.Contains(problem, e.Message);
        Assert.StartsWith("bad.npy: ", e.Message);
    }

    [Fact]
    public void Not_an_npy_file() =>
        Assert.Contains("no \\x93NUMPY magic", Assert.Throws<InvalidInputException>(() => Npy.Read(new MemoryStream("hello world, this is text"u8.ToArray()), "t.npy")).Message);

    internal static byte[] Build(string header, byte[] data)
    {
        var h = header + "\n";
        var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 };
        bytes.AddRange(BitConverter.GetBytes((ushort)h.Length));
        bytes.AddRange(Encoding.Latin1.GetBytes(h));
        bytes.AddRange(data);
        return bytes.ToArray();
    }
}

public class NumpyInteropTests
{
    [Fact]
    public void Numpy_reads_what_PolyNet_writes_and_PolyNet_reads_what_numpy_writes()
    {
        if (Python.WhyUnavailable is { } why) Assert.Skip(why);
        using var dir = new TempDir();
        var values = new ValueMap
        {
            { "f32", TensorData.Create<float>([2, 2], 1.5f, -2f, float.NaN, float.PositiveInfinity) },
            { "f16", TensorData.Create<Half>([3], (Half)0.5f, (Half)(-1f), Half.MaxValue) },
            { "i64", TensorData.Create<long>([2], long.MinValue, long.MaxValue) },
            { "u8", TensorData.Create<byte>([1], (byte)255) },
            { "b", TensorData.Create<bool>([2], true, false) },
            { "scalar", TensorData.Scalar(3.25) },
            { "name/with/slash", TensorData.Create<int>([1], 7) },
        };
        Npz.Write(dir.File("ours.npz"), values);
        var check = Python.Check($$"""
            import numpy as np
            z = np.load('{{dir.File("ours.npz")}}')
            assert z['f32'].dtype == np.float32 and z['f32'].shape == (2, 2)
            assert z['f32'][0, 0] == 1.5 and np.isnan(z['f32'][1, 0]) and np.isinf(z['f32'][1, 1])
            assert z['f16'].dtype == np.float16 and z['f16'][2] == np.finfo(np.float16).max
            assert z['i64'].tolist() == [-2**63, 2**63 - 1]
            assert z['u8'][0] == 255 and z['b'].dtype == np.bool_ and z['b'].tolist() == [True, False]
            assert z['scalar'].shape == () and z['scalar'] == 3.25
            assert z['name/with/slash'][0] == 7
            a = np.arange(12, dtype='>f8').reshape(3, 4)
            np.save('{{dir.File("be.npy")}}', a)
            np.save('{{dir.File("fortran.npy")}}', np.asfortranarray(np.arange(6, dtype=np.int16).reshape(2, 3)))
            np.savez_compressed('{{dir.File("c.npz")}}', x=np.linspace(0, 1, 5, dtype=np.float32), m=np.array([[True], [False]]))
            print('ok')
            """);
        Assert.Equal("ok", check.Trim());
        var be = Npy.ReadFile(dir.File("be.npy"));
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (double)i), be.ToArray<double>());
        Assert.Equal(new short[] { 0, 1, 2, 3, 4, 5 }, Npy.ReadFile(dir.File("fortran.npy")).ToArray<short>());
        var c = Npz.Read(dir.File("c.npz"));
        Assert.Equal(new[] { 0f, 0.25f, 0.5f, 0.75f, 1f }, c.Tensor("x").ToArray<float>());
        Assert.Equal(new[] { true, false }, c.Tensor("m").ToArray<bool>());
    }
}

public class NpzTests
{
    [Fact]
    public void Writing_is_deterministic_and_atomic()
    {
        using var dir = new TempDir();
        var v = new ValueMap { { "x", TensorData.Create<float>([3], 1, 2, 3) } };
        Npz.Write(dir.File("a.npz"), v);
        Thread.Sleep(1100);
        Npz.Write(dir.File("b.npz"), v);
        Assert.Equal(File.ReadAllBytes(dir.File("a.npz")), File.ReadAllBytes(dir.File("b.npz")));
        Assert.Equal(2, Directory.GetFiles(dir.Path).Length); // no temporary left behind
    }

    [Fact]
    public void Not_a_zip_and_a_corrupt_member_are_named_errors()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("x.npz"), "not a zip at all");
        Assert.Contains("not an .npz file", Assert.Throws<InvalidInputException>(() => Npz.Read(dir.File("x.npz"))).Message);

        Npz.Write(dir.File("t.npz"), new ValueMap { { "x", TensorData.Create<float>([1000], new float[1000]) } });
        var bytes = File.ReadAllBytes(dir.File("t.npz"));
        File.WriteAllBytes(dir.File("t.npz"), bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<InvalidInputException>(() => Npz.Read(dir.File("t.npz")));
        Assert.StartsWith(dir.File("t.npz"), e.Message);
    }

    [Fact]
    public void A_member_that_declares_more_data_than_the_archive_holds_is_refused_before_allocation()
    {
        using var dir = new TempDir();
        // A zip member whose .npy header claims 10^10 floats: refused from the header, nothing allocated.
        using (var fs = File.Create(dir.File("bomb.npz")))
        using (var zip = new System.IO.Compression.ZipArchive(fs, System.IO.Compression.ZipArchiveMode.Create))
        using (var s = zip.CreateEntry("x.npy", System.IO.Compression.CompressionLevel.Optimal).Open())
        {
            var npy = NpyTests.Build("{'descr': '<f4', 'fortran_order': False, 'shape': (10000000000,), }", new byte[1 << 16]);
            s.Write(npy);
        }
        var e = Assert.Throws<InvalidInputException>(() => Npz.Read(dir.File("bomb.npz")));
        Assert.Contains("more than allowed", e.Message);
        Assert.Contains("bomb.npz[x.npy]", e.Message);
    }
}
