using PolyNet.Onnx.Data;
using PolyNet.Onnx.Proto;

namespace PolyNet.Onnx.Transforms;

/// <summary>What <see cref="BatchNormFolding.Apply"/> did.</summary>
/// <param name="Folded">BatchNormalization nodes folded into the Conv before them.</param>
/// <param name="Scaled">BatchNormalization nodes made a Mul and an Add (no Conv to fold into).</param>
/// <param name="FusedAway">Tensors that no longer exist: the Conv outputs a folded BatchNormalization read.</param>
public sealed record BatchNormFoldingResult(OnnxModel Model, int Folded, int Scaled, IReadOnlyList<string> FusedAway);

/// <summary>
/// BatchNormalization (inference form) computed away in float32, as TensorRT's builder does before it chooses
/// precisions: after a Conv (or a ConvTranspose of one group) whose output only it reads, its scale
/// s = γ / √(σ² + ε) and shift β − μ·s are folded into the Conv's weights and bias; elsewhere it becomes a Mul by s
/// and an Add of the shift. Either way the variance never meets float16 (a variance beyond 65504, common in exports,
/// would be clamped there and wreck the output). Main graph and bodies alike; only parameters that are initializers
/// of the node's own graph (not graph inputs) are folded. The BatchNormalization's output keeps its name.
/// </summary>
public static class BatchNormFolding
{
    /// <param name="rank">The rank of a tensor, where known (a standalone BatchNormalization needs its input's).</param>
    /// <param name="keep">Tensors that must stay (exposed for comparison): a Conv writing one of them is not folded into.</param>
    public static BatchNormFoldingResult Apply(OnnxModel model, Func<string, int?> rank, IReadOnlySet<string>? keep = null)
    {
        if (!ModelWalker.GraphAndSubgraphs(model.Graph).Any(g => g.Node.Any(IsFoldable))) return new(model, 0, 0, []);
        var proto = model.Proto.Clone();
        int folded = 0, scaled = 0;
        var fusedAway = new List<string>();
        foreach (var g in ModelWalker.GraphAndSubgraphs(proto.Graph).ToList())
        {
            var view = new GraphView(g);
            var inputs = g.Input.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
            var outputs = g.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
            TensorData? Weight(string name) => name.Length > 0 && !inputs.Contains(name) && view.Initializers.TryGetValue(name, out var t) && t.DataType == (int)ElementType.Float ? model.ReadTensor(t) : null;
            var remove = new HashSet<int>();
            var added = new List<TensorProto>();
            var extraNodes = new Dictionary<int, List<NodeProto>>();
            for (int n = 0; n < g.Node.Count; n++)
            {
                var bn = g.Node[n];
                if (!IsFoldable(bn)) continue;
                var p = bn.Input.Skip(1).Select(Weight).ToArray();
                if (p.Any(x => x is null)) continue;
                double eps = bn.Attribute.FirstOrDefault(a => a.Name == "epsilon")?.F ?? 1e-5;
                var (gamma, beta, mean, variance) = (p[0]!.ToArray<float>(), p[1]!.ToArray<float>(), p[2]!.ToArray<float>(), p[3]!.ToArray<float>());
                int c = gamma.Length;
                if (beta.Length != c || mean.Length != c || variance.Length != c) continue;
                var s = new double[c];
                var shift = new double[c];
                for (int k = 0; k < c; k++)
                {
                    s[k] = gamma[k] / Math.Sqrt(variance[k] + eps);
                    shift[k] = beta[k] - mean[k] * s[k];
                }
                string x = bn.Input[0], y = bn.Output[0];
                var tag = string.IsNullOrEmpty(bn.Name) ? y : bn.Name;
                if (view.Producer(x) is int pi && FoldInto(g.Node[pi], view, x, outputs, keep, Weight, s, shift, tag, added))
                {
                    g.Node[pi].Output[0] = y;
                    remove.Add(n);
                    fusedAway.Add(x);
                    folded++;
                    continue;
                }
                if (rank(x) is not int r || r < 2) continue;
                var shape = new long[r - 1];
                shape[0] = c;
                for (int k = 1; k < shape.Length; k++) shape[k] = 1;
                string sName = $"{tag}__bn_scale", bName = $"{tag}__bn_shift", mid = $"{y}__bn_scaled";
                added.Add(TensorProtos.FromTensorData(sName, TensorData.Create<float>(new TensorShape(shape), s.Select(v => (float)v).ToArray())));
                added.Add(TensorProtos.FromTensorData(bName, TensorData.Create<float>(new TensorShape(shape), shift.Select(v => (float)v).ToArray())));
                var mul = new NodeProto { OpType = "Mul", Name = $"{tag}__bn_mul" };
                mul.Input.Add(x); mul.Input.Add(sName); mul.Output.Add(mid);
                var add = new NodeProto { OpType = "Add", Name = $"{tag}__bn_add" };
                add.Input.Add(mid); add.Input.Add(bName); add.Output.Add(y);
                extraNodes[n] = [mul, add];
                remove.Add(n);
                scaled++;
            }
            if (remove.Count == 0) continue;
            var nodes = new List<NodeProto>();
            for (int n = 0; n < g.Node.Count; n++)
            {
                if (extraNodes.TryGetValue(n, out var replacement)) nodes.AddRange(replacement);
                else if (!remove.Contains(n)) nodes.Add(g.Node[n]);
            }
            g.Node.Clear();
            g.Node.AddRange(nodes);
            g.Initializer.AddRange(added);
        }
        return new(model.WithProto(proto), folded, scaled, fusedAway);
    }

    private static bool IsFoldable(NodeProto n) => n.OpType == "BatchNormalization" && n.Domain is "" or "ai.onnx" && n.Input.Count == 5 && n.Output.Count == 1
        && n.Attribute.FirstOrDefault(a => a.Name == "training_mode") is not { I: not 0 };

    /// <summary>Folds s and shift into the Conv producing <paramref name="x"/>, when it may be (new weight and bias initializers).</summary>
    private static bool FoldInto(NodeProto conv, GraphView view, string x, IReadOnlySet<string> outputs, IReadOnlySet<string>? keep,
        Func<string, TensorData?> weight, double[] s, double[] shift, string tag, List<TensorProto> added)
    {
        bool transpose = conv.OpType == "ConvTranspose";
        if (!(conv.OpType == "Conv" || transpose) || conv.Domain is not ("" or "ai.onnx") || conv.Output.Count != 1) return false;
        if (view.Consumers(x).Count != 1 || outputs.Contains(x) || keep?.Contains(x) == true) return false;
        long group = conv.Attribute.FirstOrDefault(a => a.Name == "group")?.I ?? 1;
        if (transpose && group != 1) return false;
        if (conv.Input.Count < 2 || weight(conv.Input[1]) is not { } w) return false;
        TensorData? bias = conv.Input.Count > 2 && conv.Input[2].Length > 0 ? weight(conv.Input[2]) : null;
        if (conv.Input.Count > 2 && conv.Input[2].Length > 0 && bias is null) return false;
        int c = s.Length;
        if (w.Shape.Rank < 2 || (transpose ? w.Shape[1] : w.Shape[0]) != c) return false;
        var src = w.Span<float>();
        var folded = new float[src.Length];
        long inner = w.Shape.ElementCount / (w.Shape[0] * w.Shape[1]);
        for (long i = 0; i < src.Length; i++)
        {
            long channel = transpose ? i / inner % w.Shape[1] : i / (w.Shape.ElementCount / w.Shape[0]);
            folded[i] = (float)(src[(int)i] * s[channel]);
        }
        var b = new float[c];
        var bs = bias?.ToArray<float>();
        if (bs is not null && bs.Length != c) return false;
        for (int k = 0; k < c; k++) b[k] = (float)((bs?[k] ?? 0) * s[k] + shift[k]);
        string wName = $"{tag}__folded_weight", bName = $"{tag}__folded_bias";
        added.Add(TensorProtos.FromTensorData(wName, TensorData.Create<float>(w.Shape, folded)));
        added.Add(TensorProtos.FromTensorData(bName, TensorData.Create<float>(new TensorShape(c), b)));
        conv.Input[1] = wName;
        if (conv.Input.Count > 2) conv.Input[2] = bName;
        else conv.Input.Add(bName);
        return true;
    }
}
