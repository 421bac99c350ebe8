global using PolyNet.Onnx;
