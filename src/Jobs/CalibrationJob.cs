using PolyNet.Calibration;
using PolyNet.Onnx;
using PolyNet.Runners;
using PolyNet.Runners.Inspect;
using PolyNet.Runners.Ort;
using PolyNet.Runners.Specs;

namespace PolyNet.Jobs;

/// <summary>One tensor's cost in accuracy when quantized (sensitivity analysis).</summary>
/// <param name="RelL2">Relative L2 error of the worst output against float32, averaged over the samples.</param>
public sealed record Sensitivity(string Tensor, double RelL2, double MaxAbs);

/// <summary>
/// Running a model on calibration data through ONNX Runtime's CPU provider: the values of every tensor INT8 would
/// quantize (float graph inputs and float tensors nodes compute, constants excepted), sample by sample, into a
/// <see cref="TensorHistogram"/> each; and sensitivity, which tensors' quantization costs the most accuracy.
/// </summary>
public static class CalibrationJob
{
    /// <summary>The tensors INT8 would quantize, with their topological positions and producers.</summary>
    public static IReadOnlyList<ModelTensor> Tensors(OnnxModel model)
    {
        var floats = OrtRunner.Int8Tensors(model);
        bool IsFloat(string t) => floats.Contains(t);
        var view = new GraphView(model.Graph);
        var result = model.Inputs.Where(i => IsFloat(i.Name)).Select(i => new ModelTensor(i.Name, -1, "")).ToList();
        var order = view.TopologicalOrder();
        for (int p = 0; p < order.Count; p++)
        {
            var node = view.Nodes[order[p]];
            if (node.OpType == "Constant") continue;
            foreach (var o in node.Output)
                if (o.Length > 0 && IsFloat(o)) result.Add(new ModelTensor(o, p, node.OpType));
        }
        return result;
    }

    /// <summary>
    /// A TensorRT-format cache for <paramref name="model"/> from <paramref name="samples"/>: every tensor INT8 would
    /// quantize, its range chosen by <paramref name="method"/> from its histogram. Tensors that took NaN or infinite
    /// values get ranges from their finite values, and a warning names them.
    /// </summary>
    public static CalibrationCache Generate(OnnxModel model, IReadOnlyList<ValueMap> samples, CalibrationMethod method, double percentile, TrtVersion version, string? algorithm,
        IJobLog log, RunnerFactory? create = null)
    {
        var tensors = Tensors(model);
        log.Info($"calibrating {tensors.Count} tensor(s) of {model.DisplayName} on {samples.Count} sample(s), method {method.ToString().ToLowerInvariant()}");
        var hist = Collect(model, tensors, samples, log, create);
        var entries = tensors.Select(t => CacheEntry.FromRange(t.Name, Ranges.Choose(hist[t.Name], method, percentile))).ToList();
        var odd = tensors.Where(t => hist[t.Name].NaNs + hist[t.Name].Infinities > 0).Select(t => $"{t.Name} ({hist[t.Name].NaNs} NaN, {hist[t.Name].Infinities} inf)").ToList();
        if (odd.Count > 0)
            log.Warning($"{odd.Count} tensor(s) took NaN or infinite values on the calibration data (ranges from their finite values): {string.Join(", ", odd.Take(10))}{(odd.Count > 10 ? $", ... ({odd.Count - 10} more)" : "")}");
        return new CalibrationCache
        {
            Format = CacheFormat.TensorRt,
            Version = version,
            Algorithm = algorithm ?? (method == CalibrationMethod.MinMax ? "MinMaxCalibration" : "EntropyCalibration2"),
            Entries = entries,
        };
    }

    public static Dictionary<string, TensorHistogram> Collect(OnnxModel model, IReadOnlyList<ModelTensor> tensors, IReadOnlyList<ValueMap> samples, IJobLog log,
        RunnerFactory? create = null)
    {
        var outputs = model.Graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var exposed = tensors.Where(t => t.Position >= 0 && !outputs.Contains(t.Name)).Select(t => t.Name).ToList();
        var hist = tensors.ToDictionary(t => t.Name, _ => new TensorHistogram(), StringComparer.Ordinal);
        using var runner = (create ?? RunnerRegistry.Create)(RunnerRegistry.Reference(), new RunnerContext { Model = model, ExtraOutputs = exposed, Log = log.ForRunner(RunnerRegistry.Reference()) });
        runner.Activate();
        for (int s = 0; s < samples.Count; s++)
        {
            var outs = runner.Infer(samples[s]);
            foreach (var t in tensors)
            {
                var v = samples[s].TryGetValue(t.Name, out var fed) ? fed : outs.TryGetValue(t.Name, out var o) ? o : null;
                if (v is TensorData d && d.ElementType == ElementType.Float) hist[t.Name].Add(d.Span<float>());
            }
            log.Progress($"calibration data: sample {s + 1} of {samples.Count} ({tensors.Count} tensors)");
        }
        return hist;
    }

    /// <summary>
    /// Each tensor's quantization on its own (<paramref name="allButOne"/> false: only that tensor quantized) or its
    /// removal from full quantization (true: every tensor but that one quantized, the error that remains), ranked by
    /// the error it causes (or, all but one, by the error left when it alone stays float: the smallest first is the
    /// tensor whose quantization costs most). One session, one run per tensor and sample.
    /// </summary>
    public static IReadOnlyList<Sensitivity> Sensitivities(OnnxModel model, CalibrationCache cache, IReadOnlyList<ValueMap> samples, bool allButOne, IJobLog log,
        RunnerFactory? create = null)
    {
        create ??= RunnerRegistry.Create;
        var floats = OrtRunner.Int8Tensors(model);
        var reference = new List<ValueMap>();
        using (var fp32 = create(RunnerRegistry.Reference(), new RunnerContext { Model = model, Log = log.ForRunner(RunnerRegistry.Reference()) }))
        {
            fp32.Activate();
            foreach (var s in samples) reference.Add(fp32.Infer(s));
        }
        // One session: a selector input picks the tensor whose quantization is switched on (or, all but one, off);
        // weights are quantized only when everything else is. Q/DQ run as written, as the int8 emulation runner runs
        // them (ORT's QDQ fusion off).
        const string Selector = "__polynet_int8_select";
        var q = Int8Emulation.Apply(model, cache, floats, weights: allButOne, selector: Selector, selectQuantizes: !allButOne);
        var candidates = q.Quantized;
        var result = new List<Sensitivity>();
        using var r = create(RunnerRegistry.Reference("config.session.disable_quant_qdq=1"), new RunnerContext { Model = q.Model, Log = log.ForRunner(RunnerRegistry.Reference()) });
        r.Activate();
        for (int i = 0; i < candidates.Count; i++)
        {
            var t = candidates[i];
            double rel = 0, abs = 0;
            for (int s = 0; s < samples.Count; s++)
            {
                var feed = new ValueMap();
                foreach (var (k, v) in samples[s]) feed.Add(k, v);
                feed.Add(Selector, TensorData.Scalar((long)i));
                var outs = r.Infer(feed);
                double worst = 0;
                foreach (var (name, rv) in reference[s])
                    if (rv is TensorData a && outs.TryGetValue(name, out var cv) && cv is TensorData b && a.ElementType == ElementType.Float && b.ElementType == ElementType.Float)
                    {
                        var (l2, max) = Error(a.Span<float>(), b.Span<float>());
                        worst = Math.Max(worst, l2);
                        abs = Math.Max(abs, max);
                    }
                rel += worst / samples.Count;
            }
            result.Add(new Sensitivity(t, rel, abs));
            if ((i + 1) % 10 == 0 || i + 1 == candidates.Count) log.Progress($"sensitivity: {i + 1} of {candidates.Count} tensors");
        }
        return allButOne ? result.OrderBy(x => x.RelL2).ToList() : result.OrderByDescending(x => x.RelL2).ToList();
    }

    private static (double RelL2, double MaxAbs) Error(ReadOnlySpan<float> r, ReadOnlySpan<float> c)
    {
        double num = 0, den = 0, max = 0;
        for (int i = 0; i < r.Length && i < c.Length; i++)
        {
            double d = Math.Abs((double)c[i] - r[i]);
            if (double.IsNaN(d)) d = double.PositiveInfinity;
            num += d * d;
            den += (double)r[i] * r[i];
            max = Math.Max(max, d);
        }
        return (den > 0 ? Math.Sqrt(num / den) : Math.Sqrt(num), max);
    }
}
