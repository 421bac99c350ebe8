using PolyNet.Onnx.Proto;

namespace PolyNet.Onnx.Transforms;

/// <summary>
/// What a TensorRT float16 engine does that storing every tensor in float16 does not (the rules of
/// <c>precision=fp16</c>; <c>precision=fp16-naive</c> applies none of them):
/// <list type="bullet">
/// <item>Fusion: a Conv, ConvTranspose, Gemm or MatMul and the bias Add and activation after it run as one kernel, so the
/// tensors between them are never rounded to float16 (TensorRT's Conv+bias+activation and MatMul+bias fusions).</item>
/// <item>Accumulation: reductions, Softmax, the normalizations and Gemm accumulate in float32 and store float16
/// (TensorRT's kernels for them), even where ONNX Runtime has a float16 kernel that would accumulate in float16.</item>
/// <item>BatchNormalization is folded away in float32 before any of this (<see cref="BatchNormFolding"/>).</item>
/// </list>
/// </summary>
public static class Float16Engine
{
    public const string FusedReason = "fused with its neighbours as TensorRT does (no float16 rounding inside the kernel)";
    public const string AccumulateReason = "accumulates in float32, as TensorRT's kernel does";

    private static readonly HashSet<string> Gemms = ["Conv", "ConvTranspose", "Gemm", "MatMul"];

    private static readonly HashSet<string> Activations =
        ["Relu", "LeakyRelu", "Sigmoid", "Tanh", "Clip", "HardSigmoid", "HardSwish", "Elu", "Selu", "Softplus", "ThresholdedRelu", "Gelu"];

    private static readonly HashSet<string> Accumulating =
    [
        "ReduceMean", "ReduceSum", "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceProd",
        "Softmax", "LogSoftmax", "LayerNormalization", "GroupNormalization", "InstanceNormalization", "MeanVarianceNormalization",
        "GlobalAveragePool", "GlobalLpPool", "LpNormalization", "CumSum",
        // ONNX Runtime's CPU float16 Gemm rounds inside (on ViT-B/16 each attention projection added 26 times the error
        // of CUDA's float16 Gemm, docs/gpu.md); TensorRT's GEMMs accumulate in float32. Its float16 MatMul matches CUDA's.
        "Gemm",
    ];

    public static bool AccumulatesInFloat32(NodeProto node) => node.Domain is "" or "ai.onnx" && Accumulating.Contains(node.OpType);

    /// <summary>
    /// Float tensors inside a fused kernel: from a Conv/ConvTranspose/Gemm/MatMul to the bias Add (one operand an
    /// initializer) and on to one activation, each read by that next node only and not a graph output.
    /// </summary>
    public static HashSet<string> FusedEdges(GraphProto graph, GraphView view, Func<string, bool> isFloat)
    {
        var outputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var edges = new HashSet<string>(StringComparer.Ordinal);
        for (int n = 0; n < graph.Node.Count; n++)
        {
            var head = graph.Node[n];
            if (head.Domain is not ("" or "ai.onnx") || !Gemms.Contains(head.OpType) || head.Output.Count != 1) continue;
            string x = head.Output[0];
            bool biasTaken = head.OpType is "Gemm" || (head.OpType is "Conv" or "ConvTranspose" && head.Input.Count > 2 && head.Input[2].Length > 0);
            for (int step = 0; step < 2; step++)
            {
                if (!isFloat(x) || outputs.Contains(x) || view.Consumers(x) is not [int next]) break;
                var node = graph.Node[next];
                if (node.Domain is not ("" or "ai.onnx") || node.Output.Count != 1 || node.Input.Count == 0 || node.Input[0].Length == 0) break;
                bool bias = !biasTaken && node.OpType == "Add" && node.Input.Count == 2 && node.Input.Any(i => i != x && view.Initializers.ContainsKey(i));
                bool activation = Activations.Contains(node.OpType) && node.Input[0] == x;
                if (!bias && !activation) break;
                edges.Add(x);
                if (activation) break;
                biasTaken = true;
                x = node.Output[0];
            }
        }
        return edges;
    }
}
