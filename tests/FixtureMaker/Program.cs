using PolyNet.Calibration;
using Google.Protobuf;
using PolyNet.FixtureMaker;
using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using PolyNet.Runners.Inputs;

// Usage: dotnet run --project tests/FixtureMaker -- OUTPUT_DIR   (the repository's fixtures/ folder)
var root = args.Length > 0 ? args[0] : "fixtures";
var models = Path.Combine(root, "models");
Directory.CreateDirectory(models);
void Save(string name, PolyNet.Onnx.Proto.ModelProto m) => File.WriteAllBytes(Path.Combine(models, name), m.ToByteArray());
Save("mlp.onnx", Fixtures.Mlp());
Save("convnet.onnx", Fixtures.ConvNet());
Save("dynamic_batch.onnx", Fixtures.DynamicBatch());
Save("mixed_types.onnx", Fixtures.MixedTypes());
Save("exp_divergence.onnx", Fixtures.ExpDivergence());

// A model with its weights in a side file (external data).
var ext = Path.Combine(models, "external");
Directory.CreateDirectory(ext);
OnnxModel.FromProto(Fixtures.Mlp()).Save(Path.Combine(ext, "mlp_external.onnx"),
    new ModelSaveOptions { ExternalData = ExternalDataPolicy.External, ExternalDataFileName = "mlp_external.onnx.data", SizeThreshold = 64 });

// Inputs for the MLP in the ONNX backend test layout and as .npz.
var data = Path.Combine(root, "data");
Directory.CreateDirectory(data);
var gen = new InputGenerator(7, ValueRanges.Parse(["[-1,1]"]));
var x = gen.Generate("x", ElementType.Float, new TensorShape(1, 16), 0);
BackendTestData.WriteSet(Path.Combine(data, "mlp_backend", "test_data_set_0"), DataRole.Inputs, new ValueMap { { "x", x } });
Npz.Write(Path.Combine(data, "mlp_inputs.npz"), new ValueMap { { "x", x } });
// Calibration: hand-made caches for every case the readers handle, calibration data for the convnet, and caches
// that `polynet calib generate` writes from it (the same code path), one per method.
var calib = Path.Combine(root, "calib");
Directory.CreateDirectory(calib);
foreach (var (name, bytes) in CalibFixtures.All()) File.WriteAllBytes(Path.Combine(calib, name), bytes);
var convnet = OnnxModel.FromProto(Fixtures.ConvNet());
var calibGen = new InputGenerator(11, ValueRanges.Parse(["[0,1]"]));
var calibData = Enumerable.Range(0, 8).Select(s => calibGen.Generate(convnet.Inputs, s)).ToList();
DataFiles.Save(Path.Combine(data, "convnet_calib.npz"), calibData, DataRole.Inputs);
PolyNet.Runners.Native.OrtRuntime.Initialize(null);
var tensors = PolyNet.Jobs.CalibrationJob.Tensors(convnet);
var hist = PolyNet.Jobs.CalibrationJob.Collect(convnet, tensors, calibData, new PolyNet.Jobs.MemoryJobLog());
foreach (var (method, file, algorithm) in new[] { (CalibrationMethod.MinMax, "convnet.minmax.cache", "MinMaxCalibration"), (CalibrationMethod.Entropy, "convnet.entropy.cache", "EntropyCalibration2") })
    new CalibrationCache
    {
        Version = new TrtVersion(100300),
        Algorithm = algorithm,
        Entries = tensors.Select(t => CacheEntry.FromRange(t.Name, Ranges.Choose(hist[t.Name], method))).ToList(),
    }.WriteTensorRt(Path.Combine(calib, file));
Console.WriteLine($"fixtures written to {root}");
