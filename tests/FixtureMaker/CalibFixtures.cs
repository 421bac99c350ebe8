using System.Buffers.Binary;
using System.Text;

namespace PolyNet.FixtureMaker;

/// <summary>
/// Hand-made calibration caches for every case the readers must handle (fixtures/calib/): valid TensorRT caches of
/// TensorRT 8 and 10 with the names real caches hold, every flag inspection raises, every malformed line, and ONNX
/// Runtime's three formats. The bytes are spelled out here, so each file says exactly what it tests.
/// </summary>
public static class CalibFixtures
{
    public static IReadOnlyDictionary<string, byte[]> All() => new Dictionary<string, byte[]>
    {
        // A TensorRT 8.6.1 cache as TensorRT writes it: names with spaces, brackets, slashes, dots and colons (split at
        // the last ": "), a zero scale written "0", unpadded hex, a final newline.
        ["trt8601_entropy.cache"] = Text(
            "TRT-8601-EntropyCalibration2\n" +
            "images: 3c010a14\n" +
            "input_1:0: 3c010204\n" +
            "/model.0/conv/Conv_output_0: 3d4ccccd\n" +
            "(Unnamed Layer* 12) [Shuffle]_output: 3c8ba2e9\n" +
            "onnx::Gemm_42_output: 3e000000\n" +
            "366: 0\n" +
            "tiny: 1000\n"),
        ["trt100300_minmax.cache"] = Text("TRT-100300-MinMaxCalibration\nx: 3c010204\ny: 3e800000\n"),
        // One entry per flag.
        ["flags.cache"] = Text(
            "TRT-8601-EntropyCalibration2\n" +
            "a: 3c23d70a\n" + // range 1.27: ordinary, the neighbours of the outlier
            "b: 3c23d70a\n" +
            "infinite: 7f800000\n" +
            "nan: 7fc00000\n" +
            "zero: 0\n" +
            "subnormal: 1\n" +
            "negative: bc23d70a\n" +
            "absurd: 47c35000\n" + // scale 1e5: range 1.27e7
            "c: 3c23d70a\n" +
            "outlier: 40000000\n" + // range 254, two hundred times its neighbours (flagged beyond 100 times)
            "d: 3c23d70a\n" +
            "e: 3c23d70a\n"),
        // Malformed: each one line wrong.
        ["bad_header.cache"] = Text("TensorRT calibration v1\nx: 3c010204\n"),
        ["no_colon.cache"] = Text("TRT-8601-EntropyCalibration2\nx: 3c010204\ny 3c010204\n"),
        ["bad_hex.cache"] = Text("TRT-8601-EntropyCalibration2\nx: 3c01020g\n"),
        ["long_hex.cache"] = Text("TRT-8601-EntropyCalibration2\nx: 13c010204\n"),
        ["duplicate.cache"] = Text("TRT-8601-EntropyCalibration2\nx: 3c010204\ny: 3c010204\nx: 3d000000\n"),
        ["empty.cache"] = [],
        ["binary.cache"] = [0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0xff, 0xfe, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00],
        // ONNX Runtime's formats (write_calibration_table): the text cache, the two JSON shapes, the FlatBuffers table.
        ["calibration.cache"] = Text("input 1.0\nconv_out 2.5\nrelu_out 2.5\n"),
        ["calibration.json"] = Text("{\"input\": [-1.0, 1.0], \"conv_out\": [-2.5, 1.5]}"),
        ["calibration_tensorsdata.json"] = Text("{\"CLS\": \"TensorsData\", \"data\": {\"input\": {\"lowest\": {\"data\": -1.0, \"dtype\": \"float32\", \"CLS\": \"numpy.array\"}, \"highest\": {\"data\": 1.0, \"dtype\": \"float32\", \"CLS\": \"numpy.array\"}, \"CLS\": \"TensorData\"}, \"conv_out\": {\"lowest\": -2.5, \"highest\": 1.5, \"CLS\": \"TensorData\"}}, \"calibration_method\": {\"CLS\": \"CalibrationMethod\", \"value\": \"CalibrationMethod.MinMax\"}}"),
        ["calibration.flatbuffers"] = FlatBuffer([("relu_out", "2.5"), ("input", "1.0"), ("conv_out", "2.5")]),
    };

    private static byte[] Text(string s) => Encoding.UTF8.GetBytes(s);

    /// <summary>
    /// ONNX Runtime's TrtTable { dict: [KeyValue { key: string; value: string }] } in FlatBuffers' layout, built the way
    /// its writer builds it (entries in descending key order): root offset, then each table with a vtable before it.
    /// </summary>
    public static byte[] FlatBuffer(IReadOnlyList<(string Key, string Value)> entries)
    {
        // Forward layout: [root offset][TrtTable vtable][TrtTable][vector][KeyValue vtable + table]*[strings]*
        var b = new List<byte>();
        void U32(uint v) { var t = new byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(t, v); b.AddRange(t); }
        void U16(ushort v) { var t = new byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(t, v); b.AddRange(t); }
        void I32(int v) { var t = new byte[4]; BinaryPrimitives.WriteInt32LittleEndian(t, v); b.AddRange(t); }
        void Patch(int at, uint v) { var t = new byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(t, v); for (int i = 0; i < 4; i++) b[at + i] = t[i]; }
        var sorted = entries.OrderByDescending(e => e.Key, StringComparer.Ordinal).ToList();
        U32(0);                                        // root offset, patched below
        int tableVtable = b.Count; U16(6); U16(8); U16(4); // vtable: size 6, table size 8, field 0 at +4
        U16(0);                                        // padding to 4
        int table = b.Count; I32(table - tableVtable); int dictField = b.Count; U32(0);
        Patch(0, (uint)table);
        int vector = b.Count; U32((uint)sorted.Count);
        int slots = b.Count; foreach (var _ in sorted) U32(0);
        Patch(dictField, (uint)(vector - dictField));
        var fields = new List<(int Key, int Value)>();
        for (int i = 0; i < sorted.Count; i++)
        {
            int vt = b.Count; U16(8); U16(12); U16(4); U16(8); // vtable: key at +4, value at +8
            int kv = b.Count; I32(kv - vt); int keyField = b.Count; U32(0); int valueField = b.Count; U32(0);
            Patch(slots + 4 * i, (uint)(kv - (slots + 4 * i)));
            fields.Add((keyField, valueField));
        }
        for (int i = 0; i < sorted.Count; i++)
        {
            foreach (var (field, text) in new[] { (fields[i].Key, sorted[i].Key), (fields[i].Value, sorted[i].Value) })
            {
                while (b.Count % 4 != 0) b.Add(0);
                int s = b.Count;
                var bytes = Encoding.UTF8.GetBytes(text);
                U32((uint)bytes.Length); b.AddRange(bytes); b.Add(0);
                Patch(field, (uint)(s - field));
            }
        }
        while (b.Count % 4 != 0) b.Add(0);
        return b.ToArray();
    }
}
