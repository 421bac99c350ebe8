global using PolyNet.Compare;
global using PolyNet.Onnx;
