global using PolyNet.Compare;
global using PolyNet.Onnx;
global using PolyNet.Jobs;
