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
        ["calibration.flatbuffers"] = PolyNet.Calibration.FlatBuffers.TrtTable([("relu_out", "2.5"), ("input", "1.0"), ("conv_out", "2.5")]),
    };

    private static byte[] Text(string s) => Encoding.UTF8.GetBytes(s);
}
