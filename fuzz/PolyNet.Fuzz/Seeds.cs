using System.Text;
using Google.Protobuf;
using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using PolyNet.Onnx.Proto;

namespace PolyNet.Fuzz;

/// <summary>Seed inputs per target: files PolyNet's own writers make, hand-made variants, and the repository's fixtures.</summary>
public static class Seeds
{
    /// <summary>The repository's fixtures/ folder, found by walking up from the harness.</summary>
    private static string? Fixtures()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (Directory.Exists(Path.Combine(d.FullName, "fixtures", "models"))) return Path.Combine(d.FullName, "fixtures");
        return null;
    }

    private static IEnumerable<byte[]> FixtureFiles(string folder, string pattern)
    {
        if (Fixtures() is not { } f || !Directory.Exists(Path.Combine(f, folder))) yield break;
        foreach (var p in Directory.EnumerateFiles(Path.Combine(f, folder), pattern, SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            if (new FileInfo(p).Length < 1 << 20) yield return File.ReadAllBytes(p);
    }

    /// <summary>Debian's libonnx-testdata (the ONNX backend tests; ./setup.sh --test installs it): a spread of small files.</summary>
    private const string BackendData = "/usr/share/libonnx-testdata/data/node";

    private static IEnumerable<byte[]> BackendFiles(string pattern, int take)
    {
        if (!Directory.Exists(BackendData)) yield break;
        var tests = Directory.GetDirectories(BackendData).Order(StringComparer.Ordinal).ToList();
        int step = Math.Max(1, tests.Count / take);
        for (int i = 0; i < tests.Count; i += step)
            foreach (var p in Directory.EnumerateFiles(tests[i], pattern, SearchOption.AllDirectories).Take(1))
                if (new FileInfo(p).Length < 64 << 10) yield return File.ReadAllBytes(p);
    }

    /// <summary>fixtures/models/external/mlp_external.onnx.data, the file the onnx-external target's models refer to.</summary>
    public static byte[]? ExternalData()
        => Fixtures() is { } f && Path.Combine(f, "models", "external", "mlp_external.onnx.data") is var p && File.Exists(p) ? File.ReadAllBytes(p) : null;

    private static ValueMap Sample() => new()
    {
        { "x", TensorData.Create<float>([2, 3], 1, 2, 3, 4, 5, 6) },
        { "i", TensorData.Create<long>([2], 7, -8) },
        { "b", TensorData.Create<bool>([2], true, false) },
        { "h", TensorData.Create<Half>([1], (Half)0.5f) },
        { "s", new TensorData(new TensorShape(2), ["ab", "xyz"]) },
    };

    private static byte[] Npy(TensorData t)
    {
        var ms = new MemoryStream();
        PolyNet.Onnx.Data.Npy.Write(ms, t);
        return ms.ToArray();
    }

    private static byte[] NpyByHand(string header, byte[] data)
    {
        var h = header + "\n";
        var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 };
        bytes.AddRange(BitConverter.GetBytes((ushort)h.Length));
        bytes.AddRange(Encoding.Latin1.GetBytes(h));
        bytes.AddRange(data);
        return bytes.ToArray();
    }

    private static byte[] Written(string scratch, string name, Action<string> write)
    {
        var p = Path.Combine(scratch, "seed-" + name);
        write(p);
        var b = File.ReadAllBytes(p);
        File.Delete(p);
        return b;
    }

    public static IEnumerable<byte[]> For(Target t, string scratch) => t.Name switch
    {
        "npy" => Sample().Values.Cast<TensorData>().Select(Npy).Concat(
        [
            NpyByHand("{'descr': '>f8', 'fortran_order': True, 'shape': (2, 2), }", new byte[32]),
            NpyByHand("{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }", new byte[24]),
            NpyByHand("{'descr': '|b1', 'fortran_order': False, 'shape': (), }", [2]),
        ]),
        "npz" =>
        [
            Written(scratch, "a.npz", p => Npz.Write(p, Sample())),
            Written(scratch, "z.npz", p =>
            {
                using var fs = File.Create(p);
                using var zip = new System.IO.Compression.ZipArchive(fs, System.IO.Compression.ZipArchiveMode.Create);
                foreach (var (name, v) in Sample())
                {
                    using var s = zip.CreateEntry(name + ".npy", System.IO.Compression.CompressionLevel.Optimal).Open();
                    s.Write(Npy((TensorData)v));
                }
            }),
            .. FixtureFiles("data", "*.npz").Take(2),
        ],
        "json" =>
        [
            Written(scratch, "r.json", p => PolygraphyJson.WriteRunResults(p, [new RunnerResults("r", [Sample()], [0.5])])),
            Written(scratch, "i.json", p => PolygraphyJson.WriteInputList(p, [Sample(), Sample()])),
        ],
        "pb" =>
        [
            TensorProtos.FromTensorData("x", TensorData.Create<float>([2, 3], 1, 2, 3, 4, 5, 6)).ToByteArray(),
            new TensorProto { Name = "t", DataType = (int)ElementType.Int64, Dims = { 2 }, Int64Data = { 3, 4 } }.ToByteArray(),
            new TensorProto { Name = "s", DataType = (int)ElementType.String, Dims = { 1 }, StringData = { ByteString.CopyFromUtf8("ab") } }.ToByteArray(),
            new SequenceProto { Name = "q", ElemType = 1, TensorValues = { TensorProtos.FromTensorData("a", TensorData.Create<float>([1], 1f)) } }.ToByteArray(),
            .. FixtureFiles("data", "*.pb"),
            .. BackendFiles("*.pb", 24),
        ],
        "onnx" => FixtureFiles("models", "*.onnx").Concat(BackendFiles("model.onnx", 24)),
        "onnx-external" => FixtureFiles("models/external", "*.onnx"),
        "data" => ["input_0.pb output_0.pb 1/input_0.pb 1/output_0.pb"u8.ToArray().Append((byte)'\n').Concat(TensorProtos.FromTensorData("x", TensorData.Create<float>([2], 1, 2)).ToByteArray()).ToArray(),
            "input_0.pb input_1.pb output_0.pb\n"u8.ToArray().Concat(new TensorProto { Name = "t", DataType = (int)ElementType.Int64, Dims = { 2 }, Int64Data = { 3, 4 } }.ToByteArray()).ToArray()],
        "calib" => FixtureFiles("calib", "*.cache"),
        "calib-json" => FixtureFiles("calib", "*.json"),
        "calib-flatbuffers" => FixtureFiles("calib", "*.flatbuffers"),
        "suite" => FixtureFiles("suite", "*.yaml"),
        "options" =>
        [
            Encoding.UTF8.GetBytes("onnxrt:opt=disable,name=a\ncuda:tf32=0\nonnxrt:precision=fp16\n1e-3\nout:1e-4\nmedian\nx:1x3x224x224\n2G\nx:[0,1]\n"),
            Encoding.UTF8.GetBytes("trt:fp16=1,workspace=1G\nonnxrt:config.session.a=1\ny:quantile\n50\nx:-1x3\n"),
        ],
        _ => [],
    };
}
